#!/usr/bin/env python3
"""Helpers for scan_peers.sh (Python 3 standard library only).

Subcommands:
  cpu PID                 CPU seconds (user+system) of the process tree rooted at PID, from
                          /proc: the sum over every live process of the tree of utime + stime
                          + cutime + cstime. cutime/cstime hold the CPU of children the
                          process has already reaped (recursively), so children that a
                          daemon respawned during the run are still counted. Prints one float.
  pids PID                the PIDs of the tree rooted at PID (one per line).
  run OUT.json CMD...     runs CMD with stdout/stderr passed through, and writes its wall
                          time and its own CPU (getrusage of the waited-for child via wait4:
                          ru_utime + ru_stime, all threads, plus any children it reaped) to
                          OUT.json. Exits with CMD's status.
  dns-stub PORT LOG       a DNS server on 127.0.0.1:PORT (UDP and TCP) that answers every
                          query with REFUSED and appends "qname qtype" to LOG. The daemons'
                          resolvers point at it so that a lookup never leaves the machine
                          and every attempted lookup is counted.
  wait-port PORT SECS     waits until 127.0.0.1:PORT accepts a TCP connection (exit 1 after
                          SECS seconds).
  free-port PORT          exit 0 when nothing listens on 127.0.0.1:PORT (TCP).
  count ENGINE FILE       counts the results an engine printed (JSON: scanned, flagged,
                          errors, and per spam/ham directory); ENGINE: veto | spamc | rspamc.
  record OUT KEY LABEL ENGINE CPU WALL OUTPUT DNS
                          writes one run's record (the counts of OUTPUT, CPU and wall seconds,
                          DNS queries seen) to OUT.
  table DIR               prints the Markdown table from the run records in DIR.
"""
import json
import os
import re
import socket
import socketserver
import struct
import subprocess
import sys
import threading
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _stat(pid):
    """(ppid, utime+stime+cutime+cstime in ticks) of one process, or None if gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode("ascii", "replace")
    except OSError:
        return None
    # The command name is in parentheses and may contain spaces: split after the last ')'.
    rest = data[data.rindex(")") + 2:].split()
    ppid = int(rest[1])
    utime, stime, cutime, cstime = (int(x) for x in rest[11:15])
    return ppid, utime + stime + cutime + cstime


def tree(root):
    """{pid: ticks} for root and all its descendants."""
    stats = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            s = _stat(int(name))
            if s is not None:
                stats[int(name)] = s
    children = {}
    for pid, (ppid, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    out, todo = {}, [root]
    while todo:
        pid = todo.pop()
        if pid in stats and pid not in out:
            out[pid] = stats[pid][1]
            todo.extend(children.get(pid, []))
    return out


def cmd_cpu(args):
    t = tree(int(args[0]))
    if not t:
        sys.exit(f"peers.py cpu: no process {args[0]}")
    print(f"{sum(t.values()) / CLK_TCK:.2f}")


def cmd_pids(args):
    for pid in sorted(tree(int(args[0]))):
        print(pid)


def cmd_run(args):
    out, cmd = args[0], args[1:]
    start = time.monotonic()
    proc = subprocess.Popen(cmd)
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.monotonic() - start
    code = os.waitstatus_to_exitcode(status)
    with open(out, "w") as f:
        json.dump({"wall": wall, "utime": ru.ru_utime, "stime": ru.ru_stime,
                   "cpu": ru.ru_utime + ru.ru_stime, "maxrss_kb": ru.ru_maxrss,
                   "status": code}, f)
    sys.exit(code if code >= 0 else 128 - code)


def _refused(query):
    if len(query) < 12:
        return None, "?"
    qid, flags = struct.unpack("!HH", query[:4])
    # Question name, for the log.
    labels, i = [], 12
    while i < len(query) and query[i] != 0 and len(labels) < 64:
        n = query[i]
        if n & 0xC0:
            break
        labels.append(query[i + 1:i + 1 + n].decode("ascii", "replace"))
        i += 1 + n
    qtype = struct.unpack("!H", query[i + 1:i + 3])[0] if i + 3 <= len(query) else 0
    # Same id, QR=1, opcode and RD copied, RA=1, RCODE=5 (REFUSED); question echoed.
    rflags = 0x8000 | (flags & 0x7900) | 0x0080 | 5
    qdcount = struct.unpack("!H", query[4:6])[0]
    question = query[12:i + 5] if qdcount else b""
    reply = struct.pack("!HHHHHH", qid, rflags, 1 if question else 0, 0, 0, 0) + question
    return reply, f"{'.'.join(labels)} {qtype}"


def cmd_dns_stub(args):
    port, log = int(args[0]), args[1]
    lock = threading.Lock()

    def note(line):
        with lock, open(log, "a") as f:
            f.write(line + "\n")

    class Udp(socketserver.BaseRequestHandler):
        def handle(self):
            data, sock = self.request
            reply, name = _refused(data)
            note(name)
            if reply:
                sock.sendto(reply, self.client_address)

    class Tcp(socketserver.StreamRequestHandler):
        def handle(self):
            self.connection.settimeout(5)
            try:
                n = struct.unpack("!H", self.rfile.read(2))[0]
                reply, name = _refused(self.rfile.read(n))
            except (OSError, struct.error):
                return
            note(name + " tcp")
            if reply:
                self.wfile.write(struct.pack("!H", len(reply)) + reply)

    socketserver.ThreadingUDPServer.allow_reuse_address = True
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    udp = socketserver.ThreadingUDPServer(("127.0.0.1", port), Udp)
    tcp = socketserver.ThreadingTCPServer(("127.0.0.1", port), Tcp)
    open(log, "a").close()
    threading.Thread(target=tcp.serve_forever, daemon=True).start()
    udp.serve_forever()


def cmd_wait_port(args):
    port, deadline = int(args[0]), time.monotonic() + float(args[1])
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    sys.exit(1)


def cmd_free_port(args):
    try:
        socket.create_connection(("127.0.0.1", int(args[0])), timeout=1).close()
    except OSError:
        return
    sys.exit(1)


class Tally:
    """Messages scanned, flagged as spam, and failed; also split by a /spam/ or /ham/ path
    component (the dev corpus layout) for the sanity check."""

    def __init__(self):
        self.scanned = self.flagged = self.errors = 0
        self.by_dir = {"spam": [0, 0], "ham": [0, 0]}  # dir: [messages, flagged]

    def add(self, path, spam):
        self.scanned += 1
        self.flagged += bool(spam)
        parts = (path or "").split("/")
        for d in ("spam", "ham"):
            if d in parts:
                self.by_dir[d][0] += 1
                self.by_dir[d][1] += bool(spam)

    def dump(self):
        return {"scanned": self.scanned, "flagged": self.flagged, "errors": self.errors,
                "by_dir": self.by_dir}


def count_veto(path):
    # `veto scan --format jsonl`: one object per message with "id" (the path) and "spam".
    t = Tally()
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                d = json.loads(line)
            except ValueError:
                t.errors += 1
                continue
            if "error" in d or "spam" not in d:
                t.errors += 1
                continue
            t.add(d.get("id"), d["spam"])
    return t


def count_spamc(path):
    # Lines "EXIT<TAB>score/threshold<TAB>file" from `spamc -c` (exit 0 ham, 1 spam; on a
    # failure spamc prints 0/0 and exits with another code).
    t = Tally()
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 3:
                continue
            code, result = parts[0], parts[1]
            if code in ("0", "1") and "/" in result and result != "0/0":
                t.add(parts[2], code == "1")
            else:
                t.errors += 1
    return t


def count_rspamc(path):
    # rspamc's text output: per file a block starting "Results for file: NAME (T seconds)"
    # with a "Spam: true|false" line (true for the reject, add header and rewrite subject
    # actions); a failed scan has no Spam line.
    t = Tally()
    name, seen = None, True
    head = re.compile(r"^Results for file: (.*) \([0-9.]+ seconds\)$")
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            m = head.match(line)
            if m:
                if not seen:
                    t.errors += 1
                name, seen = m.group(1), False
            elif line.startswith("Spam: ") and name is not None and not seen:
                t.add(name, line == "Spam: true")
                seen = True
    if not seen:
        t.errors += 1
    return t


def cmd_count(args):
    fn = {"veto": count_veto, "spamc": count_spamc, "rspamc": count_rspamc}[args[0]]
    print(json.dumps(fn(args[1]).dump()))


def cmd_record(args):
    """record OUT.json KEY LABEL ENGINE CPU WALL OUTPUT DNS: one timed run of one engine."""
    out, key, label, engine, cpu, wall, output, dns = args
    t = {"veto": count_veto, "spamc": count_spamc, "rspamc": count_rspamc}[engine](output)
    with open(out, "w") as f:
        json.dump({"key": key, "label": label, "cpu": float(cpu), "wall": float(wall),
                   "dns_queries": int(dns), **t.dump()}, f)


def _fmt_rate(x):
    return f"{x:,.0f}" if x >= 100 else f"{x:,.1f}" if x >= 1 else f"{x:.2f}"


def cmd_table(args):
    """table DIR: the Markdown table from the run records in DIR (*.json). For an engine run
    several times, the run with the median CPU time is shown, with the spread in the notes."""
    runs = {}
    order = []
    for name in sorted(os.listdir(args[0])):
        if name.endswith(".json"):
            with open(os.path.join(args[0], name)) as f:
                r = json.load(f)
            if r["key"] not in runs:
                order.append(r["key"])
            runs.setdefault(r["key"], []).append(r)
    wanted = ["veto_sa", "veto_default", "spamassassin", "rspamd"]
    order = [k for k in wanted if k in runs] + [k for k in order if k not in wanted]
    rows = {}
    for key in order:
        rs = sorted(runs[key], key=lambda r: r["cpu"])
        r = dict(rs[(len(rs) - 1) // 2])
        r["all_cpu"] = [x["cpu"] for x in runs[key]]
        r["mps"] = r["scanned"] / r["cpu"] if r["cpu"] > 0 else float("inf")
        rows[key] = r

    def ratio(a, b):
        if a not in rows or b not in rows or rows[b]["mps"] in (0, float("inf")):
            return "—"
        x = rows[a]["mps"] / rows[b]["mps"]
        return f"{x:,.0f}×" if x >= 10 else f"{x:.2f}×"

    print("| engine | messages | flagged as spam | CPU s | msgs per CPU-s | wall s "
          "| veto (SA rules) ÷ engine | veto (bundled rules) ÷ engine |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for key in order:
        r = rows[key]
        mine = key.startswith("veto")
        msgs = f"{r['scanned']:,}" + (f" (+{r['errors']} failed)" if r["errors"] else "")
        flagged = f"{r['flagged']:,}"
        d = r["by_dir"]
        if d["spam"][0] or d["ham"][0]:
            flagged += f" (spam/ {d['spam'][1]}/{d['spam'][0]}, ham/ {d['ham'][1]}/{d['ham'][0]})"
        cells = [r["label"], msgs, flagged, f"{r['cpu']:.2f}", _fmt_rate(r["mps"]),
                 f"{r['wall']:.1f}", "—" if mine else ratio("veto_sa", key),
                 "—" if mine else ratio("veto_default", key)]
        print("| " + " | ".join(cells) + " |")
    print()
    for key in order:
        r = rows[key]
        spread = ", ".join(f"{c:.2f}" for c in r["all_cpu"])
        dns = str(r["dns_queries"]) if r["dns_queries"] >= 0 else "n/a (veto resolves nothing)"
        print(f"- {r['label']}: {len(r['all_cpu'])} run(s), CPU s per run: {spread}; "
              f"DNS queries seen by the stub resolver: {dns}")


def main():
    cmds = {"cpu": cmd_cpu, "pids": cmd_pids, "run": cmd_run, "dns-stub": cmd_dns_stub,
            "wait-port": cmd_wait_port, "free-port": cmd_free_port, "count": cmd_count,
            "record": cmd_record, "table": cmd_table}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        sys.exit(__doc__)
    cmds[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
