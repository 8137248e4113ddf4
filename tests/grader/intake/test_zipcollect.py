"""grader.intake.zipcollect: nbgrader zip_collect's plugins, run by a real
``ZipCollectApp`` in this process on a scratch course (no gradebook, no kernel)."""

import io
import json
import stat
import sys
import zipfile

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook
from nbgrader.apps import ZipCollectApp

from grader.course import Course, write_scratch_config
from grader.intake import zipcollect
from grader.intake.zipcollect import copy_plain, entry_name, safe_unzip

UNIT = "01_u"


def notebook(path, ids=("double",)):
    path.parent.mkdir(parents=True, exist_ok=True)
    cells = [new_code_cell("pass", metadata={"nbgrader": {"grade_id": i}}) for i in ids]
    nbformat.write(new_notebook(cells=cells), path)
    return path


@pytest.fixture()
def course(tmp_path):
    write_scratch_config(tmp_path)
    notebook(tmp_path / "exercises" / UNIT / f"{UNIT}.ipynb", ["double", "halve"])
    return Course(tmp_path)


def run_zip_collect(course, monkeypatch, *argv):
    """nbgrader's zip_collect with the course configuration; returns the app."""
    monkeypatch.chdir(course.root)
    monkeypatch.setattr(sys, "path", list(sys.path))  # it adds the cwd to sys.path
    app = ZipCollectApp()
    app.initialize([UNIT, "--force", "--log-level=ERROR", *argv])
    app.start()
    return app


def record(course, name):
    return json.loads((course.incoming / UNIT / name).read_text())


def test_entry_names_lose_their_archive_extension():
    assert [entry_name(n) for n in ("ann.zip", "Bo.ZIP", "cy.ipynb", "dee", "e.tar")] == [
        "ann", "Bo", "cy", "dee", "e.tar"]


def test_student_ids_are_plain(course, monkeypatch):
    app = run_zip_collect(course, monkeypatch)
    collector = app.collector_plugin_inst
    assert isinstance(collector, zipcollect.SubmissionCollector)  # from the configuration
    assert collector.student_id("Zoë Ångström.zip") == "Zoe_Angstrom"
    assert collector.student_id("ann@uni.edu") == "ann@uni.edu"
    assert collector.student_id("???") is None and collector.student_id("x" * 80) is None
    collector.student_regexp = r"(?P<student_id>.+?)_\d+_assignsubmission"
    assert collector.student_id("Jane Doe_12_assignsubmission_file_") == "Jane_Doe"
    assert collector.student_id("readme.ipynb") is None


def test_the_plugins_write_down_their_decisions(course, monkeypatch):
    archive = course.incoming / UNIT / "archive"
    notebook(archive / "ann" / f"{UNIT}.ipynb")
    notebook(archive / "bo" / "my copy.ipynb")
    notebook(archive / "bo" / "scratch.ipynb", ids=())
    with zipfile.ZipFile(archive / "cy.zip", "w") as zf:
        zf.writestr("README.txt", "no notebook")
    (archive / "broken.zip").write_bytes(b"not a zip")
    notebook(archive / "Zoë" / "a.ipynb")
    notebook(archive / "Zoe" / "b.ipynb")
    (archive / "link").symlink_to(archive / "ann", target_is_directory=True)
    notebook(archive / "???" / f"{UNIT}.ipynb")
    run_zip_collect(course, monkeypatch)
    assert record(course, zipcollect.EXTRACTED) == {
        "broken.zip": ["cannot be unpacked (File is not a zip file)"],
        "link": ["is a link: skipped (links are never followed)"]}
    decided = record(course, zipcollect.DECIDED)
    assert decided["unknown"] == ["???"]
    students = decided["students"]
    assert sorted(students) == ["Zoe", "ann", "bo", "broken", "cy", "link"]
    assert students["ann"] == {"notebook": f"{UNIT}.ipynb", "status": "ok", "notes": [],
                               "entries": ["ann"]}
    assert students["bo"]["notebook"] == "my copy.ipynb"  # holds the unit's cells
    assert [s for s, _ in students["bo"]["notes"]] == ["info", "review"]
    assert students["cy"]["status"] == students["link"]["status"] == "missing"
    assert students["Zoe"]["status"] == "refused" and students["Zoe"]["entries"] == ["Zoe", "Zoë"]
    assert "different students" in students["Zoe"]["notes"][0][1]
    submitted = course.folder("submitted")
    assert sorted(p.relative_to(submitted).as_posix() for p in submitted.rglob("*.ipynb")) == [
        f"ann/{UNIT}/{UNIT}.ipynb", f"bo/{UNIT}/{UNIT}.ipynb"]


