"""grades.csv: nbgrader's own export columns, then what the course adds.

One row per unit and student, in nbgrader's order (units by due date and
name, students by last and first name, as ``Gradebook.assignments`` and
``Gradebook.students`` list them), with nbgrader's columns first, named,
ordered and formatted exactly as ``nbgrader.plugins.export.CsvExportPlugin``
(nbgrader 0.9) writes them::

    assignment, duedate, timestamp, student_id, last_name, first_name, email,
    raw_score, late_submission_penalty, score, max_score

so any script written for ``nbgrader export`` reads this file unchanged. Then
the course's columns: ``status`` (``graded``; ``zeroed``: graded, but the
score was set to zero because the notebook tampered with the tests; ``not
graded``: no gradable notebook, a zero; ``error``: the grader failed, a zero;
``not submitted``), ``needs_review`` (``yes``/``no``: should a person look?)
and ``reasons`` (why, ``; ``-separated). A student who did not submit gets
nbgrader's zero row with status ``not submitted``.

``GradesCsvExportPlugin`` is the export plugin the course configuration makes
``nbgrader export``'s default; ``python -m grader export`` writes the same file.
"""

import csv
from pathlib import Path

from nbgrader.api import MissingEntry
from nbgrader.plugins import ExportPlugin

from grader.course import Course
from grader.reporting import records
from grader.reporting.escape import csv_row

NBGRADER_COLUMNS = ["assignment", "duedate", "timestamp", "student_id", "last_name",
                    "first_name", "email", "raw_score", "late_submission_penalty", "score",
                    "max_score"]
COURSE_COLUMNS = ["status", "needs_review", "reasons"]
COLUMNS = NBGRADER_COLUMNS + COURSE_COLUMNS


def _text(value):
    """A value as nbgrader's CsvExportPlugin writes it: None is empty, the rest ``str``."""
    return "" if value is None else str(value)


def check_names(gb, units=None, students=None):
    """Raise ``ValueError`` naming any of ``units`` or ``students`` the gradebook lacks."""
    for kind, asked, known in (("unit", units, [a.name for a in gb.assignments]),
                               ("student", students, [s.id for s in gb.students])):
        missing = [x for x in asked or [] if x not in known]
        if missing:
            raise ValueError(f"the gradebook has no {kind} {', '.join(missing)} (it has: "
                             f"{', '.join(known) or 'none'}); check the name, or run "
                             f"`python -m grader {'generate' if kind == 'unit' else 'roster'}`")


def rows(course, gb, units=None, students=None):
    """The rows of grades.csv as dicts of strings (keys ``COLUMNS``), in nbgrader's order;
    ``units``/``students``: only these (default: all in the gradebook)."""
    check_names(gb, units, students)
    out = []
    for assignment in gb.assignments:
        if units and assignment.name not in units:
            continue
        for student in gb.students:
            if students and student.id not in students:
                continue
            row = {"assignment": assignment.name, "duedate": _text(assignment.duedate),
                   "student_id": student.id, "last_name": _text(student.last_name),
                   "first_name": _text(student.first_name), "email": _text(student.email),
                   "max_score": _text(assignment.max_score)}
            try:
                sub = gb.find_submission(assignment.name, student.id)
            except MissingEntry:
                row.update(timestamp="", raw_score=_text(0.0), late_submission_penalty=_text(0.0),
                           score=_text(0.0), status="not submitted", needs_review="no",
                           reasons="")
            else:
                penalty = sub.late_submission_penalty
                row.update(timestamp=_text(sub.timestamp), raw_score=_text(sub.score),
                           late_submission_penalty=_text(penalty),
                           score=_text(max(0.0, sub.score - (penalty or 0.0))))
                row.update(_course_columns(course, assignment.name, student.id))
            out.append(row)
    return out


def _course_columns(course, unit, student):
    record = records.status(course, unit, student)
    serious = [n for n in record["notes"] if n["severity"] in ("zero", "review")]
    status = record["status"] if record["status"] != "unknown" else "graded"
    if status == "graded" and any(n["severity"] == "zero" for n in serious):
        status = "zeroed"
    return {"status": status, "needs_review": "yes" if serious else "no",
            "reasons": "; ".join(n["text"] for n in serious)}


def write_csv(path, table, columns=COLUMNS):
    """Write ``table`` (dicts) to ``path`` as CSV with the header ``columns``, every cell
    safe to open in a spreadsheet (``grader.reporting.escape.csv_cell``)."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(csv_row(row) for row in table)


class GradesCsvExportPlugin(ExportPlugin):
    """``nbgrader export`` plugin writing the course's grades.csv (``--to`` names the file;
    ``--assignment`` and ``--student`` select rows, as for nbgrader's own CSV export)."""

    def export(self, gradebook):
        """Write grades.csv for ``gradebook`` (called by nbgrader's ExportApp)."""
        course = Course(Path(self.parent.coursedir.root) if self.parent else None)
        dest = self.to or "grades.csv"
        write_csv(dest, rows(course, gradebook, [str(a) for a in self.assignment],
                             [str(s) for s in self.student]))
        self.log.info("Grades written to %s", dest)
