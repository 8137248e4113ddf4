"""Move autograde results between gradebooks, and read a gradebook back.

Parallel autograde never lets two processes write one SQLite file: each
submission is graded into a private copy of the gradebook (``extract``
reads what nbgrader wrote there), and the one owner process copies those
fields into the course gradebook (``merge``). The fields are exactly the ones
nbgrader's autograde writes: the submission's timestamp, each notebook's late
penalty, each grade's ``auto_score`` and ``needs_manual_grade`` and each
comment's ``auto_comment``. Manual scores and comments are never touched.
"""

import datetime
import math

from nbgrader.api import Gradebook, MissingEntry

from grader.reporting.notes import SEVERITIES

MAX_TEXT = 10_000  # characters of one comment or note


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
    """Whether the gradebook at ``db_url`` holds the assignment ``unit``."""
    with Gradebook(db_url) as gb:
        try:
            gb.find_assignment(unit)
        except MissingEntry:
            return False
        return True


def valid_data(gb, unit, data):
    """``extract``'s data, checked against what the gradebook knows of ``unit``: the
    same notebooks, grades and comments, scores within their cell's points, plain
    types. Returns a clean copy; raises ValueError naming the first problem."""
    if not isinstance(data, dict) or not isinstance(data.get("notebooks"), dict):
        raise ValueError("no notebooks")
    stamp = data.get("timestamp")
    if stamp is not None and not isinstance(stamp, datetime.datetime):
        raise ValueError("a timestamp that is not a date")
    known = {nb.name: nb for nb in gb.find_assignment(unit).notebooks}
    if not set(data["notebooks"]) <= set(known):
        raise ValueError(f"unknown notebooks {sorted(set(data['notebooks']) - set(known))}")
    clean = {"timestamp": stamp, "notebooks": {}}
    for name, got in data["notebooks"].items():
        cells = known[name]
        points = {c.name: c.max_score for c in [*cells.grade_cells, *cells.task_cells]}
        answers = {c.name for c in [*cells.solution_cells, *cells.task_cells]}
        grades, comments = got.get("grades"), got.get("comments")
        if not isinstance(grades, dict) or set(grades) != set(points):
            raise ValueError(f"{name}: grades are not the notebook's graded cells")
        if not isinstance(comments, dict) or set(comments) != answers:
            raise ValueError(f"{name}: comments are not the notebook's answer cells")
        late = got.get("late_submission_penalty")
        if late is not None and not _number(late, 0, math.inf):
            raise ValueError(f"{name}: late penalty {late!r}")
        for cell, value in grades.items():
            score, manual = value
            if score is not None and not _number(score, 0, points[cell]):
                raise ValueError(f"{name}: score {score!r} of {cell} is outside 0..{points[cell]}")
            if not isinstance(manual, bool):
                raise ValueError(f"{name}: needs_manual_grade of {cell} is not a bool")
        for cell, text in comments.items():
            if text is not None and not isinstance(text, str):
                raise ValueError(f"{name}: comment of {cell} is not text")
        clean["notebooks"][name] = {
            "late_submission_penalty": None if late is None else float(late),
            "grades": {c: (None if s is None else float(s), m) for c, (s, m) in grades.items()},
            "comments": {c: None if t is None else t[:MAX_TEXT] for c, t in comments.items()},
        }
    return clean


def valid_notes(found):
    """A worker's notes as plain, bounded dicts (severities as in grader.notes)."""
    if not isinstance(found, list):
        raise ValueError("notes are not a list")
    out = []
    for note in found[:200]:
        if not isinstance(note, dict) or note.get("severity") not in SEVERITIES:
            raise ValueError(f"a note {note!r:.80}")
        out.append({"severity": note["severity"], "kind": str(note.get("kind", ""))[:40],
                    "text": str(note.get("text", ""))[:MAX_TEXT]})
    return out


def _number(value, low, high):
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value) and low <= value <= high)
