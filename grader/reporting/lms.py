"""Grades as files that Canvas' and Moodle's gradebook imports accept.

Both are built from the rows of grades.csv (``grader.reporting.grades_csv``),
one column per unit, so the numbers are those of grades.csv: nbgrader's
``score`` (late penalty taken off); a student who did not submit gets 0, like
nbgrader's own export.

**Canvas** (Grades > Import): the header row Canvas' own gradebook export
writes and its importer requires, ``Student, ID, SIS User ID, SIS Login ID,
Section``, then one column per unit titled with the unit's name (an existing
assignment of that name gets the grades; otherwise Canvas creates one), and
a second row ``Points Possible`` with each unit's maximum. Canvas matches a
row to a student by ``ID`` (the Canvas user id: the gradebook's
``lms_user_id`` where nbgrader's LTI integration recorded one), then ``SIS
User ID`` (here: the gradebook's student id), then ``SIS Login ID`` (here:
the student's email), then the name in ``Student`` (``Last, First``, Canvas'
sortable name). Relied on: Canvas' importer,
``app/models/gradebook_importer.rb`` in github.com/instructure/canvas-lms
(``row_has_student_headers?`` and ``update_column_count``: the header;
``check_for_non_student_row``/``process_pp``: the ``Points Possible`` row;
``process_student``: the matching; ``no_score?``: an empty cell is no grade),
and Ohio State's guide to it (teaching.resources.osu.edu, "Import CSV File
for Carmen Grades", which follows Canvas' guide "How do I import grades in
the Gradebook?"). Canvas takes every other column for an assignment, so
reasons cannot travel in this file: they are in grades.csv.

**Moodle** (Grades > Import > CSV file): a header row, then one row per
student; on the import page, map "Identify user by" from ``Email address`` to
``useremail`` (or from ``ID number`` to ``useridnumber`` when the course's
student ids are Moodle's ID numbers), each unit column to its grade item (or
"new grade item") and each ``UNIT feedback`` column to that item's comments
(the reasons for a zero, or "not submitted"). Relied on: Moodle's importer,
``grade/import/csv/classes/load_data.php`` in github.com/moodle/moodle
(``map_user_data_with_value``, ``prepare_import_grade_data``) and the choices
of ``grade/import/grade_import_form.php``: users are found by id, idnumber,
email or username; an empty or ``-`` grade is no grade; a row whose user is
not found aborts the whole import, and a row with an empty identifier is
given to the user of the row before it. So a student without an email is
left out of moodle.csv (and named, see ``write_moodle``): add the email with
``python -m grader roster`` first.
"""

import csv

from grader.reporting.escape import csv_row

CANVAS_STUDENT_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
MOODLE_STUDENT_COLUMNS = ["First name", "Last name", "ID number", "Email address"]


def _students(table):
    """Students in the order of the table, each with its rows by unit."""
    out = {}
    for row in table:
        entry = out.setdefault(row["student_id"], {"row": row, "units": {}})
        entry["units"][row["assignment"]] = row
    return out


def _units(table):
    """[(unit, max_score)] in the order of the table."""
    seen = {}
    for row in table:
        seen.setdefault(row["assignment"], row["max_score"])
    return list(seen.items())


def _number(text):
    """A score as both importers read it: plain decimal, no exponent, no trailing zeros."""
    return f"{float(text):.6f}".rstrip("0").rstrip(".")


def sortable_name(row):
    """``Last, First`` (Canvas' sortable name), or what there is of it, or the id."""
    parts = [p for p in (row["last_name"], row["first_name"]) if p]
    return ", ".join(parts) or row["student_id"]


def canvas_table(table, lms_ids=None):
    """The rows (lists) of a Canvas gradebook import file for the grades.csv rows ``table``;
    ``lms_ids``: {student id: Canvas user id} where known."""
    units = _units(table)
    rows = [CANVAS_STUDENT_COLUMNS + [u for u, _ in units],
            ["Points Possible", "", "", "", ""] + [_number(m) for _, m in units]]
    for student, entry in _students(table).items():
        first = entry["row"]
        rows.append([sortable_name(first), (lms_ids or {}).get(student) or "", student,
                     first["email"], ""] +
                    [_number(entry["units"][u]["score"]) if u in entry["units"] else ""
                     for u, _ in units])
    return rows


def feedback(row):
    """What Moodle's comments for one unit say: why a zero, or that nothing came."""
    if row["status"] == "not submitted":
        return "not submitted"
    return row["reasons"]


def moodle_table(table):
    """(rows, left_out) of a Moodle CSV grade import for the grades.csv rows ``table``:
    ``left_out`` are the students without an email, whom the file cannot name."""
    units = [u for u, _ in _units(table)]
    rows = [MOODLE_STUDENT_COLUMNS + [c for u in units for c in (u, f"{u} feedback")]]
    left_out = []
    for student, entry in _students(table).items():
        first = entry["row"]
        if not first["email"]:
            left_out.append(student)
            continue
        cells = []
        for unit in units:
            row = entry["units"].get(unit)
            cells += [_number(row["score"]), feedback(row)] if row else ["", ""]
        rows.append([first["first_name"], first["last_name"], student, first["email"]] + cells)
    return rows, left_out


def write(path, rows):
    """Write the list rows ``rows`` to ``path`` as UTF-8 CSV, every cell safe to open in a
    spreadsheet (``grader.reporting.escape.csv_cell``)."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(csv_row(row) for row in rows)


def write_canvas(path, table, lms_ids=None):
    """Write canvas.csv for the grades.csv rows ``table``; returns the number of students."""
    rows = canvas_table(table, lms_ids)
    write(path, rows)
    return len(rows) - 2


def write_moodle(path, table):
    """Write moodle.csv for the grades.csv rows ``table``; returns the ids of the students
    left out because the gradebook has no email for them."""
    rows, left_out = moodle_table(table)
    write(path, rows)
    return left_out
