// veto/daemon/milter.h — the libmilter adapter: the only code in veto that calls smfi_*.
//
// One Connection (a Session plus what was negotiated) per SMTP connection, kept with
// smfi_setpriv. The callback sequence libmilter drives, and what each step does here:
//
//   negotiate ─ pick SMFIF_* actions the configured policy can use; SMFIP_NR_* (no replies
//   │           for steps we never refuse, body chunks included: fewer round trips; over TCP
//   │           only with the socket found, each such step then pushes its ACK out);
//   │           over a unix socket steps switched off (SMFIP_NOCONNECT/NOMAIL when the MTA
//   │           takes macro lists, NODATA, NOEOH); SMFIP_SKIP; macro lists
//   connect ─── client address/name, macros j, {daemon_name}, {client_addr}
//   │           (switched off: the same from macros at the first RCPT)
//   helo ────── HELO name (always kept: Postfix has no macro for it)
//   ┌▶ envfrom ─ new message: MAIL FROM, macros i, {auth_authen}
//   │           (switched off: {mail_addr}, i, {auth_authen} at the message's first RCPT)
//   │  envrcpt ─ recipients (macro i, for Postfix)
//   │  data ──── nothing (kept over TCP so Postfix's DATA macros never travel alone; see
//   │            OnNegotiate; switched off over a unix socket)
//   │  header ── buffered (size cap), kept for forged-header removal
//   │  eoh ───── the blank line (switched off: at the first body chunk or eom)
//   │  body ──── buffered up to the cap; no reply (SMFIP_NR_BODY), past the cap the rest is
//   │            read and dropped (SMFIS_SKIP only where every step is answered)
//   │  eom ───── Scanner::Scan with the deadline → MilterPlan → smfi_* calls, one log line
//   └─ abort ─── message forgotten, connection kept
//      close ─── Connection freed
//
// Thread-safety: libmilter calls a connection's callbacks one at a time, connections on
// separate threads; the shared parts (Scanner, SnapshotHolder, Metrics, Log) are thread-safe.
#ifndef VETO_DAEMON_MILTER_H_
#define VETO_DAEMON_MILTER_H_

#include <string>

#include "absl/status/status.h"
#include "daemon/metrics.h"
#include "daemon/scanner.h"

namespace veto::daemon {

struct MilterRuntime {
  const SnapshotHolder* snapshots = nullptr;
  Scanner* scanner = nullptr;
  Metrics* metrics = nullptr;
  // A unix socket (no Nagle): SMFIP_NR_* for the steps vetod never refuses, and the steps it
  // does without switched off. vetod sets it for unix listeners only; over TCP see tcp_port.
  bool no_reply_steps = true;
  // TCP: vetod's listening port (0 for a unix socket). A connection whose socket vetod can
  // find and check on this port gets no-reply steps too, each pushing out the ACK for what it
  // read (TCP_QUICKACK), so Postfix's next packet is not held by Nagle (OnNegotiate).
  int tcp_port = 0;
};

// smfi_register with veto's callbacks; `runtime` must outlive smfi_main. Call once.
absl::Status RegisterMilter(MilterRuntime* runtime);

// The SMFIF_* flags a snapshot's possible actions need (see action_plan.h).
unsigned long MilterActionFlags(uint32_t possible_actions);

}  // namespace veto::daemon

#endif  // VETO_DAEMON_MILTER_H_
