# A private Postfix instance in a directory (sourced; after lib.sh). Recipe and gotchas:
# ../shared/docs/mta-testing.md. Nothing outside $PF is touched; everything listens on
# 127.0.0.1 only; no DNS (explicit myhostname, no peername lookups, error: transports).
#
#   postfix_setup DIR           writes DIR/etc/{main,master}.cf, creates the dirs
#   postfix_listener PORT ARGS  adds "127.0.0.1:PORT inet ... smtpd ARGS" to master.cf
#   postfix_start / postfix_stop

postfix_setup() {
  PF=$1
  mkdir -p "$PF/etc" "$PF/spool" "$PF/data" "$PF/log" "$PF/mail"
  chown postfix "$PF/data"
  chown 65534:65534 "$PF/mail"
  cat >"$PF/etc/main.cf" <<EOF
compatibility_level = 3.6
config_directory = $PF/etc
queue_directory = $PF/spool
data_directory = $PF/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mta.test
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_peername_lookup = no
smtpd_banner = \$myhostname ESMTP
mydestination =
alias_maps =
alias_database =
local_transport = error:local delivery disabled
default_transport = error:outbound disabled
relay_transport = error:outbound disabled
virtual_mailbox_domains = example.test, strict.test
virtual_mailbox_base = $PF/mail
virtual_mailbox_maps = inline:{ spam@example.test=spam/, boss@strict.test=boss/ }, static:inbox/
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
maillog_file_prefixes = $PF/log, /dev/stdout
maillog_file = $PF/log/postfix.log
milter_protocol = 6
milter_default_action = tempfail
milter_connect_timeout = 10s
smtpd_milters =
non_smtpd_milters =
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
smtpd_client_message_rate_limit = 0
default_process_limit = 200
in_flow_delay = 0
EOF
  cat >"$PF/etc/master.cf" <<'EOF'
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
}

postfix_listener() {
  local port=$1; shift
  echo "127.0.0.1:$port inet n - n - - smtpd $*" >>"$PF/etc/master.cf"
}

postfix_start() {
  postfix -c "$PF/etc" check >"$PF/log/check.log" 2>&1 || { cat "$PF/log/check.log"; die "postfix check"; }
  postfix -c "$PF/etc" start >"$PF/log/start.log" 2>&1 || { cat "$PF/log/start.log"; die "postfix start"; }
  local p
  for p in "$@"; do wait_for 20 port_open "$p" || die "postfix not listening on $p"; done
  POSTFIX_PID=$(tr -d ' ' <"$PF/spool/pid/master.pid")
}

postfix_stop() {
  [ -n "${PF:-}" ] && [ -f "$PF/spool/pid/master.pid" ] || return 0
  local pid
  pid=$(tr -d ' ' <"$PF/spool/pid/master.pid")
  postfix -c "$PF/etc" stop >/dev/null 2>&1 || true
  wait_for 20 pid_gone "$pid" || { kill -KILL "$pid" 2>/dev/null || true; }
}

# swaks_send PORT FILE [RCPT...]: prints swaks' transcript; returns swaks' exit code.
swaks_send() {
  local port=$1 file=$2; shift 2
  local to=${*:-user@example.test}
  swaks --server 127.0.0.1 --port "$port" --helo client.test --from sender@example.org \
        --to "${to// /,}" --data "@$file" --timeout 30 2>&1
}
