"""Drive the real nbgrader command line on a scratch copy of the course."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from nbgrader.api import Gradebook

from grader.course import write_scratch_config

from .paths import SOLUTIONS

BIN = Path(sys.executable).parent


def nbgrader(*args, cwd, timeout=1800):
    """Run ``nbgrader ARGS`` in ``cwd``; fail the test with its log if it fails."""
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
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
        for unit in units:
            shutil.copytree(Path(source) / unit, self.root / "solutions" / unit)
            nbgrader("generate_assignment", unit, "--force", cwd=self.root)

    def grader(self, *args, timeout=1800, check=True):
        """Run ``python -m grader ARGS`` on this course; fail the test if it fails."""
        env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
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
        folder = self.root / "grader" / "submitted" / student / unit
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
