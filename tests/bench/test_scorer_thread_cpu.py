"""bench/scoring.py's split of the scorer's CPU by thread (`scorer_threads_cpu`), checked on a
real process tree shaped like the scorer's: a host process, one worker process under it whose
main thread, a thread named like granian's Rust runtime and a plain thread each burn a known
amount of CPU time. Only CPU time is asserted (each thread spins until /proc shows its own
share), never wall-clock time."""
from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.harness import ROOT

sys.path.insert(0, str(ROOT / "bench"))
from scoring import scorer_threads_cpu  # noqa: E402

# Spins until the calling thread has used `seconds` of CPU (its own /proc entry).
SPIN = textwrap.dedent("""\
    import ctypes, os, sys, threading, time
    def spin(seconds):
        tid = threading.get_native_id()
        stat = f"/proc/self/task/{tid}/stat"
        while True:
            f = open(stat).read().rsplit(")", 1)[1].split()
            if (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK") >= seconds:
                return
            sum(range(10000))
    done = threading.Event()  # a thread that ended would leave /proc/<pid>/task: they wait for it
    def named(name, seconds):
        ctypes.CDLL(None).prctl(15, name.encode(), 0, 0, 0)  # PR_SET_NAME: this thread's comm
        spin(seconds)
        done.wait()
    def plain(seconds):
        spin(seconds)
        done.wait()
    """)
WORKER = SPIN + textwrap.dedent("""\
    threads = [threading.Thread(target=named, args=("tokio-rt-worker", 0.3)),
               threading.Thread(target=plain, args=(0.2,))]
    for t in threads: t.start()
    spin(0.4)
    for seconds, t in zip((0.3, 0.2), threads):  # until every thread's share shows (sleeping meanwhile)
        while True:
            f = open(f"/proc/self/task/{t.native_id}/stat").read().rsplit(")", 1)[1].split()
            if (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK") >= seconds:
                break
            time.sleep(0.01)
    print("spun", flush=True)
    sys.stdin.read()  # kept alive until the test has read /proc
    done.set()
    """)
HOST = SPIN + textwrap.dedent(f"""\
    import subprocess, sys
    worker = subprocess.Popen([sys.executable, "-c", {WORKER!r}], stdout=subprocess.PIPE, stdin=subprocess.PIPE, text=True)
    spin(0.1)
    assert worker.stdout.readline() == "spun\\n"
    print("ready", flush=True)
    sys.stdin.read()
    worker.stdin.close(); worker.wait()
    """)


def test_the_scorers_cpu_is_split_into_host_loop_rust_and_other_threads():
    host = subprocess.Popen([sys.executable, "-c", HOST], stdout=subprocess.PIPE, stdin=subprocess.PIPE, text=True)
    try:
        assert host.stdout.readline() == "ready\n"
        kinds = scorer_threads_cpu(host.pid)
    finally:
        host.stdin.close()
        host.wait(60)
    # Each kind holds at least what its threads spun (+ start-up); none holds another's share.
    assert 0.1 <= kinds["host"] < 0.3, kinds
    assert 0.4 <= kinds["loop"] < 0.6, kinds
    assert 0.3 <= kinds["rust"] < 0.4, kinds
    assert 0.2 <= kinds["other"] < 0.3, kinds
