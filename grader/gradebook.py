"""Move autograde results between gradebooks, and read a gradebook back.

Parallel autograde never lets two processes write one SQLite file: each
submission is graded into a private copy of the gradebook (``extract``
reads what nbgrader wrote there), and the one owner process copies those
fields into the course gradebook (``merge``). The fields are exactly the ones
nbgrader's autograde writes: the submission's timestamp, each notebook's late
penalty, each grade's ``auto_score`` and ``needs_manual_grade`` and each
comment's ``auto_comment``. Manual scores and comments are never touched.
"""

from nbgrader.api import Gradebook, MissingEntry


def extract(db_url, unit, student):
    """What autograde wrote for one submission, as plain data."""
    with Gradebook(db_url) as gb:
        sub = gb.find_submission(unit, student)
        return {
            "timestamp": sub.timestamp,
            "notebooks": {
                nb.name: {
                    "late_submission_penalty": nb.late_submission_penalty,
                    "grades": {g.name: (g.auto_score, g.needs_manual_grade) for g in nb.grades},
                    "comments": {c.name: c.auto_comment for c in nb.comments},
                }
                for nb in sub.notebooks
            },
        }


def merge(gb, unit, student, data):
    """Write ``extract``'s data into the open gradebook ``gb``."""
    gb.update_or_create_student(student)
    sub = gb.update_or_create_submission(unit, student)
    sub.timestamp = data["timestamp"]
    for nb in sub.notebooks:
        got = data["notebooks"].get(nb.name)
        if got is None:
            continue
        nb.late_submission_penalty = got["late_submission_penalty"]
        for grade in nb.grades:
            grade.auto_score, grade.needs_manual_grade = got["grades"][grade.name]
        for comment in nb.comments:
            comment.auto_comment = got["comments"][comment.name]
    gb.db.commit()


def zero(gb, unit, student, reason, timestamp=None):
    """Record a submission that could not be graded: every grade zero, the reason
    as the comment of every answer cell, marked for a manual look."""
    gb.update_or_create_student(student)
    sub = gb.update_or_create_submission(unit, student)
    if timestamp is not None:
        sub.timestamp = timestamp
    for nb in sub.notebooks:
        nb.late_submission_penalty = None
        zero_notebook(nb, f"Not graded: {reason}")
    gb.db.commit()


def zero_notebook(notebook, comment):
    """Every grade of a submitted notebook zero and marked for a manual look, and
    ``comment`` as the comment of every answer cell (the caller commits)."""
    for grade in notebook.grades:
        grade.auto_score = 0.0
        grade.needs_manual_grade = True
    for answer in notebook.comments:
        answer.auto_comment = comment


def dump(db_url, units=None):
    """Everything a gradebook says about submissions, as comparable plain data:
    {(student, unit): {...}}. Used to compare runs (parallel vs sequential)."""
    out = {}
    with Gradebook(db_url) as gb:
        for assignment in gb.assignments:
            if units and assignment.name not in units:
                continue
            for sub in gb.assignment_submissions(assignment.name):
                out[(sub.student_id, assignment.name)] = {
                    "timestamp": sub.timestamp,
                    "notebooks": {
                        nb.name: {
                            "late": nb.late_submission_penalty,
                            "grades": {g.name: (g.auto_score, g.manual_score, g.extra_credit,
                                                g.needs_manual_grade) for g in nb.grades},
                            "comments": {c.name: (c.auto_comment, c.manual_comment)
                                         for c in nb.comments},
                        }
                        for nb in sub.notebooks
                    },
                }
    return out


def has_assignment(db_url, unit):
    with Gradebook(db_url) as gb:
        try:
            gb.find_assignment(unit)
        except MissingEntry:
            return False
        return True
