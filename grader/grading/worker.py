"""One autograde worker: grades submissions into private copies of the gradebook.

Each task copies the gradebook snapshot the owner took before the run,
runs nbgrader's own ``Autograde`` converter (with the course's configuration,
so the same preprocessors as ``nbgrader autograde``) for one student against
that copy, reads back what it wrote, deletes the copy and returns the data.
Only the owner process ever writes the course gradebook.

Workers send their logs (and their kernels' stderr) to a log file, so that
the terminal shows only the owner's progress bar.
"""

import logging
import os
import shutil
import sys
from pathlib import Path

from nbgrader.converters import Autograde

from grader.course import Course
from grader.grading import gradebook, slots
from grader.preprocessors.kernel import LimitedKernelManager
from grader.reporting import records

_course = None


def start(root, log_path, overrides):
    """Process initializer: load the course once, route output to ``log_path``;
    take a free worker slot on this machine (``grader.grading.slots``)."""
    global _course
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    logger = logging.getLogger("traitlets")
    logger.setLevel(logging.INFO)
    logger.handlers[:] = [logging.StreamHandler(sys.stderr)]
    logger.propagate = False
    _course = Course(root)
    for section, values in overrides.items():
        for key, value in values.items():
            getattr(_course.config, section)[key] = value
    use_own_uid(_course.config)


def use_own_uid(config):
    """Make this process's kernels run as ``worker_uid_base`` + its slot."""
    # Worker k's kernels run as uid base + k: no two kernels that run at the same time
    # share a uid, so one's process limit (RLIMIT_NPROC counts per uid) never starves
    # another.
    base = worker_uid_base(config)
    config.LimitedKernelManager.uid = base + slots.claim(base)


def worker_uid_base(config):
    """The uid of worker 0's kernels (``c.LimitedKernelManager.worker_uid_base``)."""
    default = LimitedKernelManager.worker_uid_base.default_value
    return int(config.LimitedKernelManager.get("worker_uid_base", default))


def grade(unit, student, snapshot, scratch_dir):
    """Autograde ``student``'s submission of ``unit``; return what to merge."""
    return grade_in(_course, unit, student, snapshot, scratch_dir)


def grade_in(course, unit, student, snapshot, scratch_dir):
    """Autograde ``student``'s submission of ``unit`` in ``course`` against a private
    copy of the gradebook ``snapshot``; return what to merge (and nbgrader's log)."""
    scratch = Path(scratch_dir) / f"{student}.db"
    shutil.copyfile(snapshot, scratch)
    url = f"sqlite:///{scratch}"
    try:
        result = course.run_converter(Autograde, db_url=url, assignment_id=unit,
                                      student_id=student)
        out = {"student": student, "ok": result["success"], "error": result.get("error"),
               "data": None, "notes": records.graded_notes(course, unit, student),
               "log": result.get("log") or ""}
        if result["success"]:
            out["data"] = gradebook.extract(url, unit, student)
        return out
    finally:
        scratch.unlink(missing_ok=True)
