"""nbgrader's Validate button where there is none (Google Colab, VS Code, a terminal).

In a notebook, as its last cell::

    from dlcourse.validate import validate
    validate()          # or validate("01_tensors.ipynb")

In a terminal::

    python -m dlcourse.validate exercises/01_tensors/01_tensors.ipynb

Like Validate, it runs the whole notebook in a fresh kernel and prints the same
verdict: the failing test cells with their errors, word for word as Validate
(and the same warnings when test cells or cell types were changed). It runs only
the visible tests: a student's copy has no hidden ones, and from a graded source
notebook the hidden parts are cut out. So where every visible test passes it says
exactly that (``SUCCESS``), not Validate's "passes all the tests": the grade
also counts hidden tests on fresh cases.

``python -m dlcourse.validate --worked-on exercises`` validates every exercise
the student has started (an answer cell differs from the released one): what
the student edition's ``make check`` runs.

It does not need nbgrader, which Colab lacks (and whose server dependencies
would fight Colab's own): only nbformat and nbclient, which Colab ships. The
notebook is found by itself in Colab (the notebook as the browser holds it,
unsaved edits included), in VS Code (the saved file) and in JupyterLab.
"""

import argparse
import hashlib
import os
import re
import sys
import textwrap
from pathlib import Path

SUCCESS = ("Success! All the visible tests pass; your instructor's grading also runs "
           "hidden tests.")
NBGRADER_SUCCESS = "Success! Your notebook passes all the tests."  # what Validate says instead
# As the course's nbgrader configuration (grader/nbgrader_config.py) sets them for Validate:
WIDTH, INDENT = 200, "    "  # c.Validator.width (nbgrader's own default is 90), .indent
CELL_TIMEOUT = 600  # seconds, c.Execute.timeout
VALIDATING = "NBGRADER_VALIDATING"  # set in the kernel that validates (nbgrader sets it too)
_ANSI = re.compile("\x1b\\[(.*?)([@-~])")
_HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?^[ \t]*### END HIDDEN TESTS[ \t]*\n?",
                     re.MULTILINE | re.DOTALL)
TYPE_CHANGED = ("THE TYPES OF {n} CELL(S) HAVE CHANGED! This might mean that even though the "
                "tests are passing now, they won't pass when your assignment is graded.")
CHANGED = ("THE CONTENTS OF {n} TEST CELL(S) HAVE CHANGED! This might mean that even though "
           "the tests are passing now, they won't pass when your assignment is graded.")
FAILED = ("VALIDATION FAILED ON {n} CELL(S)! If you submit your assignment as it is, you "
          "WILL NOT receive full credit.")


class NotebookNotFound(RuntimeError):
    """validate() was called where it cannot find the notebook by itself."""


# --- nbgrader's cell roles, as its metadata (schema 3) defines them ----------------------

def _meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def is_grade(cell):
    """A test cell (or a graded answer)."""
    return bool(_meta(cell).get("grade", False))


def is_solution(cell):
    """A cell the student writes in."""
    return bool(_meta(cell).get("solution", False))


def is_locked(cell):
    """A cell the student must not change: tests and read-only cells."""
    if not _meta(cell) or is_solution(cell):
        return False
    return is_grade(cell) or bool(_meta(cell).get("locked", False))


def checksum(cell):
    """The checksum nbgrader stores in a released cell's metadata."""
    m = hashlib.md5()
    for part in (cell.source, cell.cell_type, str(is_grade(cell)), str(is_solution(cell)),
                 str(is_locked(cell)), _meta(cell)["grade_id"]):
        m.update(part.encode("utf-8"))
    if is_grade(cell):
        m.update(str(float(_meta(cell)["points"])).encode("utf-8"))
    return m.hexdigest()


def _outputs_failed(cell):
    return any(o.output_type == "error" or (o.output_type == "stream" and o.name == "stderr")
               for o in cell.get("outputs", []))


def score(cell):
    """(score or None, points) of an executed grade cell, as nbgrader scores it."""
    points = float(_meta(cell)["points"])
    if is_solution(cell):
        unchanged = _meta(cell).get("checksum") == checksum(cell)
        return (0, points) if unchanged else (None, points)
    if cell.cell_type != "code":
        return None, points
    for out in cell.outputs:
        if out.output_type == "error" or (out.output_type == "stream" and out.name == "stderr"):
            return 0, points
        if out.output_type == "execute_result":
            return _partial(out, points), points
    return points, points


