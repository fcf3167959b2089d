#!/usr/bin/env python3
"""Differential test: veto's rule hits against SpamAssassin 4.0.1 itself, same stock rules.

Takes a fixed sample of the SpamAssassin dev corpus (every 15th ham, every 4th spam: 309
messages), runs SpamAssassin (Perl API, local tests only: score set 0, no Bayes, no network)
and `veto scan --no-default-rules --rules /usr/share/spamassassin --all-hits`, and compares
the hits of every regex-based rule (header, body, rawbody, uri, full, mimeheader) and of
every meta built only from those. Prints the agreement (pairs reported by both / pairs
reported by either) and every difference, grouped by rule.

Usage: sa_differential.py VETO_BINARY [--min-agreement 0.99] [--cache-dir DIR] [--jobs N]
(--jobs: SpamAssassin processes run in parallel, each on a share of the sample)
Exit: 0 when agreement >= the minimum, 1 below it, 77 (skipped) when SpamAssassin or the
corpus is absent.
"""
import argparse
import collections
import json
import os
import subprocess
import sys
import tarfile
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(ROOT, "..", "shared", "corpora", "email")
STOCK = "/usr/share/spamassassin"
REGEX_TYPES = {"header", "body", "rawbody", "uri", "full", "mimeheader"}
IDENT = __import__("re").compile(r"[A-Za-z_][A-Za-z0-9_]*")


def sample(tmp):
    files = []
    for name, step in (("spamassassin_dev_ham.tar.gz", 15), ("spamassassin_dev_spam.tar.gz", 4)):
        with tarfile.open(os.path.join(CORPUS, name)) as tar:
            members = sorted((m for m in tar.getmembers() if m.isfile()), key=lambda m: m.name)
            for m in members[::step]:
                path = os.path.join(tmp, os.path.basename(m.name))
                with open(path, "wb") as out:
                    out.write(tar.extractfile(m).read())
                files.append(path)
    return files


def rule_table(veto, cache_args):
    out = subprocess.run([veto, "check-rules", "--list", "--no-default-rules", "--rules", STOCK]
                         + cache_args, capture_output=True, text=True)
    rules = {}
    for line in out.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) == 5 and parts[0] == "rule":
            rules[parts[1]] = (parts[2], parts[3], float(parts[4]))
    return rules


def comparable(rules):
    """Regex rules, and metas whose operands are all comparable (recursively)."""
    memo = {}

    def ok(name, depth=0):
        if name in memo:
            return memo[name]
        if name not in rules or depth > 50:
            return False
        kind, target, score = rules[name]
        memo[name] = False  # cycle guard
        if kind in REGEX_TYPES:
            result = not target.startswith(("X-Spam-Relays", "ALL-"))
        elif kind == "meta":
            result = all(ok(op, depth + 1) for op in IDENT.findall(target)
                         if op not in ("rules_matching",))
        else:
            result = False
        memo[name] = result
        return result

    return {n for n in rules if ok(n) and rules[n][2] != 0}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("veto")
    ap.add_argument("--min-agreement", type=float, default=0.99)
    ap.add_argument("--cache-dir", default=None)
    ap.add_argument("--jobs", type=int, default=1)
    args = ap.parse_args()
    if not os.path.isdir(STOCK) or subprocess.run(
            ["perl", "-MMail::SpamAssassin", "-e1"], capture_output=True).returncode != 0:
        print("skipped: SpamAssassin (Debian package spamassassin) is not installed")
        return 77
    if not os.path.exists(os.path.join(CORPUS, "spamassassin_dev_ham.tar.gz")):
        print(f"skipped: corpus not found at {CORPUS}")
        return 77
    cache_args = ["--cache-dir", args.cache_dir] if args.cache_dir else []
    with tempfile.TemporaryDirectory() as tmp:
        msgs = os.path.join(tmp, "msgs")
        os.mkdir(msgs)
        files = sample(msgs)
        jobs = max(1, args.jobs)
        procs = [subprocess.Popen(["perl", os.path.join(HERE, "sa_hits.pl")] + files[k::jobs],
                                  stdout=subprocess.PIPE, text=True) for k in range(jobs)]
        sa_out = []
        for p in procs:
            out, _ = p.communicate()
            if p.returncode != 0:
                print(f"SpamAssassin failed (exit {p.returncode})")
                return 1
            sa_out.extend(out.splitlines())
        sa_hits = {}
        for line in sa_out:
            path, _, hits = line.partition("\t")
            sa_hits[os.path.basename(path)] = set(h for h in hits.split(",") if h)
        veto = subprocess.run([args.veto, "scan", "--no-default-rules", "--rules", STOCK,
                               "--format", "jsonl", "--all-hits", msgs] + cache_args,
                              capture_output=True, text=True)
        veto_hits = {}
        for line in veto.stdout.splitlines():
            d = json.loads(line)
            veto_hits[os.path.basename(d["id"])] = set(d["all_hits"])
        rules = rule_table(args.veto, cache_args)
    cmp = comparable(rules)
    both = only_sa = only_veto = 0
    diffs = collections.defaultdict(lambda: [0, 0, []])
    for msg in sorted(sa_hits):
        s = sa_hits[msg] & cmp
        v = veto_hits.get(msg, set()) & cmp
        both += len(s & v)
        for r in s - v:
            only_sa += 1
            diffs[r][0] += 1
            diffs[r][2].append(msg)
        for r in v - s:
            only_veto += 1
            diffs[r][1] += 1
            diffs[r][2].append(msg)
    either = both + only_sa + only_veto
    agreement = both / either if either else 1.0
    print(f"messages: {len(sa_hits)} (veto scanned {len(veto_hits)}); comparable rules: {len(cmp)}")
    print(f"pairs: both {both}, SpamAssassin only {only_sa}, veto only {only_veto}")
    print(f"agreement: {agreement:.4f} (minimum {args.min_agreement})")
    print("differences by rule (SpamAssassin-only, veto-only, example message):")
    for rule, (s_only, v_only, ex) in sorted(diffs.items(), key=lambda kv: -(kv[1][0] + kv[1][1])):
        kind = rules.get(rule, ("?", "", 0))
        print(f"  {rule:40s} {kind[0]:8s} {kind[1][:30]:30s} sa-only {s_only:4d} veto-only {v_only:4d}  e.g. {ex[0]}")
    return 0 if agreement >= args.min_agreement else 1


if __name__ == "__main__":
    sys.exit(main())
