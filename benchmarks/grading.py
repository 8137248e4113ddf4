"""Grading throughput: one batch graded sequentially, by K local workers and on a Dask cluster.

12 synthetic submissions of unit 01_tensors (a third perfect, a third partly
right, a third blank) are graded three times, each in a fresh scratch course,
with the instructor's command ``python -m grader autograde``: ``--workers 1``,
``--workers K`` (K = the cores) and ``--scheduler`` on a two-worker Dask cluster
started here from the command line (``dask scheduler``, ``dask worker`` in
their own copy of the course). The three gradebooks must be identical (every
score, comment, flag and timestamp). Each run's ``timing.json`` gives the
owner's merge time per submission, from which follows the most submissions
per minute one owner can absorb, however many machines grade.
"""

import json
import os
import shutil
import socket
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


class DaskCluster:
    """``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1, the workers
    started in ``course`` (their own copy of the course)."""

    def __init__(self, course, logs, workers=2):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.address = f"tcp://127.0.0.1:{port}"
        dask = str(Path(sys.executable).parent / "dask")
        start = time.perf_counter()
        self.procs = [self._start([dask, "scheduler", "--host", "127.0.0.1", "--port",
                                   str(port), "--no-dashboard"], logs / "scheduler.log", logs)]
        for i in range(workers):
            self.procs.append(self._start(
                [dask, "worker", self.address, "--nworkers", "1", "--nthreads", "1",
                 "--no-dashboard"], logs / f"worker{i}.log", course))
        from distributed import Client

        with Client(self.address, timeout="60s") as client:
            client.wait_for_workers(workers, timeout=300)
        self.start_seconds = time.perf_counter() - start

    @staticmethod
    def _start(cmd, log, cwd):
        with open(log, "w") as fh:
            return subprocess.Popen(cmd, cwd=cwd, stdout=fh, stderr=subprocess.STDOUT,
                                    env=dict(os.environ, PATH=env_path()))

    def stop(self):
        for proc in reversed(self.procs):
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


def worker_clone(course, dest):
    """What a worker machine has: the course (config, solutions, exercises), no data."""
    dest.mkdir()
    write_scratch_config(dest)
    for folder in ("solutions", "exercises"):
        shutil.copytree(course / folder, dest / folder)
    return dest


def dump(course):
    from grader.grading import gradebook

    return gradebook.dump(f"sqlite:///{course / DATA_FOLDER / 'gradebook.db'}", [UNIT])


def run(quick, out, root):
    import matplotlib.pyplot as plt

    n = 3 if quick else 12
    workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 2
    ways = {"sequential (1 local worker)": ["--workers", "1"],
            f"{workers} local workers": ["--workers", str(workers)],
            "Dask cluster, 2 workers": None}
    results, load = {}, []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cluster = None
        try:
            for i, (way, args) in enumerate(ways.items()):
                course = tmp / f"way{i}"
                make_course(course, root, n)
                if args is None:
                    (tmp / "logs").mkdir()
                    cluster = DaskCluster(worker_clone(course, tmp / "worker-course"),
                                          tmp / "logs")
                    args = ["--scheduler", cluster.address]
                load.append(os.getloadavg()[0])
                start = time.perf_counter()
                grader(course, "autograde", UNIT, *args)
                seconds = time.perf_counter() - start
                timing = json.loads((course / DATA_FOLDER / "reports" / UNIT /
                                     "timing.json").read_text())
                results[way] = (seconds, dump(course), timing)
        finally:
            if cluster is not None:
                cluster.stop()
    (t1, g1, _), *_ = results.values()
    assert all(g == g1 for _, g, _ in results.values()), "every way must give one gradebook"
    assert len(g1) == n
    merge_ms = max(timing["merge ms mean"] for _, _, timing in results.values())
    ceiling = 60_000 / merge_ms
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.bar([w.replace(" (", "\n(") for w in results], [n / t * 60 for t, _, _ in results.values()])
    ax.set_ylabel("submissions per minute")
    ax.set_title(f"Grading {n} submissions of {UNIT}")
    fig.tight_layout()
    fig.savefig(out / "grading_throughput.png", dpi=100)
    rows = [[way, f"{t:.0f}", f"{n / t * 60:.1f}", f"{t1 / t:.2f}×",
             f"{timing['merge ms mean']:.1f}"] for way, (t, _, timing) in results.items()]
    return "\n\n".join([
        "## 4. Grading throughput",
        f"{n} synthetic submissions of `{UNIT}` (a third perfect, a third partly right, a third "
        "blank), each way in a fresh scratch course, graded with "
        f"`python -m grader autograde {UNIT}` and `--workers 1`, `--workers {workers}` or "
        "`--scheduler ADDRESS` on a Dask cluster of two `dask worker` processes (one thread "
        "each) started on this machine in their own copy of the course "
        f"({cluster.start_seconds:.0f} s to start, not counted). The three gradebooks are "
        f"identical: every score, comment, flag and timestamp of the {n} submissions. "
        "Load average (1 min) at the start of each run: "
        + ", ".join(f"{x:.1f}" for x in load) + " (the machine is shared).",
        table(["how", "seconds", "submissions per minute", "speed-up", "owner's merge, ms "
               "per submission"], rows),
        f"**The owner's ceiling.** However many machines grade, one owner process validates "
        "each result and writes it into the gradebook and the autograded folder, one after "
        f"another: {merge_ms:.0f} ms per submission here at most (the slowest of the three "
        "runs' means, taken on the same cores as the grading, so they include waiting for "
        "them; on a cluster the Dask client's threads also share the owner's process), so "
        "one owner "
        f"absorbs at most about **{ceiling:,.0f} submissions per minute**. That is the limit "
        f"past which more machines stop helping: about {ceiling / (n / t1 * 60):,.0f} workers "
        f"grading this unit at the {n / t1 * 60:.1f} submissions per minute one worker "
        f"manages here, or about {ceiling / 2.2:,.0f} workers for the units that train "
        "(25-30 s a submission).",
        "![Grading throughput](charts/grading_throughput.png)",
    ])
