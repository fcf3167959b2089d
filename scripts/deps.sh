#!/usr/bin/env bash
# Installs the Debian packages veto needs that are missing. Idempotent: installs nothing (and
# does not touch the network) when everything is present. Needs root (or sudo) to install.
#
#   scripts/deps.sh          packages
#   scripts/deps.sh --test   packages, and the Debian root with Sendmail that the daemon's
#                            Sendmail test runs (scripts/sendmail_root.sh; built once, reused)
set -euo pipefail
want_test=0
[ "${1:-}" = --test ] && want_test=1

test_extras() {
  [ $want_test = 1 ] || return 0
  "$(dirname "$0")/sendmail_root.sh" ||
    echo "deps: the Sendmail root could not be built; the Sendmail test will skip" >&2
}

PACKAGES=(
  build-essential cmake pkg-config clang libclang-rt-14-dev
  libhyperscan-dev libre2-dev libpcre2-dev libabsl-dev libtomlplusplus-dev
  libmimalloc-dev libpsl-dev libutf8proc-dev libidn2-dev libarchive-dev zlib1g-dev redis-server libhiredis-dev
  googletest libgtest-dev libgmock-dev libbenchmark-dev tzdata python3
  libmilter-dev libcpp-httplib-dev postfix swaks miltertest debootstrap iproute2 zstd
  spamassassin
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#PACKAGES[@]} packages present"
  test_extras
  exit 0
fi

echo "deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO=sudo; else
    echo "deps: not root and no sudo; install these packages: ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
# Postfix (the daemon's end-to-end tests run a private instance): install it without a system
# configuration and without starting anything.
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
# An empty package cache (fresh machine) needs one update before install can find anything.
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
test_extras
