"""A stand-in for `python -m zpviz record` in the app's tests (no root needed).

fake_recorder.py MODE [zpviz record's arguments] -- CMD...
MODE "ok": runs CMD as its child, prints a few progress lines, copies the lesson given in
FAKE_LESSON to --lesson, exits 0. "slow": the same, but runs until Ctrl+C (SIGINT), then writes
what it has like the real recorder. "fail": says what the real recorder says at
perf_event_paranoid 3 and exits 2. The child's pid goes to FAKE_CHILD_PID (a file) so the test
can see it was not left running.
"""

import os
import shutil
import subprocess
import sys
import time

mode, args = sys.argv[1], sys.argv[2:]
cmd = args[args.index("--") + 1:]
out, lesson = args[args.index("-o") + 1], args[args.index("--lesson") + 1]
if mode == "fail":
    print("zpviz record: perf_event_paranoid is 3: nothing can be recorded. Needed: root, CAP_PERFMON, or "
          "sysctl kernel.perf_event_paranoid=2", file=sys.stderr)
    sys.exit(2)
child = subprocess.Popen(cmd)
with open(os.environ["FAKE_CHILD_PID"], "w") as f:
    f.write(str(child.pid))
faults = 0
try:
    for _ in range(10 if mode == "ok" else 100_000):
        faults += 7
        print(f"zpviz record: progress {faults} faults, {faults // 7} calls", file=sys.stderr, flush=True)
        time.sleep(0.05)
except KeyboardInterrupt:
    print("zpviz record: interrupted", file=sys.stderr)
with open(out, "w") as f:
    f.write("{}")
shutil.copy(os.environ["FAKE_LESSON"], lesson)
print(f"zpviz record: wrote {lesson}", file=sys.stderr)
child.wait()
