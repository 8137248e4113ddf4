"""Grading throughput: the same batch autograded with 1 worker and with K workers.

24 synthetic submissions of unit 01_tensors (a third perfect, a third partly
right, a third blank) are graded twice in fresh scratch courses with the
instructor's command ``python -m grader autograde``; the two gradebooks must
hold the same scores.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from benchmarks.machine import table
from grader.course import DATA_FOLDER, env_path, write_scratch_config

UNIT = "01_tensors"


def partly_right(solution, exercise):
    """The solution with every other task left as the student's stub."""
    sol, ex = nbformat.read(solution, 4), nbformat.read(exercise, 4)
    stubs = {c.metadata["nbgrader"]["grade_id"]: c.source for c in ex.cells
             if c.metadata.get("nbgrader", {}).get("solution")}
    tasks = [c for c in sol.cells if c.metadata.get("nbgrader", {}).get("solution")]
    for cell in tasks[::2]:
        cell.source = stubs[cell.metadata["nbgrader"]["grade_id"]]
    return sol


def make_course(root, repo, n):
    """A scratch course at ``root`` with ``n`` submissions of UNIT."""
    root.mkdir(parents=True)
    write_scratch_config(root)
    shutil.copytree(repo / "solutions" / UNIT, root / "solutions" / UNIT)
    grader(root, "generate", UNIT)
    solution = repo / "solutions" / UNIT / f"{UNIT}.ipynb"
    exercise = repo / "exercises" / UNIT / f"{UNIT}.ipynb"
    partial = partly_right(solution, exercise)
    for i in range(n):
        folder = root / "instructor-data" / "submitted" / f"student{i:02d}" / UNIT
        folder.mkdir(parents=True)
        kind = ("perfect", "partial", "blank")[i % 3]
        if kind == "partial":
            nbformat.write(partial, folder / f"{UNIT}.ipynb")
        else:
            shutil.copyfile(solution if kind == "perfect" else exercise,
                            folder / f"{UNIT}.ipynb")


def grader(root, *args):
    env = dict(os.environ, PATH=env_path())
    proc = subprocess.run([sys.executable, "-m", "grader", "--root", str(root), *args],
                          capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"grader {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def scores(root):
    """(student, cell, auto score) of every grade in the scratch gradebook, sorted."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / DATA_FOLDER / 'gradebook.db'}") as gb:
        return sorted((sub.student_id, g.name, g.auto_score)
                      for sub in gb.assignment_submissions(UNIT)
                      for nb in sub.notebooks for g in nb.grades)


def run(quick, out, root):
    import matplotlib.pyplot as plt

    n = 4 if quick else 24
    workers = os.cpu_count() or 2

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for k in (1, workers):
            course = Path(tmp) / f"k{k}"
            make_course(course, root, n)
            start = time.perf_counter()
            grader(course, "autograde", UNIT, "--workers", str(k))
            results[k] = (time.perf_counter() - start, scores(course))
    (t1, s1), (tk, sk) = results[1], results[workers]
    assert s1 == sk, "parallel autograde must give the sequential gradebook"
    assert len(s1) > 0
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.bar(["1 worker", f"{workers} workers"], [n / t1 * 60, n / tk * 60])
    ax.set_xlabel("autograde")
    ax.set_ylabel("submissions per minute")
    ax.set_title(f"Grading {n} submissions of {UNIT}")
    fig.tight_layout()
    fig.savefig(out / "grading_throughput.png", dpi=100)
    return "\n\n".join([
        "## 4. Grading throughput",
        f"{n} synthetic submissions of `{UNIT}` (a third perfect, a third partly right, a third "
        "blank), each batch in a fresh scratch course, graded with "
        f"`python -m grader autograde {UNIT} --workers K`. Both runs gave the same "
        f"{len(s1)} scores in the gradebook.",
        table(["workers", "seconds", "submissions per minute"],
              [[1, f"{t1:.0f}", f"{n / t1 * 60:.1f}"],
               [workers, f"{tk:.0f}", f"{n / tk * 60:.1f}"]]),
        f"Speed-up with {workers} workers on {workers} cores: **{t1 / tk:.2f}×** "
        f"(target: close to {workers}).",
        "![Grading throughput](charts/grading_throughput.png)",
    ])
