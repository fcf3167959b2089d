#!/usr/bin/env python3
"""A bounded stream of messages through an SMTP server, checking every reply.

smtp_load.py --port P --messages N --connections C --per-connection K --token T

Half the messages are ham (expected 250), half carry GTUBE (expected a 5xx at end of data),
interleaved. Several messages go over each SMTP connection (RSET-free: MAIL after each
completed transaction), C connections in parallel. Prints one summary line and a JSON object
with the counts; exits 1 if any reply was not the expected one (a 4xx counts as wrong: a
reload must never tempfail a message). Used by postfix.sh (reload under load) and the
benchmark scripts.
"""
import argparse
import json
import smtplib
import sys
import threading
import time

GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"


def message(i, spam, token):
    body = GTUBE if spam else "Hello, the minutes of meeting %d are attached in the shared folder." % i
    return (
        "From: Sender <sender@example.org>\r\n"
        "To: user@example.test\r\n"
        "Date: Fri, 27 Nov 2026 10:00:00 +0000\r\n"
        "Message-ID: <%s.%d@example.org>\r\n"
        "Subject: load %d\r\n"
        "\r\n%s\r\n" % (token, i, i, body)
    ).encode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--messages", type=int, default=200)
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--per-connection", type=int, default=10)
    ap.add_argument("--token", default="load")
    ap.add_argument("--timeout", type=float, default=60)
    args = ap.parse_args()

    lock = threading.Lock()
    counts = {"sent": 0, "ham_ok": 0, "spam_rejected": 0, "tempfail": 0, "wrong": 0, "errors": 0}
    wrong = []
    next_index = [0]

    def take():
        with lock:
            if next_index[0] >= args.messages:
                return None
            next_index[0] += 1
            return next_index[0] - 1

    def worker():
        while True:
            first = take()
            if first is None:
                return
            try:
                s = smtplib.SMTP("127.0.0.1", args.port, local_hostname="client.test",
                                 timeout=args.timeout)
            except OSError as e:
                with lock:
                    counts["errors"] += 1
                    wrong.append("connect: %s" % e)
                continue
            i = first
            n = 0
            while i is not None:
                spam = i % 2 == 1
                try:
                    s.mail("sender@example.org")
                    s.rcpt("user@example.test")
                    code, resp = s.data(message(i, spam, args.token))
                except smtplib.SMTPDataError as e:
                    code, resp = e.smtp_code, e.smtp_error
                except smtplib.SMTPResponseException as e:
                    code, resp = e.smtp_code, e.smtp_error
                except (OSError, smtplib.SMTPException) as e:
                    code, resp = -1, str(e).encode()
                with lock:
                    counts["sent"] += 1
                    if not spam and code == 250:
                        counts["ham_ok"] += 1
                    elif spam and 500 <= code < 600:
                        counts["spam_rejected"] += 1
                    else:
                        if 400 <= code < 500:
                            counts["tempfail"] += 1
                        counts["wrong"] += 1
                        wrong.append("msg %d (%s): %s %r" % (i, "spam" if spam else "ham", code, resp))
                if code < 0:
                    break
                n += 1
                if n >= args.per_connection:
                    break
                i = take()
            try:
                s.quit()
            except Exception:
                pass

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(args.connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    secs = time.monotonic() - t0
    counts["seconds"] = round(secs, 2)
    for w in wrong[:20]:
        print("wrong reply:", w, file=sys.stderr)
    print("smtp_load: %d sent in %.1f s: %d ham accepted, %d spam rejected, %d tempfailed, %d wrong"
          % (counts["sent"], secs, counts["ham_ok"], counts["spam_rejected"], counts["tempfail"],
             counts["wrong"]))
    print(json.dumps(counts))
    ok = counts["wrong"] == 0 and counts["errors"] == 0 and counts["sent"] == args.messages
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
