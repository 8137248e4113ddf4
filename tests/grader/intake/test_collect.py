"""grader.intake.collect in this process on a scratch course whose gradebook already
holds the unit (so nothing runs nbgrader's converters): an LMS export staged, collected
by nbgrader's zip_collect with the course plugins, recorded and registered."""

import json
import os
import pwd
import shutil
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook
from nbgrader.api import Gradebook
from support.grading import new_gradebook, record_unit

from grader.course import Course, write_scratch_config
from grader.intake import collect

UNIT = "01_u"


def notebook(path, ids=("double",)):
    path.parent.mkdir(parents=True, exist_ok=True)
    cells = [new_code_cell("pass", metadata={"nbgrader": {"grade_id": i}}) for i in ids]
    nbformat.write(new_notebook(cells=cells), path)
    return path


@pytest.fixture()
def course(tmp_path, monkeypatch):
    root = tmp_path / "course"
    db = write_scratch_config(root)
    (root / "solutions" / UNIT).mkdir(parents=True)
    notebook(root / "exercises" / UNIT / f"{UNIT}.ipynb", ["double", "halve"])
    record_unit(new_gradebook(db), UNIT)
    monkeypatch.setattr(sys, "path", list(sys.path))  # zip_collect adds the course root
    return Course(root)


def submitted(course):
    base = course.folder("submitted")
    return sorted(p.relative_to(base).as_posix() for p in base.rglob("*") if p.is_file())


def test_an_lms_folder_is_collected_recorded_and_registered(course, tmp_path):
    export = tmp_path / "export"
    notebook(export / "ann" / f"{UNIT}.ipynb")
    notebook(export / "bo" / "renamed.ipynb")
    (export / "cy").mkdir()
    (export / "cy" / "notes.txt").write_text("no notebook")
    (export / "dee.ipynb").write_bytes(b"")
    (export / "eve").symlink_to(export / "ann", target_is_directory=True)
    notebook(export / "???" / f"{UNIT}.ipynb")
    report = collect.from_lms(course, UNIT, export)
    students = report["students"]
    assert {s: (r["status"], r["notebook"]) for s, r in students.items()} == {
        "ann": ("ok", f"{UNIT}.ipynb"), "bo": ("ok", "renamed.ipynb"), "cy": ("missing", None),
        "dee": ("unreadable", "dee.ipynb"), "eve": ("missing", None)}
    assert report["skipped"] == [{"entry": "???",
                                  "reason": "no student id in its name (student_regexp)"}]
    assert [n["text"] for n in students["eve"]["notes"]] == [
        f"the submission has no notebook ({UNIT}.ipynb expected)",
        "eve is a link: skipped (links are never followed)"]
    assert submitted(course) == [f"ann/{UNIT}/{UNIT}.ipynb", f"bo/{UNIT}/{UNIT}.ipynb",
                                 f"dee/{UNIT}/{UNIT}.ipynb"]
    assert course.folder("submitted", "cy", UNIT).is_dir()  # empty: autograde says why
    kept = json.loads((course.reports / UNIT / "collect.json").read_text())
    assert kept == json.loads(json.dumps(students))
    with Gradebook(course.db_url) as gb:
        assert sorted(s.id for s in gb.students) == ["ann", "bo", "cy", "dee", "eve"]


def test_collecting_again_replaces_what_is_no_longer_submitted(course, tmp_path):
    first = tmp_path / "first"
    notebook(first / "ann" / f"{UNIT}.ipynb")
    notebook(first / "bo" / f"{UNIT}.ipynb")
    collect.from_lms(course, UNIT, first)
    second = tmp_path / "second"
    (second / "ann").mkdir(parents=True)  # ann's new upload holds no notebook
    notebook(second / "bo" / "v2.ipynb")
    with zipfile.ZipFile(second / "bo.zip", "w") as zf:
        zf.writestr("README.txt", "x")
    report = collect.from_lms(course, UNIT, second)
    assert submitted(course) == [f"bo/{UNIT}/{UNIT}.ipynb"]
    assert report["students"]["ann"]["status"] == "missing"
    assert report["students"]["bo"]["source"] == "bo, bo.zip"
    kept = json.loads((course.reports / UNIT / "collect.json").read_text())
    assert kept["ann"]["status"] == "missing" and kept["bo"]["notebook"] == "v2.ipynb"


