"""dlcourse.validate prints what nbgrader's Validate prints, without nbgrader.

The oracle is ``nbgrader validate`` (the code behind the Validate button) run
on the same notebook files: the blank exercise, the exercise with the
solutions filled in, and one with an edited test cell. One line differs on
purpose: where every visible test passes, ours says so and that hidden tests
still count, where nbgrader says "passes all the tests".
"""

import os
import re
import subprocess
import sys

import nbformat
import pytest
from nbgrader import utils as nbgrader_utils
from support import paths
from support.kernel import LiveKernel

from dlcourse import validate as v

UNIT = "01_tensors"  # the quickest unit to run
# Our CLI, reporting on stderr whether nbgrader was imported along the way.
OURS = ("import sys, dlcourse.validate as v\n"
        "rc = v.main(sys.argv[1:])\n"
        "print('nbgrader imported:', any(m.split('.')[0] == 'nbgrader' for m in sys.modules),"
        " file=sys.stderr)\n"
        "sys.exit(rc)")


def same_text(text):
    """Tracebacks name the kernel's process id in file names: the one difference allowed."""
    return re.sub(r"ipykernel_\d+", "ipykernel_PID", text)


def both(notebook):
    """(nbgrader validate's stdout, ours, our exit status) on the same file."""
    nbgrader = subprocess.run([str(paths.ROOT / ".venv" / "bin" / "nbgrader"), "validate",
                               str(notebook)], cwd=paths.ROOT, capture_output=True, text=True,
                              timeout=900)
    assert nbgrader.returncode == 0, nbgrader.stderr
    ours = subprocess.run([sys.executable, "-c", OURS, str(notebook)], cwd=paths.ROOT,
                          capture_output=True, text=True, timeout=900)
    assert "nbgrader imported: False" in ours.stderr, ours.stderr
    return same_text(nbgrader.stdout), same_text(ours.stdout), ours.returncode


def solved_exercise(path):
    """The exercise with every answer cell taken from the solution notebook, plus a last
    cell that calls validate() itself (it must not recurse)."""
    answers = {c.metadata.nbgrader["grade_id"]: c.source
               for c in nbformat.read(paths.solution(UNIT), 4).cells if v.is_solution(c)}
    nb = nbformat.read(paths.exercise(UNIT), 4)
    for cell in nb.cells:
        if v.is_solution(cell):
            cell.source = answers[cell.metadata.nbgrader["grade_id"]]
    nb.cells.append(nbformat.v4.new_code_cell("from dlcourse.validate import validate\n"
                                              "validate()"))
    nbformat.write(nb, path)
    return path


@pytest.mark.slow
def test_blank_exercise_fails_exactly_as_nbgrader_says(tmp_path):
    blank = tmp_path / f"{UNIT}.ipynb"
    blank.write_bytes(paths.exercise(UNIT).read_bytes())
    nbgrader, ours, status = both(blank)
    assert nbgrader.startswith("VALIDATION FAILED ON ")
    assert ours == nbgrader
    assert status == 1


@pytest.mark.slow
def test_solved_exercise_succeeds_as_nbgrader_says(tmp_path):
    solved = solved_exercise(tmp_path / f"{UNIT}.ipynb")
    nbgrader, ours, status = both(solved)
    assert nbgrader == v.NBGRADER_SUCCESS + "\n"
    assert ours == v.SUCCESS + "\n" and status == 0
    assert "visible tests pass" in ours and "hidden tests" in ours


@pytest.mark.slow
def test_an_edited_test_cell_gets_nbgrader_s_warning(tmp_path):
    nb = nbformat.read(paths.exercise(UNIT), 4)
    test_cell = next(c for c in nb.cells if v.is_grade(c))
    test_cell.source += "\nassert True"
    edited = tmp_path / f"{UNIT}.ipynb"
    nbformat.write(nb, edited)
    nbgrader, ours, status = both(edited)
    assert nbgrader.startswith("THE CONTENTS OF 1 TEST CELL(S) HAVE CHANGED!")
    assert ours == nbgrader and status == 1


