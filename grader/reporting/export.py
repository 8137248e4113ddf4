"""What ``python -m grader export`` writes: grades in every format asked for, and the summary.

``export`` reads the gradebook once and writes, into one folder (default
``instructor-data/reports``):

- ``grades.csv``: nbgrader's export columns, then the course's
  (``grader.reporting.grades_csv``); ``totals.csv``: one row per student;
- ``canvas.csv`` / ``moodle.csv`` when asked for (``grader.reporting.lms``);
- the summary: ``summary.md``, ``summary.json``, ``failures-UNIT.png``,
  ``totals.png`` (``grader.reporting.summary``).
"""

from pathlib import Path

from nbgrader.api import Gradebook

from grader.reporting import grades_csv, lms, summary

FORMATS = ("canvas", "moodle")
TOTALS_COLUMNS = ["student_id", "last_name", "first_name", "email", "score", "max_score",
                  "needs_review"]


def totals_table(table):
    """The rows of totals.csv: every student's summed score and maximum."""
    sums = summary.totals(table)
    people = {r["student_id"]: r for r in table}
    return [{"student_id": s, "last_name": people[s]["last_name"],
             "first_name": people[s]["first_name"], "email": people[s]["email"],
             "score": str(t["score"]), "max_score": str(t["max_score"]),
             "needs_review": "yes" if t["needs_review"] else "no"} for s, t in sums.items()]


def export(course, to=None, units=None, formats=()):
    """Write the reports of ``units`` (default: every unit in the gradebook) into ``to``;
    ``formats``: any of ``FORMATS``. Returns {"paths": [written], "summary": ...,
    "left_out": {format: [students the file cannot hold]}}."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown format {', '.join(unknown)}: choose from {', '.join(FORMATS)}")
    out = Path(to or course.reports)
    out.mkdir(parents=True, exist_ok=True)
    with Gradebook(course.db_url) as gb:
        table = grades_csv.rows(course, gb, units)
        units = [a.name for a in gb.assignments if not units or a.name in units]
        lms_ids = {s.id: s.lms_user_id for s in gb.students if s.lms_user_id}
        report = summary.build(course, gb, units, table)
    paths, left_out = [out / "grades.csv", out / "totals.csv"], {}
    grades_csv.write_csv(paths[0], table)
    grades_csv.write_csv(paths[1], totals_table(table), TOTALS_COLUMNS)
    if "canvas" in formats:
        paths.append(out / "canvas.csv")
        lms.write_canvas(paths[-1], table, lms_ids)
    if "moodle" in formats:
        paths.append(out / "moodle.csv")
        left_out["moodle"] = lms.write_moodle(paths[-1], table)
    paths += summary.write(report, out)
    return {"paths": paths, "summary": report, "left_out": left_out}