def test_decisions_are_written_when_no_file_reaches_the_collector(course, monkeypatch):
    archive = course.incoming / UNIT / "archive"
    archive.mkdir(parents=True)
    for student in ("ann", "bo"):
        with zipfile.ZipFile(archive / f"{student}.zip", "w") as zf:
            zf.writestr("notes.txt", "nothing to grade")
    run_zip_collect(course, monkeypatch)
    students = record(course, zipcollect.DECIDED)["students"]
    assert {s: d["status"] for s, d in students.items()} == {"ann": "missing", "bo": "missing"}


def test_two_entries_of_one_student_are_never_merged(course, monkeypatch):
    archive = course.incoming / UNIT / "archive"
    notebook(archive / "ann" / f"{UNIT}.ipynb")
    with zipfile.ZipFile(archive / "ann.zip", "w") as zf:
        zf.writestr(f"{UNIT}.ipynb", nbformat.writes(new_notebook()))
    run_zip_collect(course, monkeypatch)
    ann = record(course, zipcollect.DECIDED)["students"]["ann"]
    assert (ann["notebook"], ann["status"], ann["entries"]) == (None, "refused",
                                                                ["ann", "ann.zip"])
    assert "two submissions of `ann`" in ann["notes"][0][1]
    assert not course.folder("submitted", "ann", UNIT).exists()


def test_copy_plain_copies_no_links(tmp_path):
    src = tmp_path / "src"
    notebook(src / "work" / "u.ipynb")
    (src / "notes.txt").write_text("kept")
    (src / "secret.ipynb").symlink_to("/etc/hostname")
    (src / "away").symlink_to(tmp_path, target_is_directory=True)
    (src / ".git").mkdir()
    (src / ".git" / "x").write_text("hidden folders are left out")
    problems = copy_plain(src, tmp_path / "dest")
    copied = sorted(p.relative_to(tmp_path / "dest").as_posix()
                    for p in (tmp_path / "dest").rglob("*") if p.is_file())
    assert copied == ["notes.txt", "work/u.ipynb"]
    assert len(problems) == 2 and all("holds a link" in p for p in problems)


def test_safe_unzip_refuses_escapes_links_and_bombs(tmp_path):
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("ok/u.ipynb", "{}")
        zf.writestr("../../evil.ipynb", "{}")
        zf.writestr("/abs.ipynb", "{}")
        link = zipfile.ZipInfo("link.ipynb")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
        zf.writestr("notes.txt", "ignored")
    dest = tmp_path / "out"
    problems = safe_unzip(archive, dest, 10**6, 100)
    assert sorted(p.name for p in dest.rglob("*") if p.is_file()) == ["u.ipynb"]
    assert len(problems) == 3 and not (tmp_path / "evil.ipynb").exists()
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("big.ipynb", "0" * 5 * 10**6)
    assert "stopped" in safe_unzip(bomb, tmp_path / "b", 10**6, 100)[0]
    assert "more than 1" in safe_unzip(archive, tmp_path / "c", 10**6, 1)[0]


def test_zip_member_names_are_unpacked_inside(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("C:/windows.ipynb", "{}")
    (tmp_path / "w.zip").write_bytes(buf.getvalue())
    assert safe_unzip(tmp_path / "w.zip", tmp_path / "o", 10**6, 10)
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").rglob("*.ipynb"))


def test_safe_unzip_makes_empty_folders_on_request(tmp_path):
    archive = tmp_path / "bulk.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("ann/notes.txt", "no notebook")
        zf.writestr("bo/", "")
    assert safe_unzip(archive, tmp_path / "out", 10**6, 10, folders=True) == []
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["ann", "bo"]
