"""The grader's parts on their own: no kernels, no nbgrader runs, fast."""

import subprocess
import sys

import nbformat
import numpy as np
import pytest
from fixtures.submissions.cases import CELLS
from nbformat.v4 import new_code_cell, new_notebook, new_output
from support import paths

from dlcourse import checks
from grader.preprocessors import probe
from grader.preprocessors.hide import HideHiddenTests, message, split_hidden
from grader.preprocessors.scan import scan

TRUSTED = ["import numpy as np\nfrom dlcourse.checks import assert_close, assert_equal"]
TESTS = ["assert_close(double(np.array([1.0])), np.array([2.0]))\nprint(len([1]))"]


def findings(source):
    return {(f.severity, f.text.split(": ", 1)[1]) for f in scan([("c", source)], TRUSTED, TESTS)}


def severities(source):
    return {f.severity for f in scan([("c", source)], TRUSTED, TESTS)}


# --- the static scan -------------------------------------------------------------------


@pytest.mark.parametrize(("snippet", "severity"), [
    ("cheat_allclose.py", "zero"), ("cheat_helpers.py", "zero"), ("cheat_print.py", "zero"),
    ("cheat_showtraceback.py", "zero"), ("os_exit.py", "review"),
    ("waits_for_input.py", "review"), ("scratch_work.py", None), ("infinite_loop.py", None),
    ("memory_bomb.py", None), ("output_flood.py", None),
])
def test_scan_flags_the_fixture_cells(snippet, severity):
    found = severities((CELLS / snippet).read_text())
    assert found == ({severity} if severity else set())


def test_a_patch_through_an_alias_needs_the_runtime_probe():
    # cheat_hidden_patch.py is written to slip past the static read: the probe catches it.
    assert severities((CELLS / "cheat_hidden_patch.py").read_text()) == set()


@pytest.mark.parametrize("source", [
    "exec('np.allclose = 1')", "globals()['assert_close'] = print", "import builtins",
    "double.__code__ = (lambda x: 2 * x).__code__", "import sys\nsys.stderr = None",
    "np.__dict__['allclose'] = 1", "setattr(np, 'allclose', abs)",
    "def f():\n    global np\n    np = None", "%%time\nnp.allclose = 1",
    "import numpy.testing as npt\nnpt.assert_allclose = print", "get_ipython().run_cell = 1",
    "import gc", "import ctypes", "from importlib import reload", "len = lambda x: 0",
    "import dlcourse.checks as c\nc.assert_close = print", "del np.allclose",
])
def test_scan_zeroes_tampering(source):
    assert "zero" in severities(source), findings(source)


@pytest.mark.parametrize("source", [
    "import numpy as np\nfrom dlcourse.checks import assert_close",  # the same imports again
    "def double(x):\n    np = 3\n    return 2 * x",  # a local name
    "model.compile('sgd')\nlayer.kernel = w\nos.environ['A'] = '1'",
    "import matplotlib.pyplot as plt\nplt.rcParams['figure.dpi'] = 80",
    "%time y = double(3)\n", "class Layer:\n    def __init__(self):\n        self.w = 1",
    "values = [x for x in range(3)]\nfor i in range(3):\n    pass",
    "this is not python (",
])
def test_scan_leaves_ordinary_code_alone(source):
    assert severities(source) == set()


@pytest.mark.parametrize("source", ["len = 0", "!ls", "%load_ext autoreload",
                                    "import os\nos._exit(0)", "import subprocess",
                                    "x = input()"])
def test_scan_asks_for_a_look(source):
    assert severities(source) == {"review"}


