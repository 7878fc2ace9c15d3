#!/usr/bin/env python3
# Resident memory of a real `quiesce head` process that runs N one-task jobs
# (command `true`, 2 local slots, a journal), submitted BATCH at a time with
# `quiesce submit`; after each batch has ended (counted in the journal) it
# prints the head's VmRSS. Run it twice, with a retention of 0s and with a
# very long one (every job kept), for the figures in docs/durability.md.
#
#   bench/head_rss.py build/quiesce 300000 10000 0s
#   bench/head_rss.py build/quiesce 100000 10000 1000h
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

if len(sys.argv) != 5:
    sys.exit("usage: head_rss.py QUIESCE N BATCH RETENTION")
quiesce, n, batch, retention = (sys.argv[1], int(sys.argv[2]),
                                int(sys.argv[3]), sys.argv[4])
work = tempfile.mkdtemp(prefix="quiesce-head-rss-")
with open(os.path.join(work, "batch.toml"), "w") as f:
    for i in range(batch):
        f.write(f'[[job]]\nname = "j{i}"\n  [[job.assessment]]\n  name = "a"\n'
                f'    [[job.assessment.task]]\n    name = "t"\n'
                f'    command = ["true"]\n\n')
head = subprocess.Popen(
    [quiesce, "head", "--dev", "--listen", "127.0.0.1:0", "--local-slots", "2",
     "--state-dir", os.path.join(work, "state"),
     "--run-dir", os.path.join(work, "runs"), "--job-retention", retention],
    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
try:
    address = re.search(r"127\.0\.0\.1:\d+", head.stdout.readline()).group(0)
    db = os.path.join(work, "state", "quiesce.db")

    def ended():
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as c:
            return c.execute("SELECT count(*) FROM jobs WHERE status IN "
                             "('finished','failed','cancelled')").fetchone()[0]

    def rss_mib():
        with open(f"/proc/{head.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) // 1024

    marks = []
    start = time.time()
    for k in range(n // batch):
        r = subprocess.run([quiesce, "submit", os.path.join(work, "batch.toml"),
                            "--head", address, "--parsable"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(r.stdout + r.stderr)
        # A measurement, not a test: polling the journal is fine here.
        while ended() < (k + 1) * batch:
            time.sleep(0.5)
        marks.append(rss_mib())
        print(f"{(k + 1) * batch} jobs: {marks[-1]} MiB", flush=True)
    print(f"retention {retention}: MiB after each batch: "
          + " ".join(map(str, marks))
          + f"; {n / (time.time() - start):.0f} jobs/s")
finally:
    head.terminate()
    head.wait()
    shutil.rmtree(work, ignore_errors=True)
