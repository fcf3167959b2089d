#!/usr/bin/env bash
# `make run`: the main job on the bundled defaults. Until the milter daemon exists, that is
# normalising the bundled sample messages (what the rules will see) and scoring them with
# veto's bundled rules.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
for f in "$root"/tests/data/email/*.eml; do
  echo "== veto parse --compact $f"
  "$root/build/bin/veto" parse --compact "$f"
done
echo "== veto scan --format jsonl tests/data/email/"
"$root/build/bin/veto" scan --format jsonl "$root/tests/data/email"
