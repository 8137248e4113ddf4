"""grader.reporting.records: the grader's own records in instructor-data/reports, and
the notes a submission's autograded notebooks carry."""

import json

import nbformat
import pytest
from nbformat.v4 import new_notebook

from grader.course import DATA_FOLDER, Course, write_scratch_config
from grader.reporting import notes, records

UNIT = "01_u"


@pytest.fixture()
def course(tmp_path):
    write_scratch_config(tmp_path)
    return Course(tmp_path)


def autograded(course, student, name, found=()):
    folder = course.folder("autograded", student, UNIT)
    folder.mkdir(parents=True, exist_ok=True)
    nb = new_notebook()
    for severity, text in found:
        notes.add(nb, severity, "scan", text)
    nbformat.write(nb, folder / name)
    return folder / name


def test_records_live_in_the_reports_folder_and_merge(course, tmp_path):
    assert records.read(course.root, UNIT, "status.json") == {}
    records.update(course.root, UNIT, "status.json", {"bo": {"status": "graded", "notes": []}})
    records.update(course.root, UNIT, "status.json", {"ann": {"status": "error", "notes": []},
                                                      "bo": {"status": "not graded",
                                                             "notes": []}})
    path = tmp_path / DATA_FOLDER / "reports" / UNIT / "status.json"
    assert list(json.loads(path.read_text())) == ["ann", "bo"]  # sorted, merged
    assert records.read(course.root, UNIT, "status.json")["bo"]["status"] == "not graded"
    assert not list(path.parent.glob("*.tmp"))


def test_status_prefers_what_autograde_recorded(course):
    autograded(course, "ann", f"{UNIT}.ipynb", [("zero", "replaced np.allclose")])
    records.update(course.root, UNIT, "status.json", {"ann": {"status": "graded", "notes": [
        {"severity": "info", "kind": "k", "text": "from autograde"}]}})
    assert records.status(course, UNIT, "ann")["notes"][0]["text"] == "from autograde"


def test_without_a_status_file_the_notebooks_and_collect_say(course):
    autograded(course, "ann", f"{UNIT}.ipynb", [("zero", "replaced np.allclose")])
    autograded(course, "ann", "part2.ipynb", [("review", "calls input()")])
    records.update(course.root, UNIT, "collect.json", {"ann": {"status": "ok", "notes": [
        {"severity": "info", "kind": "collect", "text": "renamed"}]}})
    assert records.status(course, UNIT, "ann") == {"status": "graded", "notes": [
        {"severity": "info", "kind": "collect", "text": "renamed"},
        {"severity": "zero", "kind": "scan", "text": "replaced np.allclose"},
        {"severity": "review", "kind": "scan", "text": "calls input()"}]}
    assert records.status(course, UNIT, "nobody") == {"status": "unknown", "notes": []}


def test_an_unreadable_autograded_notebook_is_itself_a_note(course):
    path = autograded(course, "ann", f"{UNIT}.ipynb")
    path.write_text("{ not json")
    (found,) = records.graded_notes(course, UNIT, "ann")
    assert found["severity"] == "review" and found["kind"] == "grader"
    assert found["text"].startswith(f"cannot read {UNIT}.ipynb: ")
    assert records.graded_notes(course, UNIT, "nobody") == []
