#!/usr/bin/env bash
# Builds the Debian root with Sendmail that tests/integration/daemon/sendmail.sh runs
# (Sendmail and Postfix conflict in dpkg, so Sendmail cannot be installed next to Postfix on
# the host). Called by `scripts/deps.sh --test` (make test): this is the only step that needs
# the Debian mirror; the test itself is offline. Idempotent: a finished root has a marker
# file and is reused. Recipe: ../shared/docs/sendmail-testing.md.
#
#   scripts/sendmail_root.sh [DIR]      (default: build-sendmail/root in the project)
#
# A packed copy is kept in /var/tmp (VETO_SENDMAIL_CACHE) so that later runs on the same
# machine, e.g. CI's fresh clone, unpack it in about a second instead of rebuilding.
set -euo pipefail
root_dir=$(cd "$(dirname "$0")/.." && pwd)
R=${1:-$root_dir/build-sendmail/root}
CACHE=${VETO_SENDMAIL_CACHE:-/var/tmp/veto-sendmail-root.tar.zst}
if [ -f "$R/.veto-ready" ]; then
  echo "sendmail root: ready ($R)"
  exit 0
fi
if [ -f "$CACHE" ] && [ "$(id -u)" -eq 0 ] && command -v zstd >/dev/null; then
  rm -rf "$R" && mkdir -p "$R"
  if zstd -dc "$CACHE" | tar -C "$R" --numeric-owner -xpf - && [ -f "$R/.veto-ready" ]; then
    echo "sendmail root: unpacked from $CACHE"
    exit 0
  fi
  echo "sendmail root: $CACHE unusable, rebuilding" >&2
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "sendmail root: needs root (debootstrap, chroot); the Sendmail test will skip" >&2
  exit 0
fi
command -v debootstrap >/dev/null || { echo "sendmail root: debootstrap missing (make deps)" >&2; exit 1; }

MIRROR="" SECURITY=""
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
  MIRROR=$(awk '/^URIs:/{print $2}' /etc/apt/sources.list.d/debian.sources | grep -v security | head -1)
  SECURITY=$(awk '/^URIs:/{print $2}' /etc/apt/sources.list.d/debian.sources | grep security | head -1)
fi
if [ -z "$MIRROR" ] && [ -f /etc/apt/sources.list ]; then
  MIRROR=$(awk '$1=="deb" && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list)
  SECURITY=$(awk '$1=="deb" && $2 ~ /security/ {print $2; exit}' /etc/apt/sources.list)
fi
[ -n "$MIRROR" ] || { echo "sendmail root: cannot find the host's Debian mirror" >&2; exit 1; }

echo "sendmail root: building $R from $MIRROR (about a minute)"
rm -rf "$R"
mkdir -p "$R"
t0=$(date +%s)
debootstrap --variant=minbase bookworm "$R" "$MIRROR" >"$R.debootstrap.log" 2>&1 \
  || { tail -20 "$R.debootstrap.log"; exit 1; }
printf '#!/bin/sh\nexit 101\n' >"$R/usr/sbin/policy-rc.d"   # no daemon may start
chmod 755 "$R/usr/sbin/policy-rc.d"
{
  echo "deb $MIRROR bookworm main"
  echo "deb $MIRROR bookworm-updates main"
  [ -z "$SECURITY" ] || echo "deb $SECURITY bookworm-security main"
} >"$R/etc/apt/sources.list"
cp /etc/resolv.conf "$R/etc/resolv.conf" 2>/dev/null || true
# The sendmail-bin postinst needs /proc: a private one, unmounted when the command ends.
unshare --mount --pid --fork --mount-proc="$R/proc" chroot "$R" sh -c '
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq &&
  apt-get install -y -qq --no-install-recommends sendmail-bin sendmail-cf m4 make busybox &&
  apt-get clean && rm -rf /var/lib/apt/lists/*' >"$R.apt.log" 2>&1 \
  || { tail -20 "$R.apt.log"; exit 1; }
chroot "$R" useradd -M -s /usr/sbin/nologin user
touch "$R/.veto-ready"
echo "sendmail root: ready in $(( $(date +%s) - t0 )) s ($(du -sm "$R" | cut -f1) MB)"
if command -v zstd >/dev/null; then
  tar -C "$R" --numeric-owner -cf - . | zstd -q -T0 -3 -o "$CACHE.tmp" && mv "$CACHE.tmp" "$CACHE" &&
    echo "sendmail root: cached as $CACHE"
fi
