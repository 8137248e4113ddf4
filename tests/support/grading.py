"""Drive the real nbgrader command line on a scratch copy of the course."""

import hashlib
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

from nbgrader.api import Gradebook

from grader.course import DATA_FOLDER, ENV_BIN, env_path, write_scratch_config

from .paths import SOLUTIONS

BIN = ENV_BIN  # this environment's programs


def nbgrader(*args, cwd, timeout=1800):
    """Run ``nbgrader ARGS`` in ``cwd``; fail the test with its log if it fails."""
    env = dict(os.environ, PATH=env_path())
    proc = subprocess.run(
        [str(BIN / "nbgrader"), *args], cwd=cwd, env=env, capture_output=True, text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise AssertionError(f"nbgrader {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


class ScratchCourse:
    """A throw-away nbgrader course in ``root`` using the course's own config.

    Only the folder and the gradebook move to ``root``; every other setting
    comes from ``grader/nbgrader_config.py``.
    """

    def __init__(self, root, units, source=SOLUTIONS, config=""):
        """``source``: where the units' folders come from; ``config``: extra lines
        of nbgrader configuration (``c.X.y = ...``) for this scratch course."""
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.db = write_scratch_config(self.root, config)
        self.data = self.root / DATA_FOLDER  # gradebook, submissions, feedback, reports
        for unit in units:
            shutil.copytree(Path(source) / unit, self.root / "solutions" / unit)
            nbgrader("generate_assignment", unit, "--force", cwd=self.root)

    def grader(self, *args, timeout=1800, check=True, path=None):
        """Run ``python -m grader ARGS`` on this course; fail the test if it fails.
        ``path``: the PATH to run it with (default: the environment's, then the caller's)."""
        env = dict(os.environ, PATH=path or env_path())
        proc = subprocess.run(
            [sys.executable, "-m", "grader", "--root", str(self.root), *args], cwd=self.root,
            env=env, capture_output=True, text=True, timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"grader {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
        return proc

    def exercise(self, unit):
        """The student notebook nbgrader generated here for ``unit``."""
        return self.root / "exercises" / unit / f"{unit}.ipynb"

    def submit(self, student, unit, notebook, name=None):
        """Place ``notebook`` as ``student``'s submission of ``unit``."""
        folder = self.data / "submitted" / student / unit
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(notebook, folder / (name or f"{unit}.ipynb"))
        nbgrader("db", "student", "add", student, cwd=self.root)

    def autograde(self, unit, *extra):
        """Autograde every submission of ``unit`` (nbgrader's own, sequential run)."""
        return nbgrader("autograde", unit, "--force", *extra, cwd=self.root)

    def scores(self, unit):
        """{student: {grade_id: (score, max_score)}} read back from the gradebook."""
        out = {}
        with Gradebook(f"sqlite:///{self.db}") as gb:
            for sub in gb.assignment_submissions(unit):
                out[sub.student_id] = {
                    g.name: (g.score, g.max_score) for nb in sub.notebooks for g in nb.grades
                }
        return out


_EMPTY_GRADEBOOK = []


def new_gradebook(path):
    """An empty nbgrader gradebook at ``path``; returns its URL. Making one runs
    ``alembic heads`` in a subprocess (nbgrader's ``Gradebook``: seconds on a busy
    machine), so one is made per test process and copied."""
    if not _EMPTY_GRADEBOOK:
        template = Path(tempfile.mkdtemp(prefix="empty-gradebook-")) / "gradebook.db"
        Gradebook(f"sqlite:///{template}").close()
        _EMPTY_GRADEBOOK.append(template)
    shutil.copyfile(_EMPTY_GRADEBOOK[0], path)
    return f"sqlite:///{path}"


def record_unit(db_url, unit, tasks=(("double", 2.0), ("halve", 3.0)), notebook=None):
    """Record ``unit`` in the gradebook at ``db_url`` the way nbgrader's
    ``generate_assignment`` does, without any notebook: one notebook (default: named
    like the unit) with, per ``(task, points)``, a solution cell ``task`` and a test
    cell ``task_test`` worth ``points`` (with their source cells). For fast tests on a
    temporary SQLite gradebook."""
    notebook = notebook or unit
    with Gradebook(db_url) as gb:
        gb.update_or_create_assignment(unit)
        gb.update_or_create_notebook(notebook, unit)
        for task, points in tasks:
            gb.update_or_create_solution_cell(task, notebook, unit)
            gb.update_or_create_grade_cell(f"{task}_test", notebook, unit, max_score=points,
                                           cell_type="code")
            for name, source, locked in ((task, f"def {task}(x):\n    ...", False),
                                         (f"{task}_test", f"assert {task}(1)", True)):
                gb.update_or_create_source_cell(name, notebook, unit, source=source,
                                                cell_type="code", locked=locked)


def tree_state(folder, content=True):
    """{relative path: state} of everything under ``folder``, links not followed: a
    file's SHA-256 (or, with ``content=False``, its size, mode, mtime and ctime: any
    write changes the ctime), a link's target, a folder's mode."""
    folder = Path(folder)
    out = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            info = path.lstat()
            key = str(path.relative_to(folder))
            if stat.S_ISLNK(info.st_mode):
                out[key] = ("link", os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                out[key] = ("folder", info.st_mode)
            elif content:
                out[key] = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                out[key] = (info.st_size, info.st_mode, info.st_mtime_ns, info.st_ctime_ns)
    return out


SUBMISSION_TABLES = {"student", "submitted_assignment", "submitted_notebook", "grade",
                     "comment"}


def gradebook_definitions(db):
    """Every row of the gradebook's tables that describe the course (assignments,
    notebooks, cells and the stored test sources), and every manual grade."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        out = {t: sorted(map(repr, con.execute(f"SELECT * FROM {t}")))  # noqa: S608
               for t in tables if t not in SUBMISSION_TABLES}
        out["manual grades"] = sorted(map(repr, con.execute(
            "SELECT id, manual_score, extra_credit FROM grade WHERE manual_score IS NOT NULL "
            "OR extra_credit IS NOT NULL")))
        out["manual comments"] = sorted(map(repr, con.execute(
            "SELECT id, manual_comment FROM comment WHERE manual_comment IS NOT NULL")))
        return out
    finally:
        con.close()
