"""grader.intake.triage: which file of a submission is graded, and why one cannot be."""

import nbformat
from fixtures.submissions.cases import RAW
from nbformat.v4 import new_code_cell, new_notebook

from grader.intake import triage


def test_problem_names_what_is_wrong(tmp_path):
    assert triage.problem(RAW / "empty.ipynb") == "is empty"
    assert triage.problem(RAW / "not_json.ipynb").startswith("is not valid JSON")
    (tmp_path / "list.ipynb").write_text("[1, 2]")
    assert triage.problem(tmp_path / "list.ipynb") == "is JSON but not a notebook"
    (tmp_path / "bad.ipynb").write_text('{"cells": 3, "nbformat": 4, "nbformat_minor": 5}')
    assert triage.problem(tmp_path / "bad.ipynb").startswith("is not a valid notebook")
    good = tmp_path / "good.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("x = 1")]), good)
    assert triage.problem(good) is None
    assert triage.problem(tmp_path / "absent.ipynb").startswith("cannot be read")


def _nb(path, ids=()):
    cells = [new_code_cell("pass", metadata={"nbgrader": {"grade_id": i}}) for i in ids]
    nbformat.write(new_notebook(cells=cells), path)
    return path


def test_choose_prefers_the_expected_name_then_the_unit_content(tmp_path):
    exact = _nb(tmp_path / "u.ipynb")
    other = _nb(tmp_path / "scratch.ipynb", ["a", "b"])
    chosen, status, notes = triage.choose([exact, other], "u.ipynb", {"a", "b"})
    assert (chosen, status) == (exact, "ok") and notes[0][0] == "review"
    renamed = _nb(tmp_path / "u (1).ipynb", ["a"])
    chosen, status, notes = triage.choose([renamed, other], "u.ipynb", {"a", "b"})
    assert chosen == other and {s for s, _ in notes} == {"info", "review"}
    chosen, status, notes = triage.choose([renamed], "u.ipynb")
    assert chosen == renamed and notes == [("info", notes[0][1])]


def test_choose_never_grades_an_unreadable_file(tmp_path):
    broken = tmp_path / "u.ipynb"
    broken.write_text("{")
    assert triage.choose([broken], "u.ipynb")[1] == "unreadable"
    good = _nb(tmp_path / "copy.ipynb")
    chosen, status, _ = triage.choose([broken, good], "u.ipynb")
    assert (chosen, status) == (good, "ok")
    assert triage.choose([], "u.ipynb")[1] == "missing"


def test_candidates_skip_checkpoints(tmp_path):
    _nb(tmp_path / "u.ipynb")
    (tmp_path / ".ipynb_checkpoints").mkdir()
    _nb(tmp_path / ".ipynb_checkpoints" / "u-checkpoint.ipynb")
    (tmp_path / "__MACOSX").mkdir()
    _nb(tmp_path / "__MACOSX" / "u.ipynb")
    assert triage.candidates(tmp_path) == [tmp_path / "u.ipynb"]




def test_problem_reads_big_files_lazily(tmp_path, monkeypatch):
    monkeypatch.setattr(triage, "MAX_BYTES", 10)
    big = tmp_path / "big.ipynb"
    big.write_bytes(b"{" + b" " * 100 + b"}")
    assert "larger than" in triage.problem(big)




def test_links_are_never_candidates_and_are_listed(tmp_path):
    real = _nb(tmp_path / "real.ipynb")
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "u.ipynb").symlink_to(real)
    (sub / "elsewhere").symlink_to(tmp_path, target_is_directory=True)
    assert triage.candidates(sub) == []
    assert triage.links(sub) == ["elsewhere", "u.ipynb"]
    assert triage.linked(sub, sub / "elsewhere" / "real.ipynb")
    assert not triage.linked(tmp_path, real)
    assert triage.candidates(sub / "elsewhere") == []  # a linked folder is not entered


def test_grade_ids_of_the_released_notebook(tmp_path):
    _nb(tmp_path / "u.ipynb", ["a", "b"])
    assert triage.grade_ids(tmp_path, "u") == {"a", "b"}
    assert triage.grade_ids(tmp_path, "absent") == set()
    assert triage.notebook_ids(RAW / "not_json.ipynb") == set()
