"""grader.preprocessors.sanitize on small in-memory notebooks (nbgrader's
``tests/preprocessors`` pattern): what ``InspectSubmission`` notes, what ``RestoreCells``
repairs, with nbgrader's own ``DeduplicateIds`` between them as in the course config."""

import copy

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from nbgrader.preprocessors import DeduplicateIds
from traitlets.config import Config

from grader.preprocessors.sanitize import InspectSubmission, RestoreCells
from grader.reporting import notes

UNIT = "01_u"


def meta(gid, grade=False, solution=False, locked=False, points=None):
    out = {"grade_id": gid, "grade": grade, "solution": solution, "locked": locked,
           "schema_version": 3, "task": False}
    if points is not None:
        out["points"] = points
    return {"nbgrader": out}


def released():
    """The student notebook as nbgrader releases it."""
    return new_notebook(cells=[
        new_markdown_cell("# Unit"),
        new_code_cell("import numpy as np", metadata=meta("setup", locked=True)),
        new_code_cell("def double(x):\n    raise NotImplementedError()",
                      metadata=meta("double", solution=True)),
        new_code_cell("assert double(1) == 2", metadata=meta("double_test", grade=True,
                                                               locked=True, points=2)),
        new_code_cell("def halve(x):\n    raise NotImplementedError()",
                      metadata=meta("halve", solution=True)),
        new_code_cell("assert halve(2) == 1", metadata=meta("halve_test", grade=True,
                                                             locked=True, points=3)),
    ])


@pytest.fixture()
def config(tmp_path):
    c = Config()
    c.CourseDirectory.root = str(tmp_path)
    c.CourseDirectory.release_directory = "release"
    folder = tmp_path / "release" / UNIT
    folder.mkdir(parents=True)
    nbformat.write(released(), folder / f"{UNIT}.ipynb")
    return c


RESOURCES = {"nbgrader": {"assignment": UNIT, "notebook": UNIT}}


def submission():
    """The released notebook with both tasks answered."""
    nb = copy.deepcopy(released())
    nb.cells[2].source = "def double(x):\n    return 2 * x"
    nb.cells[4].source = "def halve(x):\n    return x / 2"
    return nb


def inspect(config, nb):
    nb, _ = InspectSubmission(config=config).preprocess(nb, copy.deepcopy(RESOURCES))
    return [(n["severity"], n["kind"], n["text"]) for n in notes.get(nb)]


def sanitize(config, nb):
    """The course's order: inspect, nbgrader's DeduplicateIds, restore."""
    resources = copy.deepcopy(RESOURCES)
    for step in (InspectSubmission, DeduplicateIds, RestoreCells):
        nb, resources = step(config=config).preprocess(nb, resources)
    return nb


def ids(nb):
    return [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]


def test_an_honest_submission_gets_no_notes_and_planted_ones_go(config):
    nb = submission()
    notes.add(nb, "info", "planted", "graded by hand: full marks")
    assert inspect(config, nb) == []
    assert nb.metadata["grader"] == {"notes": []}
    assert strip_ids(sanitize(config, submission())) == strip_ids(submission())


def strip_ids(nb):
    """The cells without their random ids, and the notebook metadata without notes."""
    return [(c.cell_type, c.source, c.metadata) for c in nb.cells]


def test_edited_tests_and_read_only_cells_are_noted(config):
    nb = submission()
    nb.cells[3].source = "assert True"
    nb.cells[1].source = "import numpy as np\nnp.allclose = lambda *a: True"
    assert inspect(config, nb) == [
        ("info", "edited", "read-only cell `setup` was edited; the original was put back"),
        ("review", "edited", "test cell `double_test` was edited; the original was put back")]


def test_deleted_cells_are_noted_and_put_back_in_place(config):
    nb = submission()
    del nb.cells[5]  # halve_test
    del nb.cells[1]  # setup
    assert inspect(config, copy.deepcopy(nb)) == [
        ("info", "deleted", "read-only cell `setup` was deleted; the original was put back"),
        ("review", "deleted", "test cell `halve_test` was deleted; the original was put back")]
    restored = sanitize(config, nb)
    assert ids(restored) == ["setup", None, "double", "double_test", "halve", "halve_test"]
    assert restored.cells[5].source == "assert halve(2) == 1"
    assert restored.cells[2].source == "def double(x):\n    return 2 * x"  # answers stay


def test_a_copied_cell_is_graded_once_as_its_last_copy(config):
    nb = submission()
    first = copy.deepcopy(nb.cells[2])
    first.source = "def double(x):\n    return 0"
    nb.cells.insert(1, first)
    assert ("info", "duplicate", "cell `double` appears 2 times (copied); the last copy is "
            "graded") in inspect(config, copy.deepcopy(nb))
    restored = sanitize(config, nb)
    assert ids(restored).count("double") == 1
    (graded,) = [c for c in restored.cells if ids(restored)[restored.cells.index(c)] == "double"]
    assert graded.source == "def double(x):\n    return 2 * x"
    assert "nbgrader" not in restored.cells[1].metadata  # the first copy: an ordinary cell


def test_a_test_turned_into_markdown_and_added_cells(config):
    nb = submission()
    test = nb.cells[3]
    nb.cells[3] = new_markdown_cell(test.source, metadata=test.metadata)
    nb.cells.append(new_code_cell("print(double(4))"))
    nb.cells.append(new_code_cell("import numpy as np"))  # a copy of released code: not counted
    nb.cells.append(new_code_cell("   "))
    assert inspect(config, nb) == [
        ("info", "cell-type", "test cell `double_test` was turned into markdown; it was turned "
         "back into code"),
        ("info", "added", "1 code cell(s) were added")]


def test_only_released_metadata_is_trusted(config):
    nb = submission()
    nb.cells[3].metadata["nbgrader"]["points"] = 100
    nb.cells[2].metadata["nbgrader"]["grade"] = True
    nb.cells.append(new_code_cell("assert True", metadata=meta("bonus", grade=True, locked=True,
                                                              points=50)))
    nb.cells.append(new_code_cell("x = 1", metadata={"nbgrader": {"locked": True}}))
    nb.cells.append(new_code_cell("y = 1", metadata={"nbgrader": "solution"}))
    nb.cells.append(new_code_cell("z = 1", metadata=meta(["double"], grade=True, points=9)))
    restored = sanitize(config, nb)
    assert all("nbgrader" not in c.metadata for c in restored.cells[7:])
    assert ("info", "unknown-id", "3 cell(s) carried nbgrader metadata without an id; they were "
            "graded as ordinary cells") in [(n["severity"], n["kind"], n["text"])
                                            for n in notes.get(restored)]
    assert restored.cells[3].metadata == released().cells[3].metadata
    assert restored.cells[2].metadata == released().cells[2].metadata
    assert "nbgrader" not in restored.cells[6].metadata
    assert "nbgrader" not in restored.cells[7].metadata
    assert ("info", "unknown-id", "a cell claimed the unknown id `bonus`; it was graded as an "
            "ordinary cell") in [(n["severity"], n["kind"], n["text"]) for n in notes.get(restored)]


def test_without_a_released_notebook_nothing_changes(config, tmp_path):
    (tmp_path / "release" / UNIT / f"{UNIT}.ipynb").unlink()
    nb = submission()
    del nb.cells[3]
    before = copy.deepcopy(nb)
    assert inspect(config, nb) == []
    nb, _ = RestoreCells(config=config).preprocess(nb, copy.deepcopy(RESOURCES))
    assert nb.cells == before.cells
