/* vetod's sigwait(3), which libmilter's signal thread calls instead of libc's.
 *
 * libmilter starts a thread that sigwait()s for SIGHUP, SIGTERM and SIGINT and stops the
 * milter on any of them, so a SIGHUP meant as "reload" would stop vetod. vetod handles those
 * three signals on its main thread (vetod.cc); every other thread blocks them. Removing them
 * from libmilter's wait set makes the routing certain: a blocked signal that no thread waits
 * for is delivered only to the main thread, which never blocks it (even when the kernel would
 * otherwise pick the waiting thread, e.g. while the main thread is inside a call that briefly
 * blocks signals, as sanitizer runtimes do). The executable's definition takes precedence over
 * libc's for libmilter's call; the real one is found with dlsym(RTLD_NEXT).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stddef.h>
#include <unistd.h>

typedef int (*sigwait_fn)(const sigset_t*, int*);

int sigwait(const sigset_t* set, int* sig) {
  static sigwait_fn real = NULL;
  if (real == NULL) real = (sigwait_fn)dlsym(RTLD_NEXT, "sigwait");
  if (real == NULL) return -1;
  sigset_t mine = *set;
  sigdelset(&mine, SIGHUP);
  sigdelset(&mine, SIGTERM);
  sigdelset(&mine, SIGINT);
  if (sigisemptyset(&mine)) {
    /* Nothing left to wait for: sleep for good (this thread only ever waited for those). */
    for (;;) pause();
  }
  return real(&mine, sig);
}