def test_a_bulk_zip_and_a_student_regexp(course, tmp_path):
    inner = tmp_path / "inner.zip"
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("work/mine.ipynb", nbformat.writes(new_notebook()))
    bulk = tmp_path / "moodle.zip"
    with zipfile.ZipFile(bulk, "w") as zf:
        zf.writestr("Jane Doe_1_assignsubmission_file_/x.ipynb", nbformat.writes(new_notebook()))
        zf.write(inner, "Bo Chen_2_assignsubmission_file_.zip")
        zf.writestr("../escape.ipynb", "{}")
        zf.writestr("readme.ipynb", "{}")
    report = collect.from_lms(course, UNIT, bulk, r"(?P<student_id>.+?)_\d+_assignsubmission")
    assert sorted(report["students"]) == ["Bo_Chen", "Jane_Doe"]
    assert {s["entry"] for s in report["skipped"]} == {str(bulk), "readme.ipynb"}
    assert submitted(course) == [f"Bo_Chen/{UNIT}/{UNIT}.ipynb", f"Jane_Doe/{UNIT}/{UNIT}.ipynb"]


def test_stage_copies_links_as_links_and_refuses_other_files(tmp_path):
    export = tmp_path / "export"
    notebook(export / "ann" / "a.ipynb")
    (export / "bo").symlink_to(export / "ann", target_is_directory=True)
    archive = tmp_path / "archive"
    assert collect.stage(export, archive) == []
    assert (archive / "bo").is_symlink() and (archive / "ann" / "a.ipynb").is_file()
    (tmp_path / "export.txt").write_text("neither")
    with pytest.raises(FileNotFoundError, match="neither a folder nor a zip file"):
        collect.stage(tmp_path / "export.txt", archive)


def test_tidy_names_the_chosen_notebook_after_the_unit(tmp_path):
    folder = tmp_path / "sub"
    notebook(folder / "my copy.ipynb", ["double", "halve"])
    notebook(folder / "scratch.ipynb", [])
    record = collect.tidy(folder, UNIT, {"double", "halve"})
    assert (record["status"], record["notebook"]) == ("ok", "my copy.ipynb")
    assert sorted(p.name for p in folder.iterdir()) == [f"{UNIT}.ipynb", "scratch.ipynb"]
    assert [n["severity"] for n in record["notes"]] == ["info", "review"]


TEST_COURSE = "dlcourse-collect-test"  # its own folder in the real exchange root


@pytest.fixture()
def exchange_course(tmp_path, monkeypatch):
    """A scratch course whose exchange is the configured one (/srv/nbgrader/exchange),
    under a course id of its own; its exchange folder is removed afterwards."""
    root = tmp_path / "course"
    db = write_scratch_config(root, f"c.CourseDirectory.course_id = {TEST_COURSE!r}\n")
    (root / "solutions" / UNIT).mkdir(parents=True)
    notebook(root / "exercises" / UNIT / f"{UNIT}.ipynb", ["double", "halve"])
    record_unit(new_gradebook(db), UNIT)
    monkeypatch.setattr(sys, "path", list(sys.path))
    course = Course(root)
    shutil.rmtree(course.exchange_course, ignore_errors=True)
    yield course
    shutil.rmtree(course.exchange_course, ignore_errors=True)


def entry(course, student, stamp, owner, tag):
    """An inbound entry named for ``student``, owned by the account ``owner``, holding a
    notebook and a secret (as nbgrader's submit leaves them)."""
    folder = course.exchange_course / "inbound" / f"{student}+{UNIT}+2026-12-01 {stamp} UTC+{tag}"
    notebook(folder / f"{UNIT}.ipynb")
    (folder / "timestamp.txt").write_text(f"2026-12-01 {stamp} UTC")
    (folder / "submission_secret.txt").write_text(f"secret-{tag}")
    account = pwd.getpwnam(owner)
    for path in (folder, *folder.rglob("*")):
        os.chown(path, account.pw_uid, account.pw_gid, follow_symlinks=False)
    return folder


