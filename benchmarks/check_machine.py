"""Can this machine run the course? ``make check-machine``, for workshop hosts.

    python -m benchmarks.check_machine                  # every lesson
    python -m benchmarks.check_machine lessons/01_tensors.ipynb ...

Runs each notebook headless in a fresh kernel, one at a time, the way the
notebooks section of the benchmarks does (``jupyter execute`` started from a
wrapper process, whose ``RUSAGE_CHILDREN`` peak is that kernel's peak memory),
prints a row per notebook as it finishes, then a summary. Exits 1 if a notebook
fails (its error is printed) or MNIST is unusable; going over a target is
reported, not failed.
"""

import argparse
import json
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.machine import describe, table
from benchmarks.notebooks import LIMIT_GIB, LIMIT_S

ROOT = Path(__file__).resolve().parent.parent
ERROR_LINES = 25  # of jupyter execute's output, shown for a failed notebook
_ANSI = re.compile("\x1b\\[[0-9;]*[A-Za-z]")


def measure(notebook):
    """Run one notebook headless; return {wall, peak_mib, ok, error} (call in a wrapper)."""
    start = time.perf_counter()
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "jupyter"), "execute", "--timeout=900", notebook.name],
        cwd=notebook.parent, capture_output=True, text=True,
    )
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    text = _ANSI.sub("", proc.stdout + proc.stderr)
    start = text.find("An error occurred while executing the following cell")
    tail = "\n".join(text[max(start, 0):].strip().splitlines()[-ERROR_LINES:])
    return {"wall": wall, "peak_mib": peak, "ok": proc.returncode == 0,
            "error": "" if proc.returncode == 0 else tail}


def run_one(notebook):
    """``measure`` in a wrapper process of its own, so the peak is this notebook's only."""
    proc = subprocess.run([sys.executable, "-m", "benchmarks.check_machine", "--one",
                           str(notebook)], cwd=ROOT, capture_output=True, text=True)
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return {"wall": 0.0, "peak_mib": 0.0, "ok": False,
                "error": (proc.stdout + proc.stderr).strip() or "the wrapper printed nothing"}


def check_data():
    """A line on the MNIST the notebooks will use; raises MnistDataError if it is unusable."""
    from dlcourse import data

    found = data.find_mnist()
    if found is None:
        return ("MNIST is not staged: the first lesson will download it (needs the internet). "
                "Stage it with `python -m dlcourse.data fetch --dest DIR`.")
    data.read_mnist(found)
    return f"MNIST: {found} (verified)"


def main(argv=None):
    """Run the notebooks, print the table; 0 when all ran, 1 when one failed."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.check_machine",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="notebooks to run (default: every lesson)")
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(measure(args.one.resolve())))
        return 0
    notebooks = args.notebooks or sorted((ROOT / "lessons").glob("*.ipynb"))
    missing = [str(n) for n in notebooks if not n.is_file()]
    if missing:
        print(f"error: no notebook at {', '.join(missing)}", file=sys.stderr)
        return 2
    from dlcourse import data, quiet_tensorflow

    try:
        found = check_data()
    except data.MnistDataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    quiet_tensorflow()
    print(describe(), flush=True)
    print(found, flush=True)
    header = ["notebook", "wall s", "peak MiB", "ran", f"within {LIMIT_S} s, {LIMIT_GIB:g} GiB"]
    print(f"Running {len(notebooks)} notebook(s), one at a time.\n")
    print(table(header, []), flush=True)
    rows, failed, total = [], [], 0.0
    for nb in notebooks:
        got = run_one(nb.resolve())
        total += got["wall"]
        within = got["wall"] <= LIMIT_S and got["peak_mib"] / 1024 <= LIMIT_GIB
        row = [nb.name, f"{got['wall']:.0f}", f"{got['peak_mib']:.0f}",
               "yes" if got["ok"] else "**FAILED**", "yes" if within else "**no**"]
        rows.append(row)
        print(table(header, [row]).splitlines()[-1], flush=True)
        if not got["ok"]:
            failed.append((nb, got["error"]))
    print(f"\nTotal: {total / 60:.1f} minutes for {len(notebooks)} notebook(s).")
    for nb, error in failed:
        print(f"\n{nb} failed:\n{error}")
    if failed:
        print(f"\n{len(failed)} notebook(s) failed: this machine cannot run the course as is.")
        return 1
    print("Every notebook ran: this machine can run the course.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
