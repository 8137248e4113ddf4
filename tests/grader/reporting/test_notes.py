"""grader.reporting.notes: what the grader noticed, kept in a notebook's metadata."""

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from grader.reporting import notes


def test_notes_are_recorded_once_and_survive_a_round_trip():
    nb = new_notebook()
    assert notes.get(nb) == []
    notes.add(nb, "review", "edited", "test cell `t` was edited")
    notes.add(nb, "review", "edited", "test cell `t` was edited")
    notes.add(nb, "info", "added", "1 code cell(s) were added")
    again = nbformat.reads(nbformat.writes(nb), as_version=4)
    assert notes.get(again) == [
        {"severity": "review", "kind": "edited", "text": "test cell `t` was edited"},
        {"severity": "info", "kind": "added", "text": "1 code cell(s) were added"}]
    copied = notes.get(again)
    copied[0]["text"] = "changed"
    assert notes.get(again)[0]["text"] == "test cell `t` was edited"  # plain copies


def test_reset_forgets_what_a_student_planted():
    nb = new_notebook(metadata={"grader": {"notes": [{"severity": "info", "kind": "x",
                                                      "text": "all fine"}],
                                           "verdict": "clean"}})
    notes.reset(nb)
    assert nb.metadata[notes.KEY] == {"notes": []}


def test_unknown_severities_are_refused():
    with pytest.raises(ValueError, match="unknown severity 'fatal'"):
        notes.add(new_notebook(), "fatal", "x", "y")


@pytest.mark.parametrize(("severities", "worst"), [
    ([], None), (["info"], "info"), (["info", "review"], "review"),
    (["review", "zero", "info"], "zero")])
def test_worst_is_the_most_serious(severities, worst):
    assert notes.worst([{"severity": s} for s in severities]) == worst
    assert notes.SEVERITIES == ("zero", "review", "info")


def test_cells_are_named_by_id_or_position():
    graded = new_code_cell("x", metadata={"nbgrader": {"grade_id": "double_test"}})
    assert notes.cell_label(graded, 4) == "cell `double_test`"
    assert notes.cell_label(new_code_cell("y"), 7) == "cell 7 (not an exercise cell)"
