"""Feedback: scores and the judge's messages, never the hidden tests or what cells printed."""

import base64

import nbformat
from nbformat.v4 import new_code_cell, new_notebook, new_output

from grader.preprocessors.hide import HideHiddenTests, message, split_hidden

SOURCE = ("check(1)\n### BEGIN HIDDEN TESTS\nsecret_case = make_the_secret_case(7)\n"
          "check(secret_case)\n### END HIDDEN TESTS\nprint('done')")


def graded_cell(outputs):
    cell = new_code_cell(SOURCE, metadata={"nbgrader": {"grade": True, "grade_id": "t",
                                                        "points": 1, "locked": True}})
    cell.outputs = outputs
    return cell


def test_hidden_tests_and_their_traces_are_removed():
    kept, hidden = split_hidden(SOURCE)
    assert "secret" not in kept and kept.endswith("print('done')") and len(hidden) == 2
    nb = new_notebook(cells=[graded_cell([
        new_output("stream", name="stderr", text="w.py:3: UserWarning\n  check(secret_case)\n"),
        new_output("error", ename="AssertionError", evalue="t: expected 2, got 3",
                   traceback=["Traceback", "----> 4 secret_case = make_the_secret_case(7)"]),
    ])])
    HideHiddenTests().preprocess(nb, {})
    text = nbformat.writes(nb)
    assert "make_the_secret_case" not in text and "check(secret_case)" not in text
    assert nb.cells[0].outputs[0].traceback == ["AssertionError: t: expected 2, got 3"]
    assert message(nb.cells[0]) == "AssertionError: t: expected 2, got 3"


def test_encoded_prints_of_the_hidden_tests_never_reach_the_feedback():
    leaked = base64.b64encode(SOURCE.encode()).decode()
    student = new_code_cell("print(stolen)")
    student.outputs = [new_output("stream", name="stdout", text=leaked[::-1])]
    nb = new_notebook(cells=[graded_cell([
        new_output("stream", name="stdout", text=leaked),
        new_output("display_data", data={"text/plain": leaked, "text/html": leaked[::-1]}),
    ]), student])
    HideHiddenTests().preprocess(nb, {})
    text = nbformat.writes(nb)
    assert leaked not in text and leaked[::-1] not in text
    assert message(nb.cells[0]) == "passed"


def test_long_messages_are_cut():
    nb = new_notebook(cells=[graded_cell([new_output("error", ename="AssertionError",
                                                   evalue="x" * 10_000, traceback=[])])])
    HideHiddenTests().preprocess(nb, {})
    assert len(nb.cells[0].outputs[0].evalue) < 2000
