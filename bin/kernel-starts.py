"""Starts Loupe's Jupyter kernel N times in a row, as a Jupyter client does, and counts the starts that hang.

  bin/kernel-starts [N] [LIMIT_S]      (defaults: 30 starts, 60 s each)

Each start launches the "loupe-java" kernel through nbclient (as bin/notebooks.py does; JupyterLab's server uses the
same jupyter_client calls), waits up to LIMIT_S for its kernel_info reply, runs one small cell and shuts it down. A start that
does not answer counts as a hang: its JVM's thread dump (jstack) is written to target/kernel-starts/hang-K.txt
before it is killed. Exits 1 when any start hung. Run through bin/kernel-starts (it sets up the kernel and the
project-local Jupyter paths).
"""
import os
import subprocess
import sys
import threading
import time

import nbformat
from nbclient import NotebookClient

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "target", "kernel-starts")


def main(argv):
    n = int(argv[1]) if len(argv) > 1 else 30
    limit = int(argv[2]) if len(argv) > 2 else 60
    os.makedirs(OUT, exist_ok=True)
    jstack = os.path.join(os.environ.get("JAVA_HOME", "/usr"), "bin", "jstack")
    hangs, times = 0, []
    for k in range(1, n + 1):
        # The notebook runner's own path (nbclient, as bin/notebooks.py and JupyterLab's server use jupyter_client):
        # start the kernel, wait for kernel_info, run one small cell, shut the kernel down.
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
        client = NotebookClient(nb, kernel_name=os.environ.get("LOUPE_NOTEBOOK_KERNEL", "loupe-java"), timeout=limit,
                                startup_timeout=limit, shutdown_kernel="immediate")
        dump = os.path.join(OUT, f"hang-{k}.txt")
        state = {"started": False}

        def thread_dump():
            # Shortly before the start-up limit, while the hung kernel still runs: what are its threads doing?
            km = client.km
            process = km.provisioner.process if km is not None and km.provisioner is not None else None
            if not state["started"] and process is not None:
                with open(dump, "w") as f:
                    subprocess.run([jstack, str(process.pid)], stdout=f, stderr=subprocess.STDOUT, timeout=30)

        watchdog = threading.Timer(max(1.0, limit - 5), thread_dump)
        with open(os.path.join(OUT, f"kernel-{k}.log"), "w") as log:
            t0 = time.monotonic()
            watchdog.start()
            try:
                with client.setup_kernel(stdout=log, stderr=log):
                    state["started"] = True
                    times.append(time.monotonic() - t0)
                    client.execute_cell(nb.cells[0], 0)
                print(f"start {k}: answered in {times[-1]:.1f} s", flush=True)
            except Exception as e:  # noqa: BLE001 - any failure to start is what this counts
                if state["started"]:
                    raise
                hangs += 1
                first = str(e).splitlines()[0] if str(e) else type(e).__name__
                print(f"start {k}: HUNG ({first}); thread dump {os.path.relpath(dump, ROOT)}", flush=True)
            finally:
                watchdog.cancel()
    ok = n - hangs
    median = sorted(times)[len(times) // 2] if times else float("nan")
    print(f"kernel-starts: {ok} of {n} starts answered kernel_info within {limit} s (median {median:.1f} s); {hangs} hung",
          flush=True)
    return 0 if hangs == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
