"""Wall time and peak memory of every lesson and solution notebook, run headless.

Each notebook runs in its own ``jupyter execute`` process, started from a
small wrapper process so that the wrapper's ``RUSAGE_CHILDREN`` peak is the
peak resident memory of that notebook's kernel and nothing else.
"""

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.machine import table
from dlcourse import plots

LIMIT_S, LIMIT_GIB, COURSE_LIMIT_S = 180, 2.0, 15 * 60


def measure(notebook):
    """Run one notebook headless; return (wall seconds, peak MiB, ok)."""
    start = time.perf_counter()
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "jupyter"), "execute", "--timeout=900", notebook.name],
        cwd=notebook.parent, capture_output=True, text=True,
    )
    wall = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return wall, peak_mib, proc.returncode == 0


def run(quick, out, root):
    notebooks = sorted((root / "lessons").glob("*.ipynb")) + sorted(
        (root / "solutions").glob("*/*.ipynb"))
    if quick:
        notebooks = [n for n in notebooks if n.stem.startswith("01_")]
    rows, walls, labels = [], [], []
    for nb in notebooks:
        proc = subprocess.run([sys.executable, "-m", "benchmarks.notebooks", str(nb)],
                              cwd=root, capture_output=True, text=True)
        wall, peak, ok = json.loads(proc.stdout.strip().splitlines()[-1])
        label = f"{nb.parent.name}/{nb.name}"
        walls.append(wall)
        labels.append(label)
        within = wall <= LIMIT_S and peak / 1024 <= LIMIT_GIB
        rows.append([label, f"{wall:.0f}", f"{peak:.0f}", "yes" if ok else "**failed**",
                     "yes" if within else "**no**"])
    total = sum(walls)
    fig = plots.plot_lines(list(range(len(walls))), {"wall seconds": walls},
                           "notebook (in table order)", "seconds",
                           title="Run time of each notebook, headless")
    fig.savefig(out / "notebook_times.png", dpi=100)
    return "\n\n".join([
        "## 3. Notebooks: run time and peak memory",
        "Each notebook executed headless with `jupyter execute` (a fresh kernel), one at a time. "
        f"Targets: each under {LIMIT_S} s and {LIMIT_GIB:g} GiB (2,048 MiB), "
        f"the whole course under {COURSE_LIMIT_S // 60} minutes.",
        table(["notebook", "wall s", "peak MiB (kernel)", "ran", "within target"], rows),
        f"Whole course: **{total / 60:.1f} minutes** "
        f"({'within' if total <= COURSE_LIMIT_S else 'over'} the target).",
        "![Notebook run times](charts/notebook_times.png)",
    ])


if __name__ == "__main__":
    print(json.dumps(measure(Path(sys.argv[1]).resolve())))
