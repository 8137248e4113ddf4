"""Autograde every submission of a unit with K worker processes.

nbgrader grades one submission after another (its issue #174) and its
gradebook is one SQLite file that only one writer may use at a time. Here
the calling process is the *owner*:

1. it checks every submission folder (``grader.intake.triage``): a missing, empty
   or unreadable notebook is not sent to a kernel but recorded at once with
   a zero and the reason;
2. it takes a snapshot of the course gradebook;
3. K worker processes (``grader.grading.worker``) each grade one submission at a
   time with nbgrader's own ``Autograde`` into a private copy of that
   snapshot and return what nbgrader wrote;
4. the owner alone writes those results into the course gradebook, as they
   arrive (an interrupted run keeps what finished).

Every submission is graded from the same snapshot by the same code as a
sequential ``nbgrader autograde``, so the gradebook ends up the same whatever
K is. The notes of every submission go to ``instructor-data/reports/<unit>/status.json``.
"""

import json
import multiprocessing
import os
import shutil
import sqlite3
import sys
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.api import Gradebook
from sqlalchemy.exc import SAWarning
from tqdm import tqdm

from grader import generate
from grader.course import STUDENT_ID
from grader.grading import gradebook, sandbox, worker
from grader.intake import triage
from grader.reporting import records


@dataclass
class Outcome:
    """What happened to one submission."""

    student: str
    status: str  # "graded", "not graded" (zero with a reason) or "error" (grader failure)
    notes: list = field(default_factory=list)


def cores():
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def check(course, unit, student):
    """Why the submission cannot be graded (None if it can)."""
    if not STUDENT_ID.match(student):
        return f"the student id {student!r} is not a plain name nbgrader can grade"
    folder = course.folder("submitted", student, unit)
    linked = triage.links(folder)
    if linked:
        return ("the submission holds links, which are never followed: "
                + ", ".join(linked[:5]))
    for name in course.notebook_names(unit):
        path = folder / f"{name}.ipynb"
        if not path.is_file():
            return f"the submission has no {name}.ipynb"
        reason = triage.problem(path)
        if reason:
            return f"{name}.ipynb {reason}"
    return None


CODE_FILES = (".py", ".pth", ".so", ".pyc")


def shipped_code(course, unit, student):
    """A note when the submission ships Python files (never importable while grading:
    the kernels keep the student's folder off sys.path), else None."""
    folder = course.folder("submitted", student, unit)
    found = sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                   if p.is_file() and p.suffix in CODE_FILES)
    if not found:
        return None
    return {"severity": "review", "kind": "submission",
            "text": "the submission also holds Python code, which grading ignores: "
                    + ", ".join(found[:10])}


def refuse_without_sandbox(course, overrides=None):
    """Raise RuntimeError, saying why and what to do, when kernels are to be
    sandboxed (the default) but the sandbox cannot start here."""
    wanted = (overrides or {}).get("LimitedKernelManager", {}).get(
        "sandbox", course.config.LimitedKernelManager.get("sandbox", True))
    reason = sandbox.available() if wanted else None
    if reason is not None:
        raise RuntimeError(f"refusing to grade: every grading kernel runs in a sandbox, and it "
                           f"cannot start here ({reason}); {sandbox.INSTALL_HINT}")


def _snapshot(db_url, dest):
    """A consistent copy of the SQLite gradebook ``db_url`` at ``dest``."""
    src = sqlite3.connect(db_url.removeprefix("sqlite:///"))
    dst = sqlite3.connect(dest)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    return dest


def _timestamp(course, unit, student):
    return course.coursedir.get_existing_timestamp(str(course.folder("submitted", student, unit)))


def _clear_outputs(course, unit, student):
    for kind in ("autograded", "feedback"):
        shutil.rmtree(course.folder(kind, student, unit), ignore_errors=True)


