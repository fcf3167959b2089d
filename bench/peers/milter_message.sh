# Sourced by the milter benchmarks (milter_throughput.sh, milter_cpu.sh): the message both
# send. bench_message FILE writes ordinary prose with a few spam phrases, 2.3 KB.
bench_message() {
  {
    printf 'From: Sender <sender@example.org>\nTo: user@example.test\nSubject: Quarterly numbers\n'
    printf 'Date: Fri, 27 Nov 2026 10:00:00 +0000\nMessage-ID: <bench@example.org>\n'
    printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n'
    for i in $(seq 1 12); do
      printf 'Paragraph %d: the quarterly numbers are in the shared folder; click here for the\n' "$i"
      printf 'summary, and order now if you want the printed copy. See https://example.com/q%d\n\n' "$i"
    done
  } >"$1"
}
