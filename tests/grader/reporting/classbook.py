"""A small class in a real nbgrader gradebook (SQLite, built with nbgrader.api), no kernels.

Two units: ``01_early`` (tests ``t_shape`` 2 points, ``t_value`` 1 point) and
``02_late`` (``t_sum`` 3 points, due later). Students:

- ``alice`` (Alice Smith, email): full marks in 01, 02 partly right and late
  (0.5 points taken off);
- ``bob`` (no name, no email): 01 not graded (no gradable notebook: a zero whose
  reason is in status.json, as autograde records it); nothing for 02;
- ``carol`` (Carol Doe, email): 01 fails ``t_shape`` with an AssertionError
  whose message the autograded notebook holds; 02 zero, failing ``t_sum``;
- ``dave`` (Dave Roe, email): submitted nothing.

Autograded notebooks hold the error outputs nbgrader's execution leaves in the
graded cells.
"""

import datetime
import shutil

import nbformat
from nbformat.v4 import new_code_cell, new_notebook, new_output
from nbgrader.api import Gradebook
from support.grading import new_gradebook

from grader.course import Course, write_scratch_config
from grader.reporting import records

UNITS = {"01_early": {"t_shape": 2.0, "t_value": 1.0}, "02_late": {"t_sum": 3.0}}
DUE = {"01_early": datetime.datetime(2026, 11, 2, 12), "02_late": datetime.datetime(2026, 11, 9)}
SUBMITTED = datetime.datetime(2026, 11, 1, 9, 30, 15, 123456)
BOB_REASON = "Not graded: 01_early.ipynb is not valid JSON"

# student: {unit: ({test: score}, late penalty, {test: [(ename, evalue)]})}
SCORES = {
    "alice": {"01_early": ({"t_shape": 2.0, "t_value": 1.0}, 0.0, {}),
              "02_late": ({"t_sum": 2.0}, 0.5, {"t_sum": [("AssertionError",
                                                           "sum: expected 6.0, got 5.0")]})},
    "bob": {"01_early": ({"t_shape": 0.0, "t_value": 0.0}, 0.0, {})},
    "carol": {"01_early": ({"t_shape": 0.0, "t_value": 1.0}, 0.0,
                           {"t_shape": [("AssertionError",
                                         "shape: expected (2, 3), got (3, 2)\nmore detail")]}),
              "02_late": ({"t_sum": 0.0}, 0.0, {"t_sum": [("NameError",
                                                           "name 'total' is not defined")]})},
}
PEOPLE = {"alice": ("Alice", "Smith", "alice@uni.example"), "bob": (None, None, None),
          "carol": ("Carol", "Doe", "carol@uni.example"),
          "dave": ("Dave", "Roe", "dave@uni.example")}


def autograded_notebook(unit, scores, errors):
    """An autograded notebook as nbgrader leaves it: graded cells with their outputs."""
    cells = []
    for test in UNITS[unit]:
        cell = new_code_cell(f"check_{test}()")
        cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True,
                                     "grade_id": test, "points": UNITS[unit][test],
                                     "schema_version": 3}
        cell.outputs = [new_output("error", ename=e, evalue=v, traceback=[f"{e}: {v}"])
                        for e, v in errors.get(test, [])]
        cells.append(cell)
    return new_notebook(cells=cells)


def build(root, template=None):
    """The class above, in a scratch course at ``root``; returns its Course.
    ``template``: a gradebook file ``build`` wrote before, copied instead of built again."""
    db = write_scratch_config(root)
    course = Course(root)
    if template:
        shutil.copyfile(template, db)
    else:
        fill_gradebook(new_gradebook(db))
    for student, units in SCORES.items():
        for unit, (scores, _, errors) in units.items():
            folder = course.folder("autograded", student, unit)
            folder.mkdir(parents=True, exist_ok=True)
            nbformat.write(autograded_notebook(unit, scores, errors), str(folder / f"{unit}.ipynb"))
    records.update(course.root, "01_early", "status.json", {
        "alice": {"status": "graded", "notes": []},
        "bob": {"status": "not graded",
                "notes": [{"severity": "zero", "kind": "intake", "text": BOB_REASON}]},
        "carol": {"status": "graded", "notes": [{"severity": "info", "kind": "repair",
                                                 "text": "a deleted cell was put back"}]},
    })
    return course


def fill_gradebook(db_url):
    """Put the units, students and submissions above into the gradebook at ``db_url``."""
    with Gradebook(db_url) as gb:
        for unit, tests in UNITS.items():
            gb.add_assignment(unit, duedate=DUE[unit])
            gb.add_notebook(unit, unit)
            for test, points in tests.items():
                gb.add_grade_cell(test, unit, unit, max_score=points, cell_type="code")
        for student, (first, last, email) in PEOPLE.items():
            gb.add_student(student, first_name=first, last_name=last, email=email)
        for student, units in SCORES.items():
            for unit, (scores, penalty, _) in units.items():
                gb.add_submission(unit, student, timestamp=SUBMITTED)
                for test, score in scores.items():
                    gb.find_grade(test, unit, unit, student).auto_score = score
                gb.find_submission_notebook(unit, unit, student).late_submission_penalty = penalty
                gb.db.commit()