@pytest.mark.parametrize("unit", sorted(p.name for p in paths.SOLUTIONS.iterdir() if p.is_dir()))
def test_no_solution_is_flagged(unit):
    from nbgrader import utils

    nb = nbformat.read(paths.solution(unit), 4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    trusted = [c.source for c in code if utils.is_locked(c)]
    tests = [c.source for c in code if utils.is_grade(c)]
    student = [(c.metadata.get("nbgrader", {}).get("grade_id", "cell"), c.source)
               for c in code if not utils.is_locked(c)]
    assert scan(student, trusted, tests) == []


# --- the runtime probe's bookkeeping -------------------------------------------------


def test_probe_changes_ignore_what_changes_on_its_own():
    before = {"numpy.allclose": "1:2", "builtins.input": "3:0", "user:np": "5:0",
              "user:x": "7:0", "user:len": "absent", "user:check": "absent"}
    after = {"numpy.allclose": "9:9", "builtins.input": "4:0", "user:np": "5:0",
             "user:x": "data", "user:len": "8:0", "user:check": "6:0", "new": "1"}
    assert probe.changes(before, after) == [
        ("numpy.allclose", "zero"), ("user:len", "zero"), ("user:x", "review")]
    assert "numpy.allclose" in probe.describe("numpy.allclose")


def test_probe_parse_survives_garbage():
    assert probe.parse({"content": {"status": "error"}}) is None
    reply = {"content": {"status": "ok", "user_expressions": {"probe": {
        "status": "ok", "data": {"text/plain": repr('{"a": "1"}')}}}}}
    assert probe.parse(reply) == {"a": "1"}


# --- feedback without hidden tests ------------------------------------------------------


def test_hidden_tests_and_their_traces_are_removed():
    source = ("check(1)\n### BEGIN HIDDEN TESTS\nsecret_case = make_the_secret_case(7)\n"
              "check(secret_case)\n### END HIDDEN TESTS\nprint('done')")
    kept, hidden = split_hidden(source)
    assert "secret" not in kept and kept.endswith("print('done')") and len(hidden) == 2
    test = new_code_cell(source, metadata={"nbgrader": {"grade": True, "grade_id": "t",
                                                        "points": 1, "locked": True}})
    test.outputs = [
        new_output("stream", name="stderr", text="w.py:3: UserWarning\n  check(secret_case)\n"),
        new_output("error", ename="AssertionError", evalue="t: expected 2, got 3",
                   traceback=["Traceback", "----> 4 secret_case = make_the_secret_case(7)"]),
    ]
    nb = new_notebook(cells=[test])
    HideHiddenTests().preprocess(nb, {})
    text = nbformat.writes(nb)
    assert "make_the_secret_case" not in text and "check(secret_case)" not in text
    assert nb.cells[0].outputs[1].traceback == ["AssertionError: t: expected 2, got 3"]
    assert message(nb.cells[0]) == "AssertionError: t: expected 2, got 3"


# --- the checks cannot be fooled by patching NumPy --------------------------------------


def test_checks_ignore_a_patched_numpy(monkeypatch):
    names = ("allclose", "abs", "absolute", "max", "amax", "maximum", "all", "logical_and",
             "isfinite", "array_equal", "equal", "asarray", "any")
    for name in names:
        monkeypatch.setattr(np, name, lambda *a, **k: True)
    monkeypatch.setattr(np.testing, "assert_allclose", lambda *a, **k: None)
    with pytest.raises(AssertionError):
        checks.assert_close([1.0, 2.0], [1.0, 3.0])
    with pytest.raises(AssertionError):
        checks.assert_equal(np.zeros(3), np.ones(3))
    with pytest.raises(AssertionError):
        checks.assert_shape(np.zeros(3), (4,))
    checks.assert_close([1.0, 2.0], [1.0, 2.0])
    assert checks.rel_error([1.0], [1.0]) == 0.0


class EqualsAnything:
    def __eq__(self, other):
        return True

    __hash__ = object.__hash__


def test_checks_refuse_objects_that_equal_everything():
    for expected in (2, "ok", 3.5, [1, 2], (1, "a"), np.arange(3)):
        fake = [EqualsAnything()] * 2 if isinstance(expected, list) else EqualsAnything()
        if isinstance(expected, np.ndarray):
            fake = np.array([EqualsAnything()] * 3, dtype=object)
        with pytest.raises(AssertionError):
            checks.assert_equal(fake, expected)
    checks.assert_equal(np.int64(2), 2)
    checks.assert_equal((1, 2), [1, 2])
    checks.assert_equal(True, True)
    with pytest.raises(AssertionError):
        checks.assert_equal(1, True)
    with pytest.raises(AssertionError):
        checks.assert_equal(True, 1)


# --- the kernel launcher ------------------------------------------------------------------


def test_launcher_limits_memory_and_keeps_the_folder_off_sys_path(tmp_path):
    (tmp_path / "numpy.py").write_text("raise ImportError('shadowed')\n")
    code = ("import os, sys, numpy\n"
            "print(os.getcwd() in sys.path, os.environ['CUDA_VISIBLE_DEVICES'])\n"
            "try:\n    b = bytearray(900 * 2**20)\nexcept MemoryError:\n    print('MemoryError')\n")
    out = subprocess.run([sys.executable, "-P", "-m", "grader.preprocessors.kernel",
                          "--memory-mb=600",
                          "--env=PYTHONSAFEPATH=1", "--env=CUDA_VISIBLE_DEVICES=-1", "--",
                          sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)
    assert out.stdout.split() == ["False", "-1", "MemoryError"], out.stderr