def autograde(course, unit, workers=None, students=None, overrides=None, progress=None,
              scheduler=None):
    """Grade ``students`` (default: every submission) of ``unit``; return the Outcomes.
    ``scheduler``: the address of a Dask scheduler to grade on its workers
    (``grader.grading.cluster``) instead of ``workers`` local processes."""
    # nbgrader's gradebook code trips SQLAlchemy 2's autoflush warnings; they are harmless.
    warnings.filterwarnings("ignore", category=SAWarning)
    if scheduler is None:  # on a cluster, each worker checks its own sandbox
        refuse_without_sandbox(course, overrides)
    generate.ensure_registered(course, unit)
    students = sorted(students or course.submitted_students(unit))
    collected = records.read(course.root, unit, "collect.json")
    outcomes, todo = {}, []
    with Gradebook(course.db_url) as gb:
        for student in students:
            reason = check(course, unit, student)
            if reason is None:
                todo.append(student)
                continue
            if STUDENT_ID.match(student):
                gradebook.zero(gb, unit, student, reason, _timestamp(course, unit, student))
                _clear_outputs(course, unit, student)
            stated = any(n["severity"] == "zero"
                         for n in collected.get(student, {}).get("notes", []))
            outcomes[student] = Outcome(student, "not graded", [] if stated else [
                {"severity": "zero", "kind": "submission", "text": reason}])
    reports = course.reports / unit
    reports.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="scratch-", dir=reports))
    bar = tqdm(total=len(students), initial=len(outcomes), desc=f"autograde {unit}",
               unit="submission", disable=None if progress is None else not progress)
    started = time.perf_counter()
    timing = Timing()
    try:
        if todo and scheduler:
            _grade_on_cluster(course, unit, todo, scheduler, overrides, scratch, outcomes, bar,
                              timing)
        elif todo:
            _grade(course, unit, todo, workers, overrides, scratch, outcomes, bar, timing)
    finally:
        bar.close()
        shutil.rmtree(scratch, ignore_errors=True)
    for student, outcome in outcomes.items():
        shipped = shipped_code(course, unit, student) if STUDENT_ID.match(student) else None
        outcome.notes = (collected.get(student, {}).get("notes", []) + outcome.notes
                         + ([shipped] if shipped else []))
    records.update(course.root, unit, "status.json", {
        s: {"status": o.status, "notes": o.notes} for s, o in outcomes.items()})
    timing.write(reports / "timing.json", time.perf_counter() - started, len(todo),
                 scheduler or f"{workers or cores()} local workers")
    return [outcomes[s] for s in students]


