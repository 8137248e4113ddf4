"""Grades as CSV: one row per student and unit, then one total row per student.

``GradesCsv`` is an nbgrader export plugin (the course configuration makes it
``nbgrader export``'s default), so the rows come straight from the gradebook.
Columns: ``student_id, unit, status, score, max_score, timestamp,
late_penalty, needs_review, reasons``. ``status`` is ``graded``, ``zeroed``
(graded, but the score was set to zero: the notebook tampered with the
tests), ``not graded`` (no gradable notebook: a zero), ``error`` (the grader
failed: a zero) or ``not submitted``; ``needs_review`` says whether a person
should look and ``reasons`` says why. A ``TOTAL`` row per student sums the units.
"""

import csv
from pathlib import Path

from nbgrader.api import MissingEntry
from nbgrader.plugins import ExportPlugin

from grader.course import Course
from grader.reporting import records

COLUMNS = ["student_id", "unit", "status", "score", "max_score", "timestamp", "late_penalty",
           "needs_review", "reasons"]


def rows(course, gb, units=None, students=None):
    """The CSV rows as dicts, units in order, then the totals."""
    units = [a.name for a in gb.assignments if not units or a.name in units]
    people = sorted(s.id for s in gb.students if not students or s.id in students)
    out, totals = [], {s: [0.0, 0.0, False] for s in people}
    for unit in units:
        max_score = gb.find_assignment(unit).max_score
        for student in people:
            row = {"student_id": student, "unit": unit, "max_score": _num(max_score)}
            try:
                sub = gb.find_submission(unit, student)
            except MissingEntry:
                row.update(status="not submitted", score=_num(0), timestamp="", late_penalty="",
                           needs_review="no", reasons="")
            else:
                record = records.status(course, unit, student)
                serious = [n for n in record["notes"] if n["severity"] in ("zero", "review")]
                late = sub.late_submission_penalty or 0.0
                status = record["status"] if record["status"] != "unknown" else "graded"
                if status == "graded" and any(n["severity"] == "zero" for n in serious):
                    status = "zeroed"
                row.update(status=status, score=_num(sub.score - late),
                           timestamp=sub.timestamp.isoformat() if sub.timestamp else "",
                           late_penalty=_num(late), needs_review="yes" if serious else "no",
                           reasons="; ".join(n["text"] for n in serious))
            totals[student][0] += float(row["score"])
            totals[student][1] += max_score
            totals[student][2] |= row["needs_review"] == "yes"
            out.append(row)
    for student, (score, max_score, review) in totals.items():
        out.append({"student_id": student, "unit": "TOTAL", "status": "", "score": _num(score),
                    "max_score": _num(max_score), "timestamp": "", "late_penalty": "",
                    "needs_review": "yes" if review else "no", "reasons": ""})
    return out


def _num(x):
    return f"{float(x):g}"


def write_csv(path, table):
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(table)


class GradesCsv(ExportPlugin):
    """``nbgrader export`` plugin writing the course's grades.csv."""

    def export(self, gradebook):
        course = Course(Path(self.parent.coursedir.root) if self.parent else None)
        dest = self.to or "grades.csv"
        write_csv(dest, rows(course, gradebook, [str(a) for a in self.assignment],
                             [str(s) for s in self.student]))
        self.log.info("Grades written to %s", dest)
