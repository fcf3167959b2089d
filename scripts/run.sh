#!/usr/bin/env bash
# `make run`: vetod, the milter daemon, in the foreground with the bundled defaults
# (config/veto.toml: GTUBE is rejected at end of data, ordinary spam is tagged), after printing
# what to add to Postfix's main.cf or Sendmail's .mc. Stop it with Ctrl-C (SIGINT) or SIGTERM;
# SIGHUP reloads the configuration. Extra arguments go to vetod (e.g. --listen unix:/path).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
config="$root/config/veto.toml"
listen=$(sed -n 's/^listen *= *"\([^"]*\)".*/\1/p' "$config" | head -1)
metrics=$(sed -n 's/^metrics_listen *= *"\([^"]*\)".*/\1/p' "$config" | head -1)
for a in "$@"; do case $a in --listen=*) listen=${a#--listen=} ;; esac; done
prev=""
for a in "$@"; do [ "$prev" = --listen ] && listen=$a; prev=$a; done

case $listen in
  inet:*) port=${listen#inet:}; port=${port%%@*}; host=${listen#*@}; [ "$host" = "$listen" ] && host=127.0.0.1
          postfix_spec="inet:$host:$port"; sendmail_spec="inet:$port@$host" ;;
  unix:*|local:*) postfix_spec="unix:${listen#*:}"; sendmail_spec="unix:${listen#*:}" ;;
  *) postfix_spec=$listen; sendmail_spec=$listen ;;
esac

cat <<EOF
== vetod --config config/veto.toml --foreground   (listening on $listen)

Postfix: add to main.cf, then \`postfix reload\`:
    smtpd_milters = $postfix_spec
    milter_default_action = tempfail

Sendmail: add to sendmail.mc, then rebuild sendmail.cf (m4) and restart:
    INPUT_MAIL_FILTER(\`veto', \`S=$sendmail_spec, F=T, T=C:10s;S:10s;R:10s;E:5m')dnl

Try it: a message with the GTUBE test string is refused with "550 5.7.1 Message rejected as
spam"; ordinary spam is delivered with X-Spam-Flag: YES; every message gets an X-Veto header.
Metrics: http://${metrics:-(off)}/metrics and /healthz. One log line per message below.
Ctrl-C stops vetod; kill -HUP <pid> reloads config/veto.toml and the rules.

EOF
exec "$root/build/bin/vetod" --config "$config" --foreground "$@"