def _partial(output, points):
    value = output["data"]["text/plain"]
    if isinstance(value, list):
        if len(value) > 1:
            return points
        value = value[0]
    try:
        value = float(value)
    except ValueError:
        return points
    if value > points:
        raise ValueError("partial credit cannot be greater than maximum points for cell")
    return value if value >= 0 else points


# --- running the notebook and writing the verdict ----------------------------------------

def strip_hidden_tests(source):
    """``source`` without its ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS`` parts."""
    return _HIDDEN.sub("", source)


def execute(nb, cwd):
    """Run ``nb`` in place in a fresh kernel started in ``cwd``, errors kept as outputs."""
    from nbclient import NotebookClient

    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            if is_grade(cell) and not is_solution(cell):
                cell.source = strip_hidden_tests(cell.source)
    kernel = nb.metadata.get("kernelspec", {}).get("name") or "python3"
    client = NotebookClient(
        nb, timeout=CELL_TIMEOUT, kernel_name=kernel, allow_errors=True,
        interrupt_on_timeout=True, extra_arguments=["--HistoryManager.hist_file=:memory:"],
        error_on_timeout={"ename": "CellTimeoutError", "evalue": "", "traceback": [
            "\x1b[0;31mCellTimeoutError\x1b[0m: No reply from kernel before timeout"]},
        resources={"metadata": {"path": str(cwd)}},
    )
    env = dict(os.environ, **{VALIDATING: "1", "NBGRADER_EXECUTION": "validate"})
    client.execute(env=env)
    return nb


def _indent(text):
    lines = []
    for line in text.split("\n"):
        line = INDENT + _ANSI.sub("", line)
        lines.append(line[:WIDTH - 3] + "..." if len(line) > WIDTH - 3 else line)
    return "\n".join(lines)


def _error(cell):
    errors = []
    if cell.cell_type == "code":
        for out in cell.outputs:
            if out.output_type == "error":
                errors.append("\n".join(out.traceback))
            if out.output_type == "stream" and out.name == "stderr":
                errors.append(out.text)
        if not errors:
            if is_grade(cell) and score(cell)[0] < score(cell)[1]:
                errors.append("Partial credit; passed some but not all of the tests")
            elif not is_grade(cell):
                errors.append("You did not provide a response.")
    else:
        errors.append("You did not provide a response.")
    return "\n".join(errors)


def _block(title, source, error=None):
    text = "\n" + "=" * WIDTH + "\n" + title + "\n\n" + _indent(source.strip()) + "\n\n"
    if error is not None:
        text += "The error was:\n\n" + _indent(error) + "\n\n"
    return text


def verdict(nb, cwd="."):
    """Validate the notebook ``nb`` (an nbformat node; it is executed in place).

    Returns ``(passed, text)``, ``text`` being what nbgrader's Validate prints.
    """
    graded = [c for c in nb.cells if is_grade(c) or is_solution(c) or is_locked(c)]
    retyped = [c for c in graded if _meta(c).get("cell_type")
               and _meta(c)["cell_type"] != c.cell_type]
    if retyped:
        text = textwrap.fill(TYPE_CHANGED.format(n=len(retyped)), width=WIDTH)
        for c in retyped:
            text += _block(f"The following {c.cell_type} cell has changed to a "
                           f"{_meta(c)['cell_type']} cell:", c.source)
        return False, text
    changed = [c for c in nb.cells if is_locked(c) and "checksum" in _meta(c)
               and _meta(c)["checksum"] != checksum(c)]
    if changed:
        text = textwrap.fill(CHANGED.format(n=len(changed)), width=WIDTH)
        return False, text + "".join(_block("The following cell has changed:", c.source)
                                     for c in changed)
    execute(nb, cwd)
    failed = []
    for cell in nb.cells:
        if is_grade(cell):
            got, points = score(cell)
            if got is not None and (got < points or (points == 0 and _outputs_failed(cell))):
                failed.append(cell)
    if not failed:
        return True, SUCCESS + "\n"
    text = textwrap.fill(FAILED.format(n=len(failed)), width=WIDTH)
    return False, text + "".join(_block("The following cell failed:", c.source, _error(c))
                                 for c in failed)


