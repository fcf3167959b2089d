#!/usr/bin/env bash
# Quality of the full SMS pipeline (bundled rules + SMS classifier + signals + policy, as
# `veto sms replay` runs it), 5-fold stratified cross-validation on the dev corpus: for each
# fold, `veto train sms` on the other four, then `veto sms replay` of the fold with that model.
# Pooled precision / recall / FPR / confusion, spam = any action but deliver (the default
# thresholds: hold at score >= 5, block at >= 12). Also the same without the classifier
# (rules + signals + policy). Consent is on for every recipient (the lab setting: without it,
# X.1247, only signals and lists count and content rules never run).
#
#   bench/mobile_cv.sh            (prints a Markdown table)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
veto="$root/build/bin/veto"
corpus="$root/../shared/corpora/sms/sms_spam_collection_dev.tsv"
[ -r "$corpus" ] || { echo "mobile_cv: corpus absent: $corpus" >&2; exit 0; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Folds: each class shuffled with a fixed seed and dealt round-robin.
python3 - "$corpus" "$tmp" <<'PY'
import random, sys
lines = [l for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
folds = [[] for _ in range(5)]
for label in ("ham", "spam"):
    cls = [l for l in lines if l.split("\t", 1)[0] == label]
    random.Random(7726).shuffle(cls)
    for i, l in enumerate(cls):
        folds[i % 5].append(l)
for k in range(5):
    with open(f"{sys.argv[2]}/test{k}.tsv", "w", encoding="utf-8") as f:
        f.writelines(folds[k])
    with open(f"{sys.argv[2]}/train{k}.tsv", "w", encoding="utf-8") as f:
        for j in range(5):
            if j != k:
                f.writelines(folds[j])
PY

for k in 0 1 2 3 4; do
  "$veto" train sms --input "$tmp/train$k.tsv" -o "$tmp/m$k.model" >/dev/null 2>&1
  printf '[operator.consent]\ndefault = true\n[classifiers.sms]\nmodel = "%s"\n' \
    "$tmp/m$k.model" >"$tmp/with$k.toml"
  printf '[operator.consent]\ndefault = true\n[classifiers.sms]\nenabled = false\n' \
    >"$tmp/without$k.toml"
  for mode in with without; do
    "$veto" sms replay --config "$tmp/$mode$k.toml" --no-progress --out /dev/null \
      --summary-json "$tmp/$mode$k.json" "$tmp/test$k.tsv" 2>/dev/null
  done
done

python3 - "$tmp" <<'PY'
import json, sys
d = sys.argv[1]
print("| pipeline (5-fold CV, pooled) | precision | recall | FPR | TP | FP | FN | TN |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for mode, name in (("with", "rules + classifier + signals + policy"),
                   ("without", "rules + signals + policy (no classifier)")):
    tp = fp = fn = tn = 0
    per = []
    for k in range(5):
        c = json.load(open(f"{d}/{mode}{k}.json"))["confusion"]
        tp += c["tp"]; fp += c["fp"]; fn += c["fn"]; tn += c["tn"]
        per.append(c["tp"] / max(1, c["tp"] + c["fn"]))
    p = tp / max(1, tp + fp); r = tp / max(1, tp + fn); f = fp / max(1, fp + tn)
    print(f"| {name} | {p:.4f} | {r:.4f} | {f:.4%} | {tp} | {fp} | {fn} | {tn} |")
    print(f"|   per-fold recall | " + " ".join(f"{x:.3f}" for x in per) + " | | | | | | |")
PY
