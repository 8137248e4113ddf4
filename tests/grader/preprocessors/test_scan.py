"""The static scan: warnings for a person, never a zero; honest code is left alone."""

import nbformat
import pytest
from fixtures.submissions.cases import CELLS
from nbgrader import utils
from support import paths

from grader.preprocessors.scan import protected_names, scan

TRUSTED = ["import numpy as np\nfrom dlcourse.checks import assert_close, assert_equal"]
TESTS = ["assert_close(double(np.array([1.0])), np.array([2.0]))\nprint(len([1]))"]


def findings(source):
    return {(f.severity, f.text.split(": ", 1)[1]) for f in scan([("c", source)], TRUSTED, TESTS)}


def severities(source):
    return {f.severity for f in scan([("c", source)], TRUSTED, TESTS)}


@pytest.mark.parametrize(("snippet", "severity"), [
    ("cheat_allclose.py", "review"), ("cheat_helpers.py", "review"),
    ("cheat_print.py", "review"), ("cheat_showtraceback.py", "review"),
    ("os_exit.py", "review"), ("waits_for_input.py", "review"), ("scratch_work.py", None),
    ("infinite_loop.py", None), ("memory_bomb.py", None), ("output_flood.py", None),
])
def test_scan_flags_the_fixture_cells(snippet, severity):
    found = severities((CELLS / snippet).read_text())
    assert found == ({severity} if severity else set())


def test_a_patch_through_an_alias_needs_the_runtime_probe():
    # cheat_hidden_patch.py is written to slip past the static read: the probe sees it.
    assert severities((CELLS / "cheat_hidden_patch.py").read_text()) == set()


@pytest.mark.parametrize("source", [
    "exec('np.allclose = 1')", "globals()['assert_close'] = print", "import builtins",
    "double.__code__ = (lambda x: 2 * x).__code__", "import sys\nsys.stderr = None",
    "np.__dict__['allclose'] = 1", "setattr(np, 'allclose', abs)",
    "def f():\n    global np\n    np = None", "%%time\nnp.allclose = 1",
    "import numpy.testing as npt\nnpt.assert_allclose = print", "get_ipython().run_cell = 1",
    "import gc", "import ctypes", "from importlib import reload", "len = lambda x: 0",
    "import dlcourse.checks as c\nc.assert_close = print", "del np.allclose",
    "import inspect\nf = inspect.currentframe().f_back", "vars(np)['allclose'] = 1",
    "from IPython.core.interactiveshell import InteractiveShell",
])
def test_scan_warns_about_tampering_but_never_zeroes(source):
    assert severities(source) == {"review"}, findings(source)


@pytest.mark.parametrize("source", [
    "import numpy as np\nfrom dlcourse.checks import assert_close",  # the same imports again
    "def double(x):\n    np = 3\n    return 2 * x",  # a local name
    "model.compile('sgd')\nlayer.kernel = w\nos.environ['A'] = '1'",
    "import matplotlib.pyplot as plt\nplt.rcParams['figure.dpi'] = 80",
    "%time y = double(3)\n", "class Layer:\n    def __init__(self):\n        self.w = 1",
    "values = [x for x in range(3)]\nfor i in range(3):\n    pass",
    "this is not python (",
    # honest code the scan used to zero (issue 12)
    "from IPython.display import display\ndisplay(3)",
    "import inspect\nprint(inspect.signature(double))", "print(vars(layer))",
])
def test_scan_leaves_ordinary_code_alone(source):
    assert severities(source) == set(), findings(source)


@pytest.mark.parametrize("source", ["len = 0", "!ls", "%load_ext autoreload",
                                    "import os\nos._exit(0)", "import subprocess",
                                    "x = input()"])
def test_scan_asks_for_a_look(source):
    assert severities(source) == {"review"}


def test_the_protected_names_rule_is_said_once():
    protected, used = protected_names(
        ["import numpy as np\ndef helper(x):\n    return x"],
        ["def helper(x):\n    return x\nassert_close(len(helper(1)), 1)"])
    assert set(protected) == {"np"} and "len" in used


SOLUTIONS = sorted(p.name for p in paths.SOLUTIONS.iterdir() if p.is_dir())


@pytest.mark.parametrize("unit", SOLUTIONS)
def test_no_solution_answer_is_flagged(unit):
    nb = nbformat.read(paths.solution(unit), 4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    trusted = [c.source for c in code if utils.is_locked(c)]
    tests = [c.source for c in code if utils.is_grade(c)]
    # As ScanStudentCode does: a cell the student left as released (the Colab set-up
    # cell, which runs pip) is the course's code, not the student's.
    released = {c.source for c in nbformat.read(paths.exercise(unit), 4).cells}
    student = [(c.metadata.get("nbgrader", {}).get("grade_id", "cell"), c.source)
               for c in code if not utils.is_locked(c) and c.source not in released]
    assert scan(student, trusted, tests) == []


@pytest.mark.parametrize("unit", SOLUTIONS)
def test_no_lesson_or_solution_cell_scanned_as_a_students_gets_a_zero(unit):
    solution = [c for c in nbformat.read(paths.solution(unit), 4).cells if c.cell_type == "code"]
    lesson = [c for c in nbformat.read(paths.lesson(unit), 4).cells if c.cell_type == "code"]
    trusted = [c.source for c in solution if utils.is_locked(c)]
    tests = [c.source for c in solution if utils.is_grade(c)]
    every = [(f"cell {i}", c.source) for i, c in enumerate(solution + lesson)]
    found = scan(every, trusted, tests)
    assert [f.text for f in found if f.severity == "zero"] == []
    assert {f.severity for f in found} <= {"review"}