@pytest.mark.slow
def test_validate_in_a_notebook_finds_the_vscode_file(tmp_path):
    solved = solved_exercise(tmp_path / f"{UNIT}.ipynb")
    kernel = LiveKernel(cwd=tmp_path)
    try:
        # VS Code's Jupyter extension defines __vsc_ipynb_file__ in every notebook's kernel.
        result = kernel.run(f"__vsc_ipynb_file__ = {str(solved)!r}\n"
                            "from dlcourse.validate import validate\n"
                            "print('passed:', validate())")
    finally:
        kernel.close()
    assert result.error is None, result.error
    assert result.stdout == v.SUCCESS + "\npassed: True\n"


def test_settings_are_the_course_s_nbgrader_configuration():
    from nbgrader.validator import Validator
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(paths.ROOT)).load_config()
    validator = Validator(config=config)
    assert (v.WIDTH, v.INDENT) == (validator.width, validator.indent)
    assert v.CELL_TIMEOUT == config.Execute.timeout


def test_checksums_are_nbgrader_s():
    cells = [c for c in nbformat.read(paths.exercise(UNIT), 4).cells
             if "checksum" in c.metadata.get("nbgrader", {})]
    assert cells
    for cell in cells:
        assert v.checksum(cell) == nbgrader_utils.compute_checksum(cell)
        assert v.checksum(cell) == cell.metadata.nbgrader["checksum"]
        assert (v.is_grade(cell), v.is_solution(cell), v.is_locked(cell)) == (
            nbgrader_utils.is_grade(cell), nbgrader_utils.is_solution(cell),
            nbgrader_utils.is_locked(cell))


def test_hidden_tests_are_cut_out():
    source = ("check(1)\n### BEGIN HIDDEN TESTS\ncheck(2)\n  check(3)\n"
              "### END HIDDEN TESTS\nprint('ok')")
    assert v.strip_hidden_tests(source) == "check(1)\nprint('ok')"
    solution = nbformat.read(paths.solution(UNIT), 4)
    hidden = [c for c in solution.cells if "BEGIN HIDDEN TESTS" in c.source]
    assert hidden and all("HIDDEN" not in v.strip_hidden_tests(c.source) for c in hidden)


def test_without_a_path_outside_a_notebook_it_says_what_to_do(monkeypatch):
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.delenv(v.VALIDATING, raising=False)
    with pytest.raises(v.NotebookNotFound, match="pass its path"):
        v.validate()


def test_a_missing_notebook_is_named(tmp_path, capsys):
    assert v.main([str(tmp_path / "nope.ipynb")]) == 2
    assert "No notebook at" in capsys.readouterr().err


def test_inside_a_validation_it_does_not_recurse(monkeypatch, capsys):
    monkeypatch.setitem(os.environ, v.VALIDATING, "1")
    assert v.validate() is None
    assert "skipped" in capsys.readouterr().out


def test_worked_on_tells_a_started_exercise_from_a_blank_one(tmp_path, capsys):
    blank = tmp_path / "blank" / f"{UNIT}.ipynb"
    blank.parent.mkdir()
    blank.write_bytes(paths.exercise(UNIT).read_bytes())
    assert not v.worked_on(blank) and v.started_exercises(tmp_path) == []
    assert v.main(["--worked-on", str(tmp_path)]) == 0
    assert "No exercise under" in capsys.readouterr().out
    nb = nbformat.read(blank, 4)
    answer = next(c for c in nb.cells if v.is_solution(c) and "checksum" in c.metadata.nbgrader)
    answer.source += "\n# started"
    started = tmp_path / "started" / f"{UNIT}.ipynb"
    started.parent.mkdir()
    nbformat.write(nb, started)
    assert v.worked_on(started) and v.started_exercises(tmp_path) == [started]
