"""canvas.csv and moodle.csv, checked against what Canvas' and Moodle's importers read.

The rules checked are those of the importers' source (see grader/reporting/lms.py):
Canvas' GradebookImporter (header: column 0 holds "Student", column 1 "ID", the
SIS columns, "Section" ends the student columns; a "Points Possible" row; any
other column is an assignment) and Moodle's gradeimport_csv (a column to
identify users by; a row whose identifier is empty would be given to the
previous row's user, so none may be empty). The scores are checked against
nbgrader's own CSV export of the same gradebook.
"""

import csv

from classbook import BOB_REASON
from nbgrader.api import Gradebook
from nbgrader.plugins.export import CsvExportPlugin

from grader.reporting.export import export


def read(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def nbgrader_scores(course, tmp_path):
    """{(unit, student): score} and {unit: max_score} from nbgrader's own export."""
    with Gradebook(course.db_url) as gb:
        CsvExportPlugin(to=str(tmp_path / "nbgrader.csv")).export(gb)
    with open(tmp_path / "nbgrader.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return ({(r["assignment"], r["student_id"]): float(r["score"]) for r in rows},
            {r["assignment"]: float(r["max_score"]) for r in rows})


def test_canvas_file_has_canvas_header_points_row_and_one_column_per_unit(course, tmp_path):
    export(course, tmp_path / "out", formats=["canvas"])
    rows = read(tmp_path / "out" / "canvas.csv")
    header, points, students = rows[0], rows[1], rows[2:]
    # Canvas' row_has_student_headers? and update_column_count
    assert header[:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    # no totals, no extra columns: Canvas would take each for an assignment
    assert header[5:] == ["01_early", "02_late"]
    assert points[0] == "Points Possible" and points[1:5] == ["", "", "", ""]
    scores, maxima = nbgrader_scores(course, tmp_path)
    assert [float(p) for p in points[5:]] == [maxima["01_early"], maxima["02_late"]]
    assert all(len(r) == len(header) for r in rows)
    by_id = {r[2]: r for r in students}
    assert sorted(by_id) == ["alice", "bob", "carol", "dave"]
    for student, row in by_id.items():
        for unit, cell in zip(header[5:], row[5:], strict=True):
            assert float(cell) == scores[(unit, student)]  # a number in every cell
    assert by_id["alice"][:5] == ["Smith, Alice", "", "alice", "alice@uni.example", ""]
    assert by_id["bob"][:4] == ["bob", "", "bob", ""]  # no name: the id stands for it
    assert by_id["dave"][5:] == ["0", "0"]  # submitted nothing: a zero, as nbgrader says
    assert by_id["bob"][5] == "0"  # not graded: a zero (the reason stays in grades.csv)
    assert by_id["alice"][6] == "1.5"  # late penalty taken off


def test_canvas_id_column_holds_the_lms_user_id_when_known(course, tmp_path):
    with Gradebook(course.db_url) as gb:
        gb.update_or_create_student("carol", lms_user_id="73021")
    export(course, tmp_path, formats=["canvas"])
    by_id = {r[2]: r for r in read(tmp_path / "canvas.csv")[2:]}
    assert by_id["carol"][1] == "73021" and by_id["alice"][1] == ""


def test_moodle_file_identifies_every_row_and_carries_the_reasons(course, tmp_path):
    done = export(course, tmp_path, formats=["moodle"])
    rows = read(tmp_path / "moodle.csv")
    header = rows[0]
    assert header == ["First name", "Last name", "ID number", "Email address",
                      "01_early", "01_early feedback", "02_late", "02_late feedback"]
    assert all(len(r) == len(header) for r in rows)
    by_id = {r[2]: dict(zip(header, r, strict=True)) for r in rows[1:]}
    # bob has no email: his row would be read as the previous student's, so he is left out
    assert sorted(by_id) == ["alice", "carol", "dave"] and done["left_out"] == {"moodle": ["bob"]}
    assert all(r["Email address"] and r["ID number"] for r in by_id.values())
    scores, _ = nbgrader_scores(course, tmp_path)
    for student, row in by_id.items():
        for unit in ("01_early", "02_late"):
            assert float(row[unit]) == scores[(unit, student)]
    dave = by_id["dave"]
    assert (dave["01_early"], dave["01_early feedback"]) == ("0", "not submitted")
    assert by_id["carol"]["02_late"] == "0" and by_id["carol"]["02_late feedback"] == ""
    assert (by_id["alice"]["First name"], by_id["alice"]["Last name"]) == ("Alice", "Smith")


def test_moodle_zero_with_a_reason(course, tmp_path):
    with Gradebook(course.db_url) as gb:
        gb.update_or_create_student("bob", first_name="Bob", email="bob@uni.example")
    export(course, tmp_path, formats=["moodle"])
    rows = read(tmp_path / "moodle.csv")
    bob = dict(zip(rows[0], next(r for r in rows if r[2] == "bob"), strict=True))
    assert bob["01_early"] == "0" and bob["01_early feedback"] == BOB_REASON
    assert bob["02_late"] == "0" and bob["02_late feedback"] == "not submitted"


def test_unknown_format_is_refused(course, tmp_path):
    try:
        export(course, tmp_path, formats=["blackboard"])
    except ValueError as exc:
        assert "blackboard" in str(exc) and "canvas, moodle" in str(exc)
    else:
        raise AssertionError("an unknown format was accepted")
    assert not (tmp_path / "grades.csv").exists()