class Timing:
    """How long the owner spent merging results (validating, writing the gradebook and
    the autograded files): what bounds how many submissions one owner can absorb."""

    def __init__(self):
        self.merges = []

    def timed(self, record, *args):
        start = time.perf_counter()
        try:
            return record(*args)
        finally:
            self.merges.append(time.perf_counter() - start)

    def write(self, path, seconds, graded, where):
        merges = sorted(self.merges)
        path.write_text(json.dumps({
            "graded on": where, "submissions graded": graded, "seconds": round(seconds, 3),
            "merges": len(merges),
            "merge ms mean": round(1000 * sum(merges) / len(merges), 3) if merges else None,
            "merge ms median": round(1000 * merges[len(merges) // 2], 3) if merges else None,
        }, indent=1) + "\n")


def _grade_on_cluster(course, unit, todo, scheduler, overrides, scratch, outcomes, bar, timing):
    """Grade ``todo`` on the Dask cluster at ``scheduler``; merge each result as it arrives;
    name every retry (a worker died while grading) in the submission's notes."""
    from grader.grading import cluster

    snapshot = _snapshot(course.db_url, scratch / "snapshot.db")
    log = course.reports / unit / "autograde.log"
    log.write_text("")

    def say(line):
        bar.write(line, file=sys.stderr)
        with open(log, "a") as fh:
            fh.write(line + "\n")

    with Gradebook(course.db_url) as gb:
        def merge(student, result):
            with open(log, "a") as fh:
                fh.write(f"--- {student}, graded on {result.get('worker', '?')} ---\n"
                         f"{str(result.get('log') or result.get('error') or '')[-100_000:]}\n")
            outcomes[student] = timing.timed(_record, gb, course, unit, student, result,
                                             result.get("files", {}))
            bar.update()

        retried = cluster.grade(course, unit, todo, scheduler, overrides, snapshot, merge, say)
    for student, where in sorted(retried.items()):
        text = (f"graded again: {len(where) - 1} worker(s) died while grading it "
                f"({', '.join(where[:-1])}); the result is from {where[-1]}")
        outcomes[student].notes.append({"severity": "info", "kind": "grader", "text": text})
        say(f"{student}: {text}")


def _grade(course, unit, todo, workers, overrides, scratch, outcomes, bar, timing):
    """Grade ``todo`` in worker processes; merge each result as it arrives.

    Student code runs in kernels, not in the workers, but should a worker
    process die anyway (the pool then fails every task it still held), the
    unfinished submissions are graded again one at a time, each in a fresh
    worker, so that only a submission that kills its worker again is lost."""
    snapshot = _snapshot(course.db_url, scratch / "snapshot.db")
    log = course.reports / unit / "autograde.log"
    log.write_text("")
    args = (course, unit, snapshot, scratch, log, overrides or {}, outcomes, bar, timing)
    broken = _pool(todo, max(1, min(workers or cores(), len(todo))), *args)
    for student in broken:
        if _pool([student], 1, *args):
            with Gradebook(course.db_url) as gb:
                outcomes[student] = _error(gb, course, unit, student, "its worker process died")
            bar.update()


def _pool(students, k, course, unit, snapshot, scratch, log, overrides, outcomes, bar, timing):
    """Grade ``students`` with ``k`` workers; return those lost to a dead worker."""
    context = multiprocessing.get_context("spawn")
    broken = []
    with ProcessPoolExecutor(k, mp_context=context, initializer=worker.start,
                             initargs=(str(course.root), str(log), overrides)) as pool:
        futures = {pool.submit(worker.grade, unit, s, str(snapshot), str(scratch)): s
                   for s in students}
        with Gradebook(course.db_url) as gb:
            for future in as_completed(futures):
                student = futures[future]
                if isinstance(future.exception(), BrokenProcessPool):
                    broken.append(student)
                    continue
                outcomes[student] = timing.timed(_record, gb, course, unit, student,
                                                 _result(future))
                bar.update()
    return sorted(broken)


def _result(future):
    try:
        return future.result()
    except Exception as exc:  # the worker process itself failed
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}", "notes": [], "data": None}


def _record(gb, course, unit, student, result, files=None):
    """Check one worker's ``result`` and merge it (``files``: the autograded folder a
    cluster worker sent back, written here); return the Outcome."""
    try:
        result = valid_result(gb, unit, student, result)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        result = {"ok": False, "error": f"its worker returned an invalid result ({exc})",
                  "notes": [], "data": None}
    if result["ok"] and result["data"] is not None and files is not None:
        try:
            _write_autograded(course, unit, student, files)
        except (ValueError, TypeError, AttributeError, OSError) as exc:
            result = {"ok": False, "error": f"its worker returned unusable files ({exc})",
                      "notes": result["notes"], "data": None}
    if result["ok"] and result["data"] is not None:
        gradebook.merge(gb, unit, student, result["data"])
        return Outcome(student, "graded", result["notes"])
    last = (result.get("error") or "unknown error").strip().splitlines()[-1]
    return _error(gb, course, unit, student, last, result["notes"])


def _write_autograded(course, unit, student, files):
    """Put a cluster worker's autograded folder ({relative path: bytes}) in place."""
    from grader.grading import remote

    if not isinstance(files, dict) or not all(
            isinstance(k, str) and isinstance(v, bytes) for k, v in files.items()):
        raise ValueError("not a folder of files")
    if sum(map(len, files.values())) > remote.MAX_RETURNED_BYTES:
        raise ValueError("more than the autograded folder may hold")
    _clear_outputs(course, unit, student)
    folder = course.folder("autograded", student, unit)
    folder.mkdir(parents=True)
    remote.write_files(folder, files)


def _error(gb, course, unit, student, why, notes=()):
    """Record a submission the grader itself failed on: a zero, with the reason."""
    reason = f"the autograder failed on this submission ({why}); see instructor-data/reports/" \
             f"{unit}/autograde.log"
    gradebook.zero(gb, unit, student, reason, _timestamp(course, unit, student))
    _clear_outputs(course, unit, student)
    return Outcome(student, "error", [*notes, {"severity": "zero", "kind": "grader",
                                               "text": reason}])


def valid_result(gb, unit, student, result):
    """The worker's ``result`` checked field by field against the gradebook (the only
    thing the owner takes from grading): raises ValueError when anything is off."""
    if not isinstance(result, dict) or result.get("student") not in (student, None):
        raise ValueError("not a result for this submission")
    out = {"ok": bool(result.get("ok")), "error": str(result.get("error") or "")[:2000],
           "notes": gradebook.valid_notes(result.get("notes")), "data": None}
    if out["ok"] and result.get("data") is not None:
        out["data"] = gradebook.valid_data(gb, unit, result["data"])
    return out