# --- finding the notebook ----------------------------------------------------------------

def _user_namespace():
    try:
        from IPython import get_ipython
    except ImportError:
        return {}
    shell = get_ipython()
    return shell.user_ns if shell is not None else {}


def current_notebook():
    """The notebook this kernel runs, as ``(nbformat node, folder to run it in)``.

    Colab: the notebook as the browser holds it; VS Code: the file in
    ``__vsc_ipynb_file__``; JupyterLab: the file in ``$JPY_SESSION_NAME``.
    """
    import nbformat

    try:
        from google.colab import _message
    except ImportError:
        _message = None
    if _message is not None:
        reply = _message.blocking_request("get_ipynb", request="", timeout_sec=60)
        if not reply or "ipynb" not in reply:
            raise NotebookNotFound("Colab did not send the notebook; run this cell again.")
        return nbformat.from_dict(reply["ipynb"]), Path.cwd()
    namespace = {**vars(sys.modules["__main__"]), **_user_namespace()}
    for path in (namespace.get("__vsc_ipynb_file__"), os.environ.get("JPY_SESSION_NAME")):
        if path and Path(path).is_file() and str(path).endswith(".ipynb"):
            return nbformat.read(path, as_version=4), Path(path).resolve().parent
    raise NotebookNotFound(
        "Cannot tell which notebook this is. Save it and pass its path: "
        'validate("01_tensors.ipynb"), or run `python -m dlcourse.validate NOTEBOOK`.')


def validate(notebook=None):
    """Print nbgrader's Validate verdict for ``notebook`` (a path; default: this notebook).

    Returns True when every visible test passes. Save the notebook first in VS
    Code and JupyterLab (they validate the saved file; Colab sends its live copy).
    """
    if os.environ.get(VALIDATING):
        print("(validate() skipped: this notebook is being validated right now)")
        return None
    import nbformat

    if notebook is None:
        nb, cwd = current_notebook()
    else:
        path = Path(notebook)
        if not path.is_file():
            raise FileNotFoundError(f"No notebook at {path}: pass the path of the .ipynb file "
                                    f"to validate (now in {Path.cwd()}).")
        nb, cwd = nbformat.read(path, as_version=4), path.resolve().parent
    passed, text = verdict(nb, cwd)
    print(text, end="")
    return passed


def worked_on(path):
    """True when the notebook at ``path`` has an answer cell that differs from the one
    released (nbgrader's checksum, stored in every answer cell of a student's copy)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    return any(is_solution(c) and "checksum" in _meta(c) and _meta(c)["checksum"] != checksum(c)
               for c in nb.cells)


def started_exercises(folder):
    """The notebooks under ``folder`` that the student has worked on, sorted."""
    return [p for p in sorted(Path(folder).rglob("*.ipynb"))
            if ".ipynb_checkpoints" not in p.parts and worked_on(p)]


def main(argv=None):
    """``python -m dlcourse.validate NOTEBOOK ...`` or ``--worked-on FOLDER``: exit 0
    when the visible tests of every notebook pass, else 1."""
    parser = argparse.ArgumentParser(prog="python -m dlcourse.validate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path, help="the .ipynb files to validate")
    parser.add_argument("--worked-on", type=Path, metavar="FOLDER",
                        help="also every notebook under FOLDER whose answers were changed")
    args = parser.parse_args(argv)
    notebooks = list(args.notebooks)
    if args.worked_on:
        started = started_exercises(args.worked_on)
        if not started and not notebooks:
            print(f"No exercise under {args.worked_on} has a changed answer yet: write one, "
                  "save the notebook, and run this again (or name the notebook).")
            return 0
        notebooks += started
    if not notebooks:
        parser.error("name a notebook, or a folder with --worked-on")
    results = []
    try:
        for notebook in notebooks:
            if len(notebooks) > 1 or args.worked_on:
                print(f"\n### {notebook}\n", flush=True)
            results.append(validate(notebook))
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if len(notebooks) > 1:
        failed = [str(n) for n, ok in zip(notebooks, results, strict=True) if not ok]
        print(f"\n{len(notebooks) - len(failed)} of {len(notebooks)} notebook(s) pass their "
              "visible tests" + (": fix " + ", ".join(failed) if failed else "."))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
