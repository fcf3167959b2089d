#!/usr/bin/env bash
# vetod behind a real Sendmail 8.17, run in a Debian root made by scripts/sendmail_root.sh
# (Sendmail and Postfix conflict in dpkg; a chroot shares the host's network, so Sendmail
# reaches vetod on 127.0.0.1 and on a unix socket inside the root). Same checks as with
# Postfix: ham accepted with our headers in the delivered copy, spam tagged, GTUBE refused with
# the configured 5xx, 4xx when the milter is down (F=T). Recipe:
# ../shared/docs/sendmail-testing.md.   Usage: sendmail.sh PATH/TO/vetod [ROOT]
set -euo pipefail
VETOD=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
R=${2:-$(cd "$HERE/../../.." && pwd)/build-sendmail/root}
[ "$(id -u)" = 0 ] || { echo "SKIP: chroot needs root"; exit $SKIP; }
[ -f "$R/.veto-ready" ] || { echo "SKIP: no Sendmail root at $R (scripts/sendmail_root.sh, run by make test's deps step)"; exit $SKIP; }
command -v swaks >/dev/null || { echo "SKIP: swaks not installed"; exit $SKIP; }

W=$(mktemp -d /tmp/veto-sendmail.XXXXXX)
PID_INET="" PID_UNIX="" SM_PID="" SYSLOG_PID=""
cleanup() {
  # In parallel (libmilter takes seconds to exit); `wait` only for these, not for every job.
  local w=()
  stop_pid "$SM_PID" 10 & w+=($!)
  stop_pid "$PID_INET" & w+=($!)
  stop_pid "$PID_UNIX" & w+=($!)
  wait "${w[@]}"
  stop_pid "$SYSLOG_PID" 5
  # Anything else still running in the root was started by this test.
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/root" 2>/dev/null)" = "$R" ] && kill -KILL "${p#/proc/}" 2>/dev/null || true
  done
  [ -n "${KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT

# The root's state, reset for this run; no DNS leaves the machine.
echo 'nameserver 127.0.0.1' >"$R/etc/resolv.conf"
grep -q 'mta.test' "$R/etc/hosts" 2>/dev/null || echo '127.0.0.1 mta.test' >>"$R/etc/hosts"
rm -f "$R"/var/spool/mqueue/* "$R/var/mail/user" "$R/var/log/mail.log"
mkdir -p "$R/run/milter"
rm -f "$R/run/milter/veto.sock"

MPORT=$(free_port); DEAD=$(free_port)
P_INET=$(free_port); P_UNIX=$(free_port); P_DOWN=$(free_port)
start_vetod "$HERE/vetod_test.toml" "inet:$MPORT@127.0.0.1" "$W/vetod-inet.log"; PID_INET=$VETOD_PID
start_vetod "$HERE/vetod_test.toml" "unix:$R/run/milter/veto.sock" "$W/vetod-unix.log"; PID_UNIX=$VETOD_PID
wait_vetod "$W/vetod-inet.log"
wait_vetod "$W/vetod-unix.log"

cat >"$R/etc/mail/test.mc" <<EOF
divert(-1)dnl
divert(0)dnl
include(\`/usr/share/sendmail/cf/m4/cf.m4')dnl
OSTYPE(\`linux')dnl
define(\`confDOMAIN_NAME', \`mta.test')dnl
define(\`confTRUSTED_USER', \`smmta')dnl
define(\`confSERVICE_SWITCH_FILE', \`/etc/mail/service.switch-nodns')dnl
define(\`confDONT_PROBE_INTERFACES', \`True')dnl
define(\`confTO_IDENT', \`0s')dnl
define(\`confLOG_LEVEL', \`14')dnl
define(\`confMILTER_LOG_LEVEL', \`14')dnl
define(\`ALIAS_FILE', \`/etc/mail/aliases')dnl
FEATURE(\`nocanonify')dnl
FEATURE(\`accept_unresolvable_domains')dnl
FEATURE(\`no_default_msa')dnl
FEATURE(\`local_lmtp', \`/usr/libexec/sendmail/mail.local')dnl
define(\`LUSER_RELAY', \`local:user')dnl
LOCAL_DOMAIN(\`example.test')dnl
DAEMON_OPTIONS(\`Family=inet, Name=MTA, Port=$P_INET, Addr=127.0.0.1, InputMailFilters=veto')dnl
DAEMON_OPTIONS(\`Family=inet, Name=UNIX, Port=$P_UNIX, Addr=127.0.0.1, InputMailFilters=vetounix')dnl
DAEMON_OPTIONS(\`Family=inet, Name=DOWNT, Port=$P_DOWN, Addr=127.0.0.1, InputMailFilters=down')dnl
MAIL_FILTER(\`veto', \`S=inet:$MPORT@127.0.0.1, F=T, T=C:10s;S:10s;R:10s;E:5m')dnl
MAIL_FILTER(\`vetounix', \`S=unix:/run/milter/veto.sock, F=T, T=C:10s;S:10s;R:10s;E:5m')dnl
MAIL_FILTER(\`down', \`S=inet:$DEAD@127.0.0.1, F=T, T=C:5s;S:10s;R:10s;E:5m')dnl
MAILER(\`local')dnl
MAILER(\`smtp')dnl
EOF
chroot "$R" m4 /etc/mail/test.mc >"$R/etc/mail/test.cf" 2>"$W/m4.err"
[ ! -s "$W/m4.err" ] || { cat "$W/m4.err"; die "m4"; }

chroot "$R" busybox syslogd -n -O /var/log/mail.log &
SYSLOG_PID=$!
chroot "$R" /usr/sbin/sendmail-mta -bD -C /etc/mail/test.cf &
SM_PID=$!
for p in $P_INET $P_UNIX $P_DOWN; do
  wait_for 20 port_open "$p" || die "sendmail not listening on $p"
done
log "sendmail (PID $SM_PID) on $P_INET (inet milter), $P_UNIX (unix milter), $P_DOWN (milter down)"

send() {  # send PORT TOKEN SUBJECT BODY [EXTRA-HEADER]
  {
    printf 'From: Sender <sender@example.org>\r\nTo: user@example.test\r\n'
    printf 'Date: Fri, 27 Nov 2026 10:00:00 +0000\r\nMessage-ID: <%s@example.org>\r\n' "$2"
    printf 'Subject: %s\r\n' "$3"
    [ -z "${5:-}" ] || printf '%s\r\n' "$5"
    printf '\r\n%s\r\n' "$4"
  } >"$W/msg.eml"
  swaks --server 127.0.0.1 --port "$1" --helo client.test --from sender@example.org \
        --to user@example.test --data "@$W/msg.eml" --timeout 30 2>&1
}
# The delivered message holding TOKEN, from the mbox (split at "From " lines).
delivered() {
  [ -f "$R/var/mail/user" ] || return 0
  awk -v tok="$1" '/^From /{ if (m ~ tok) { printf "%s", m; exit } m="" } { m = m $0 "\n" }
                   END { if (m ~ tok) printf "%s", m }' "$R/var/mail/user"
}
wait_delivered() {
  local i out=""
  for i in $(seq 1 100); do
    out=$(delivered "$1"); [ -z "$out" ] || break
    sleep 0.1
  done
  [ -n "$out" ] || { tail -20 "$R/var/log/mail.log"; die "$1 not delivered"; }
  printf '%s' "$out"
}
expect() {  # expect NAME WANT_RC WANT_TEXT OUTPUT RC
  [ "$5" = "$2" ] || { echo "$4" | tail -15; tail -20 "$R/var/log/mail.log"; die "$1: swaks exit $5, expected $2"; }
  [ -z "$3" ] || grep -qF -- "$3" <<<"$4" || { echo "$4" | tail -15; die "$1: no '$3'"; }
}
GTUBE='XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X'
SPAMMY='get free cash here. order now! limited time offer, risk-free, click here. make money from home, cheap viagra, send to my bitcoin wallet'

for via in inet unix; do
  port=$P_INET; [ $via = unix ] && port=$P_UNIX
  t="sm-$via-$$"
  rc=0; out=$(send "$port" "ham-$t" "lunch" "Shall we meet at noon?" "X-Spam-Flag: YES") || rc=$?
  expect "$via ham" 0 "Message accepted for delivery" "$out" $rc
  m=$(wait_delivered "ham-$t")
  grep -q '^X-Veto: accept, score=' <<<"$m" || { echo "$m"; die "$via ham: no X-Veto header"; }
  ! grep -qi '^X-Spam-Flag:' <<<"$m" || { echo "$m"; die "$via ham: forged X-Spam-Flag kept"; }

  rc=0; out=$(send "$port" "tag-$t" "offer" "$SPAMMY") || rc=$?
  expect "$via tag" 0 "Message accepted for delivery" "$out" $rc
  m=$(wait_delivered "tag-$t")
  grep -q '^X-Spam-Flag: YES' <<<"$m" || { echo "$m"; die "$via tag: no X-Spam-Flag: YES"; }

  rc=0; out=$(send "$port" "gtube-$t" "test" "$GTUBE") || rc=$?
  expect "$via gtube" 26 "554 5.7.1 veto test: rejected as spam" "$out" $rc

  rc=0; out=$(send "$port" "tf-$t" "t" "veto-test-tempfail") || rc=$?
  expect "$via tempfail" 26 "451 4.7.1 veto test: try again later" "$out" $rc
  # The sender and the client reached vetod (over the unix socket as macros at RCPT: vetod
  # switches the connect and MAIL steps off, Sendmail sends the macros it asked for).
  grep -q "client=127.0.0.1 from=<sender@example.org> rcpts=1 action=accept" "$W/vetod-$via.log" \
    || { grep "qid=" "$W/vetod-$via.log" | tail -3; die "$via: no log line with the client and sender"; }
  log "$via: ham with headers, tag, 5xx, 4xx, sender and client: ok"
done

rc=0; out=$(send "$P_DOWN" "down-$$" "x" "hello") || rc=$?
expect "milter down" 23 "451 4.3.2" "$out" $rc
log "milter down (F=T): 451 4.3.2 at MAIL FROM"

stop_pid "$PID_INET" 20; PID_INET=""
rc=0; out=$(send "$P_INET" "stopped-$$" "x" "hello") || rc=$?
expect "vetod stopped" 23 "451 4.3.2" "$out" $rc
log "vetod stopped: 451 4.3.2 at MAIL FROM"
stop_pid "$PID_UNIX" 20; PID_UNIX=""
check_sanitizers "$W/vetod-inet.log" "$W/vetod-unix.log"
log "PASS"
