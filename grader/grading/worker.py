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
from grader.grading import gradebook
from grader.preprocessors.kernel import LimitedKernelManager
from grader.reporting import records

_course = None


def start(root, log_path, overrides, slots=None):
    """Process initializer: load the course once, route output to ``log_path``;
    take the next worker slot from the shared counter ``slots``."""
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
    if slots is not None:
        with slots.get_lock():
            slot = slots.value
            slots.value += 1
        # Worker k's kernels run as uid base + k: no two kernels that run at the same time
        # share a uid, so one's process limit (RLIMIT_NPROC counts per uid) never starves
        # another.
        _course.config.LimitedKernelManager.uid = worker_uid_base(_course.config) + slot


def worker_uid_base(config):
    """The uid of worker 0's kernels (``c.LimitedKernelManager.worker_uid_base``)."""
    default = LimitedKernelManager.worker_uid_base.default_value
    return int(config.LimitedKernelManager.get("worker_uid_base", default))


def grade(unit, student, snapshot, scratch_dir):
    """Autograde ``student``'s submission of ``unit``; return what to merge."""
    scratch = Path(scratch_dir) / f"{student}.db"
    shutil.copyfile(snapshot, scratch)
    url = f"sqlite:///{scratch}"
    try:
        result = _course.run_converter(Autograde, db_url=url, assignment_id=unit,
                                       student_id=student)
        out = {"student": student, "ok": result["success"], "error": result.get("error"),
               "data": None, "notes": records.graded_notes(_course, unit, student)}
        if result["success"]:
            out["data"] = gradebook.extract(url, unit, student)
        return out
    finally:
        scratch.unlink(missing_ok=True)
