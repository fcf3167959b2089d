#!/usr/bin/env python3
"""End-of-data latency at a steady rate: the time from the final "." to the server's reply.

smtp_latency.py --port P --rate 50 --seconds 20 [--message FILE]

One SMTP connection, messages sent at a fixed rate (a late message goes at once, never
bunched), each transaction MAIL/RCPT/DATA by hand so only the end-of-data step is timed: that
is where Postfix runs the milter's header, body and end-of-message steps. Prints one JSON
object: n, p50_ms, p90_ms, p99_ms, max_ms, replies (code counts).
"""
import argparse
import json
import smtplib
import time


def pct(sorted_values, p):
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, int(round(p / 100.0 * (len(sorted_values) - 1)))))
    return sorted_values[k]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--rate", type=float, default=50)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--message")
    ap.add_argument("--warmup", type=int, default=20)
    args = ap.parse_args()
    if args.message:
        body = open(args.message, "rb").read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    else:
        body = (b"From: a@example.org\r\nTo: user@example.test\r\nSubject: hello\r\n"
                b"Date: Fri, 27 Nov 2026 10:00:00 +0000\r\nMessage-ID: <x@example.org>\r\n\r\n"
                + b"The minutes of the meeting are attached in the shared folder.\r\n" * 30)
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    body = body.replace(b"\r\n.", b"\r\n..")

    s = smtplib.SMTP("127.0.0.1", args.port, local_hostname="client.test", timeout=30)
    total = args.warmup + int(args.rate * args.seconds)
    lat = []
    replies = {}
    t_start = time.monotonic()
    for i in range(total):
        due = t_start + i / args.rate
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
        s.mail("sender@example.org")
        s.rcpt("user@example.test")
        code, _ = s.docmd("DATA")
        if code != 354:
            replies[code] = replies.get(code, 0) + 1
            s.rset()
            continue
        t0 = time.perf_counter()
        s.send(body + b".\r\n")
        code, _ = s.getreply()
        t1 = time.perf_counter()
        replies[code] = replies.get(code, 0) + 1
        if i >= args.warmup:
            lat.append((t1 - t0) * 1000.0)
    s.quit()
    lat.sort()
    print(json.dumps({"n": len(lat), "p50_ms": round(pct(lat, 50), 3),
                      "p90_ms": round(pct(lat, 90), 3), "p99_ms": round(pct(lat, 99), 3),
                      "max_ms": round(lat[-1], 3) if lat else None,
                      "replies": {str(k): v for k, v in replies.items()}}))


if __name__ == "__main__":
    main()
