"""Executes Loupe's notebooks headlessly with nbclient and the project-local "loupe-java" kernel.

  notebooks.py test  [NAME...]   execute copies under target/notebooks/; print "N passed, N failed"; exit 1 on failure
  notebooks.py write [NAME...]   execute and store the outputs in notebooks/*.ipynb (what GitHub shows)

Run by bin/test-notebooks and bin/update-notebooks with Debian's /usr/bin/python3 (nbclient, nbformat, jupyter_client)
and JUPYTER_PATH set to the project's .cache/jupyter. A kernel that does not answer kernel_info within the start-up
limit is killed and started again; a cell that runs past the cell limit fails its notebook with a line saying so, and
the kernel is killed, never left running.

Start-up hangs had two causes, both fixed in dev.loupe.notebook.NotebookKernel (rapaio's handler race, and its
LoopThread start race that left the shell or heartbeat loop dead); bin/kernel-starts checks 30 starts in a row. The
restarts stay as a guard against a kernel killed from outside. A healthy start answers in 3 to 15 s, hence the 30 s
limit.
"""
import os
import shutil
import signal
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOKS = os.environ.get("LOUPE_NOTEBOOKS_DIR", os.path.join(ROOT, "notebooks"))
OUT = os.path.join(ROOT, "target", "notebooks")
KERNEL = os.environ.get("LOUPE_NOTEBOOK_KERNEL", "loupe-java")
CELL_TIMEOUT = int(os.environ.get("LOUPE_NOTEBOOK_CELL_TIMEOUT", "600"))
STARTUP_TIMEOUT = int(os.environ.get("LOUPE_NOTEBOOK_STARTUP_TIMEOUT", "30"))
STARTS = int(os.environ.get("LOUPE_NOTEBOOK_STARTS", "5"))


class StartupFailed(Exception):
    pass


def first_lines(text, n=6):
    text = text.replace("\x1b", "")
    lines = [l for l in text.splitlines() if l.strip()]
    return "\n      ".join(lines[:n])


def run_once(path, log):
    """One attempt; raises StartupFailed when the kernel never answered. The kernel's own output goes to log."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, kernel_name=KERNEL, timeout=CELL_TIMEOUT, startup_timeout=STARTUP_TIMEOUT,
                            allow_errors=False, record_timing=False, shutdown_kernel="immediate",
                            resources={"metadata": {"path": NOTEBOOKS}})
    started = False
    try:
        with client.setup_kernel(stdout=log, stderr=log):
            started = True
            for index, cell in enumerate(nb.cells):
                t0 = time.monotonic()
                client.execute_cell(cell, index)
                if cell.cell_type == "code" and time.monotonic() - t0 > 20:
                    print(f"  cell {index} took {time.monotonic() - t0:.0f} s", flush=True)
    except (RuntimeError, TimeoutError) as e:
        # nbclient raises RuntimeError("Kernel didn't respond in N seconds") or ("Kernel died before replying to
        # kernel_info") while starting; a cell past its limit is a CellTimeoutError (a TimeoutError) after start.
        if not started and not isinstance(e, CellTimeoutError):
            raise StartupFailed(str(e)) from e
        raise
    # Each run starts clean: drop what the kernel added that changes between runs.
    nb.metadata.pop("widgets", None)
    return nb


def run(path):
    """Returns (notebook or None, error line or None, seconds)."""
    t0 = time.monotonic()
    for attempt in range(1, STARTS + 1):
        try:
            with open(os.path.join(OUT, os.path.basename(path) + ".kernel.log"), "w" if attempt == 1 else "a") as log:
                log.write(f"== kernel start {attempt}\n"); log.flush()
                return run_once(path, log), None, time.monotonic() - t0
        except StartupFailed as e:
            print(f"  kernel did not start ({first_lines(str(e), 1)}); attempt {attempt} of {STARTS}", flush=True)
        except CellTimeoutError as e:
            return None, f"a cell did not finish within {CELL_TIMEOUT} s; kernel killed\n      {first_lines(str(e), 4)}", time.monotonic() - t0
        except CellExecutionError as e:
            return None, f"a cell failed:\n      {first_lines(str(e), 12)}", time.monotonic() - t0
        except DeadKernelError as e:
            return None, f"the kernel died: {first_lines(str(e), 2)}", time.monotonic() - t0
    return None, f"the kernel did not answer within {STARTUP_TIMEOUT} s at start-up, {STARTS} times", time.monotonic() - t0


def main(argv):
    if len(argv) < 2 or argv[1] not in ("test", "write"):
        print(__doc__, file=sys.stderr)
        return 2
    mode, names = argv[1], argv[2:]
    paths = sorted(os.path.join(NOTEBOOKS, f) for f in os.listdir(NOTEBOOKS) if f.endswith(".ipynb"))
    if names:
        paths = [p for p in paths if any(os.path.basename(p).startswith(n) for n in names)]
    if not paths:
        print("notebooks: no notebook matches " + " ".join(names), file=sys.stderr)
        return 2
    os.makedirs(OUT, exist_ok=True)
    # The stored outputs and the tests are of the bundled demo data, whatever the caller's environment says; the
    # corpus notebook indexes into a fresh run folder so that the indexing path runs each time.
    for var in ("LOUPE_MODEL", "LOUPE_SAE"):
        os.environ.pop(var, None)
    run_dir = os.path.join(OUT, "demo-run")
    shutil.rmtree(run_dir, ignore_errors=True)
    os.environ["LOUPE_RUN"] = run_dir
    passed = failed = 0
    for path in paths:
        name = os.path.basename(path)
        print(f"notebook {name} ...", flush=True)
        nb, error, seconds = run(path)
        if error is None:
            passed += 1
            target = path if mode == "write" else os.path.join(OUT, name)
            tmp = target + ".tmp"
            nbformat.write(nb, tmp)
            os.replace(tmp, target)
            print(f"PASSED {name} ({seconds:.0f} s, {len(nb.cells)} cells) -> {os.path.relpath(target, ROOT)}", flush=True)
        else:
            failed += 1
            print(f"FAILED {name} ({seconds:.0f} s): {error}\n      kernel log: target/notebooks/{name}.kernel.log", flush=True)
    print(f"{passed} passed, {failed} failed", flush=True)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    # A TERM (CI's time limit, a Ctrl-C in a wrapper) unwinds through setup_kernel, which kills the kernel.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(143))
    sys.exit(main(sys.argv))