@pytest.mark.skipif(os.geteuid() != 0, reason="entries owned by other accounts need root")
def test_exchange_collect_counts_an_entry_only_for_its_owner(exchange_course):
    course = exchange_course
    assert course.exchange_root == Path("/srv/nbgrader/exchange")  # grader/nbgrader_config.py
    entry(course, "root", "10:00:00.000000", "root", "a")
    daemon = entry(course, "daemon", "10:00:00.000000", "daemon", "b")
    # forged in daemon's name: an earlier one holding a link, a later one by bin
    early = entry(course, "daemon", "09:00:00.000000", "root", "c")
    (early / "x.ipynb").symlink_to(course.root / "solutions")
    entry(course, "daemon", "11:00:00.000000", "bin", "d")
    entry(course, "nobody", "10:00:00.000000", "root", "e")  # nobody never submitted
    linked = entry(course, "bin", "10:00:00.000000", "bin", "f")
    (linked / "other.ipynb").symlink_to(daemon / f"{UNIT}.ipynb")
    fifo = entry(course, "sys", "10:00:00.000000", "sys", "g")
    os.mkfifo(fifo / "pipe")
    big = entry(course, "games", "10:00:00.000000", "games", "h")
    with open(big / "data.bin", "wb") as fh:
        fh.truncate(101_000_000)  # nbgrader's max_dir_size: 100,000 kB
    odd = course.exchange_course / "inbound" / f"man+{UNIT}+not a time+i"
    odd.mkdir()
    os.chown(odd, pwd.getpwnam("man").pw_uid, -1)

    report = collect.from_exchange(course, UNIT)  # no exchange root given

    students = report["students"]
    assert {s: r["status"] for s, r in students.items()} == {
        "root": "ok", "daemon": "ok", "bin": "refused", "sys": "refused", "games": "refused"}
    assert (course.folder("submitted", "daemon", UNIT) / "submission_secret.txt"
            ).read_text() == "secret-b"
    assert "links" in students["bin"]["notes"][0]["text"]
    assert "not a regular file" in students["sys"]["notes"][0]["text"]
    assert "larger than 100 MB" in students["games"]["notes"][0]["text"]
    assert sorted(p.name for p in course.folder("submitted", "bin", UNIT).iterdir()) == [
        "submission_secret.txt", "timestamp.txt"]  # nothing of a refused entry but these
    skipped = {s["entry"].split("+")[-1]: s["reason"] for s in report["skipped"]}
    assert set(skipped) == {"c", "d", "e", "i"}
    assert "claims to be daemon's but belongs to bin" in skipped["d"]
    assert "not an nbgrader submission name" in skipped["i"]
    assert not course.folder("submitted", "nobody", UNIT).exists()
    with Gradebook(course.db_url) as gb:
        assert "nobody" not in {s.id for s in gb.students}


@pytest.mark.skipif(os.geteuid() != 0, reason="entries owned by other accounts need root")
def test_exchange_entries_are_bounded_in_count(exchange_course):
    course = exchange_course
    (course.root / "nbgrader_config.py").write_text(
        (course.root / "nbgrader_config.py").read_text() + "c.CheckedCollect.max_entries = 2\n")
    course = Course(course.root)
    for i in range(3):
        entry(course, "daemon", f"10:0{i}:00.000000", "daemon", f"d{i}")
    for i in range(4):
        entry(course, "root", f"10:0{i}:00.000000", "bin", f"f{i}")
    entry(course, "root", "09:00:00.000000", "root", "r")
    report = collect.from_exchange(course, UNIT)
    assert report["students"]["root"]["status"] == "ok"
    assert report["students"]["daemon"]["status"] == "refused"
    assert report["students"]["daemon"]["notes"][0]["text"].startswith(
        "3 entries in the exchange (at most 2)")
    skipped = [s["entry"] for s in report["skipped"]]
    assert len(skipped) == 3 and skipped[-1] == "4 entries owned by bin", skipped
