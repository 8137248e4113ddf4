"""Grade every test cell by the values the student's code produced, judged outside the kernel.

``Judge`` runs after ``GuardedExecute``. For each graded test cell it takes the
check records the cell published (``dlcourse.checks``: the student's values as
plain data) and compares them, in the grader's own process and with its own
NumPy, with the records the same cell published when the solution ran in a
pristine kernel (``grader.preprocessors.reference``): the same checks in the same order,
each student value within the reference's ``tol`` of, or equal to, the
reference's expected value, of the dtype the task states. Values are decoded
by the grader (never unpickled). A cell passes only if it ran without error
and every record matches; otherwise its outputs become one error whose message
says what was expected and what came back. Every message is the grader's own
text: the check's name, the expected and recorded values as the grader formats
them, or, for a cell that raised, the exception's type alone (``raised``):
never a text the student's code produced, since that code can read the hidden
tests while they run. Nothing the student's code does in
its kernel (patched checkers, NumPy or TensorFlow, forged records) can make a
wrong value pass: a forged record can only claim values, which are judged, and
the test cell ran sealed (``grader.preprocessors.seal``), so no expected value
existed in that kernel to claim. A value check whose expected value was not
sealed (an oracle outside ``oracle(...)``) is noted for review.

Models (``assert_accuracy``) are evaluated again in a pristine sandboxed kernel
(``safe_mode``) on the test set and the validation split; a test accuracy
implausibly above the validation accuracy (or the other way round: trained on the
validation images) is noted for review. Training cells
with a time budget (``{"dlcourse": {"time_budget_s": N, "test": ID}}`` in the
released notebook) fail their test cell when the student's code ran longer than
that before the check, by ``GuardedExecute``'s clock (``_budgets``).
Records are removed from the graded notebook afterwards.
"""

import base64
import builtins
import json
import secrets
import shutil
import tempfile
from pathlib import Path

from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Float, Integer, Unicode

from dlcourse.checks import decode, mismatch
from grader.preprocessors import pristine, reference
from grader.preprocessors.execute import GRADER_ERRORS
from grader.preprocessors.sanitize import release_notebook
from grader.reporting import notes

MIME = reference.MIME
MAX_MESSAGE = 1500


def fail_output(message):
    """The one output a rejected test cell keeps."""
    text = message if len(message) <= MAX_MESSAGE else message[:MAX_MESSAGE] + " ..."
    return NotebookNode(output_type="error", ename="AssertionError", evalue=text,
                        traceback=[f"AssertionError: {text}"])


def raised(error):
    """What a verdict says of a cell's error ``"Name: message"`` (None: no error). The
    grader's own errors (``execute.GRADER_ERRORS``) are shown whole; of any other only the
    type, and only if it is one of Python's own exceptions: a message, or the name of a
    class the student defined, could carry the hidden tests out."""
    if error is None:
        return None
    name, _, _ = str(error).partition(":")
    if name in GRADER_ERRORS:
        return str(error)
    builtin = getattr(builtins, name, None) if name.isidentifier() else None
    if isinstance(builtin, type) and issubclass(builtin, BaseException):
        return f"the test raised {name} (run the notebook yourself to see where)"
    return "the test raised an exception of a class your code defines"


def compare(student, ref, error=None, models=None):
    """Why a test cell fails (None if it passes): ``student`` and ``ref`` are its record
    lists, ``error`` the cell's own error in the student's kernel (``"Name: message"``,
    reported as ``raised`` says), ``models`` the grader's evaluations {record index:
    result} of the cell's ``accuracy`` records."""
    for i, want in enumerate(ref):
        name = want.get("name", f"check {i + 1}")
        if i >= len(student):
            return raised(error) or f"{name}: this check did not run"
        got = student[i]
        if got.get("kind") != want["kind"] or got.get("name") != want.get("name"):
            return f"{name}: expected this check here, got the check {str(got.get('name'))[:80]!r}"
        if want["kind"] == "accuracy":
            why = _accuracy(want, (models or {}).get(i))
        else:
            try:
                actual = decode(got["actual"])
            except Exception:  # refused by the kernel, or not readable data
                return raised(error) or f"{name}: the value could not be read as plain data"
            why = mismatch(want["kind"], actual, decode(want["expected"]), want.get("tol"),
                           want.get("dtype"))
        if why is not None:
            return f"{name}: {why}"
    if len(student) > len(ref):
        return (f"the cell made {len(student)} checks; the reference makes {len(ref)} "
                "(does your code call dlcourse.checks itself?)")
    return raised(error)


def unsealed(records):
    """Names of the value checks whose expected value was not sealed: in a sealed test
    cell (``grader.preprocessors.seal``) every one is, unless an oracle sits outside
    ``oracle(...)``."""
    return [str(r.get("name")) for r in records if r.get("kind") in ("close", "equal", "shape")
            and not (isinstance(r.get("expected"), dict) and r["expected"].get("type") == "sealed")]


def _accuracy(want, result):
    if result is None:
        return "the model was not recorded"
    if "error" in result:  # the type only: a message can quote the model's own strings
        return ("the grader could not evaluate the model "
                f"({str(result['error']).partition(':')[0][:60]})")
    if not result["test"] >= want["minimum"]:
        return (f"expected a test accuracy of at least {want['minimum']:.2%}, "
                f"got {result['test']:.2%} (evaluated by the grader)")
    return None


# Evaluates saved models; run with JOBS = [(model file, INPUTS key)] and MARK = the result
# line's prefix defined before it (the judge's pristine kernel, the unit tests' kernel).
EVALUATE = r'''
import json, os
import dlcourse
tf = dlcourse.quiet_tensorflow()
import keras
from dlcourse import checks, data
(x_train, y_train), (x_test, y_test) = data.load_mnist()
_, (x_val, y_val) = data.validation_split(x_train, y_train)
out = {}
for name, inputs in JOBS:
    try:
        model = keras.saving.load_model(name, safe_mode=True, compile=False)
        prepare = checks.INPUTS[inputs]
        out[name] = {"test": checks.accuracy(model, prepare(x_test), y_test),
                     "validation": checks.accuracy(model, prepare(x_val), y_val)}
    except Exception as exc:
        out[name] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
print(MARK + json.dumps(out))
'''


class Judge(NbGraderPreprocessor):
    """Pass a test cell only if its recorded values match the reference's."""

    reference_folder = Unicode(
        "", help="Where reference records are cached (default: instructor-data/reference)."
    ).tag(config=True)
    reference_timeout = Integer(900, help="Seconds per cell of the reference run.").tag(
        config=True)
    model_timeout = Integer(600, help="Seconds to evaluate a notebook's models.").tag(config=True)
    locked_cell_allowance = Float(2.0, help="A locked cell's time not charged to a training "
                                            "budget: at most this many times its time in "
                                            "the solution's run (plus 1 s).").tag(config=True)
    plausible_gap = Float(0.005, help="Test accuracy at most this far above validation "
                                      "accuracy is never flagged.").tag(config=True)
    plausible_error_ratio = Float(0.6, help="A test error below this share of the validation "
                                            "error is flagged for review (trained on the test "
                                            "set?).").tag(config=True)

    def preprocess(self, nb, resources):
        refs = reference.load(self.config, resources, self.reference_folder,
                              self.reference_timeout, self.log)
        if refs is None:
            self.log.warning("No solution notebook: test cells are judged in the kernel only")
            return nb, resources
        models = self._models(nb, refs)
        budgets = self._budgets(nb, resources, refs)
        for index, cell in enumerate(nb.cells):
            if not (cell.cell_type == "code" and utils.is_grade(cell)
                    and not utils.is_solution(cell)):
                continue
            gid = cell.metadata["nbgrader"]["grade_id"]
            ref = refs.get(gid)
            student = reference.records(cell)
            error = reference.error_of(cell)
            if ref is None:
                why = raised(error) or ("the cell made checks the reference does not know"
                                        if student else None)
            else:
                if ref["error"]:
                    notes.add(nb, "review", "reference", f"the solution fails its own test "
                              f"`{gid}`: {ref['error'][:200]}")
                why = compare(student, ref["records"], error, models.get(index))
                self._review_records(nb, gid, student, ref, error)
                self._review_models(nb, gid, ref["records"], models.get(index))
            why = why or budgets.get(gid) or _stderr(cell)
            # nbgrader would take a number the cell returned as its score: the judge decides
            cell.outputs = [o for o in cell.outputs if not _is_record(o)
                            and o.get("output_type") != "execute_result"]
            if why is not None:
                cell.outputs = [fail_output(why)]
        for cell in nb.cells:  # records a student cell published: strip them too
            if cell.cell_type == "code":
                cell.outputs = [o for o in cell.get("outputs", []) if not _is_record(o)]
        return nb, resources

    def _review_records(self, nb, gid, student, ref, error):
        """Notes for records no honest run of a sealed test cell publishes."""
        leaked = unsealed(student)
        copied = [str(r.get("name")) for r in student
                  if isinstance(r.get("actual"), dict) and r["actual"].get("type") == "sealed"]
        if copied:
            notes.add(nb, "review", "judge", f"`{gid}`: the check {copied[0]!r} was handed the "
                      "grader's stand-in for the expected value as the student's value (code "
                      "that tries to copy expected values into the checks?)")
        elif leaked:
            notes.add(nb, "review", "oracle", f"`{gid}`: the check {leaked[0]!r} received an "
                      "expected value in the student's kernel (forged records, or a test cell "
                      "that computes it outside oracle(...))")
        elif not student and ref["records"] and error is None and not ref["error"]:
            notes.add(nb, "review", "judge", f"`{gid}` ran without an error but recorded no "
                      "check (were the checks replaced?)")

    # --- time budgets measured by GuardedExecute -------------------------------------------
    def _budgets(self, nb, resources, refs):
        """{test grade_id: why it fails} for training cells over their budget.

        The charge is the wall time from the first cell's start to the moment the test
        cell's first check record arrived (``GuardedExecute``'s clock), less what the
        locked cells before it are allowed: their time in this run, but at most
        ``locked_cell_allowance`` times their time in the solution's reference run (plus
        a second). So everything the student's code did up to the check counts: cells
        added anywhere, threads running beside other cells, hooks that run when the
        test cell starts."""
        released = release_notebook(self.config, resources)
        released = released.cells if released is not None else []
        clock = resources.get("dlcourse", {})
        seconds, started = clock.get("seconds", {}), clock.get("started", {})
        arrived = clock.get("records", {})
        reference_seconds = refs.get(reference.SECONDS)
        locked = {_grade_id(c) for c in released if utils.is_locked(c)}
        where = {_grade_id(c): i for i, c in enumerate(nb.cells)}
        found = {}
        for cell in released:
            meta = cell.metadata.get("dlcourse", {})
            test = where.get(meta.get("test"))
            if not ("time_budget_s" in meta and _grade_id(cell) in where and test in started):
                continue
            took = (arrived.get(test) or [started[test] + seconds.get(test, 0.0)])[0]
            for i in range(test):
                gid = _grade_id(nb.cells[i])
                if gid in locked and i in seconds:
                    took -= self._allowance(gid, seconds[i], reference_seconds)
            budget = float(meta["time_budget_s"])
            if took > budget:
                found[meta["test"]] = (f"training took {took:.0f} s; the budget is "
                                       f"{budget:g} s (measured by the grader)")
        return found

    def _allowance(self, gid, measured, reference_seconds):
        """The seconds of the released notebook's locked cell ``gid`` not charged to the
        student (``reference_seconds`` None: a reference cached before it kept times)."""
        if reference_seconds is None:
            return measured
        ran = reference_seconds.get(gid)
        return 0.0 if ran is None else min(measured, self.locked_cell_allowance * ran + 1.0)

    # --- models, evaluated in a pristine sandboxed kernel ------------------------------------
    def _models(self, nb, refs):
        jobs, where = [], {}
        folder = Path(tempfile.mkdtemp(prefix="grader-models-"))
        try:
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code" or not utils.is_grade(cell):
                    continue
                wanted = refs.get(cell.metadata["nbgrader"]["grade_id"], {}).get("records", [])
                for i, record in enumerate(reference.records(cell)):
                    if (i >= len(wanted) or wanted[i]["kind"] != "accuracy"
                            or record.get("kind") != "accuracy"
                            or not isinstance(record.get("model"), str)):
                        continue
                    name = f"model-{index}-{i}.keras"
                    try:
                        (folder / name).write_bytes(base64.b64decode(record["model"],
                                                                     validate=True))
                    except ValueError:
                        continue
                    jobs.append((name, str(wanted[i].get("inputs", "flat"))))
                    where[name] = (index, i)
            if not jobs:
                return {}
            results = self._evaluate(jobs, folder)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        found = {}
        for name, (index, i) in where.items():
            found.setdefault(index, {})[i] = results.get(name, {"error": "not evaluated"})
        return found

    def _evaluate(self, jobs, folder):
        mark = secrets.token_hex(8)
        source = f"JOBS = {jobs!r}\nMARK = {mark!r}\n" + EVALUATE
        outputs = pristine.run_code(source, folder, self.config, self.model_timeout, self.log)
        for out in outputs:
            for line in out.get("text", "").splitlines():
                if line.startswith(mark):
                    return json.loads(line[len(mark):])
        failure = reference.error_of(NotebookNode(outputs=outputs)) or "no result"
        return {name: {"error": failure[:300]} for name, _ in jobs}

    def _review_models(self, nb, gid, refs, results):
        for i, want in enumerate(refs):
            result = (results or {}).get(i) or {}
            seen = want["kind"] == "accuracy" and implausible(result, self.plausible_gap,
                                                              self.plausible_error_ratio)
            if seen:
                other = "validation" if seen == "test" else "test"
                notes.add(nb, "review", "accuracy", f"`{gid}`: the model's {seen} accuracy "
                          f"{result[seen]:.2%} is implausibly above its {other} accuracy "
                          f"{result[other]:.2%}: was it trained on the {seen} "
                          f"{'set' if seen == 'test' else 'images'}?")


def implausible(result, gap=0.005, error_ratio=0.6):
    """Which of a model's evaluations ``{"test": accuracy, "validation": accuracy}`` it
    implausibly did well on (``"test"`` or ``"validation"``; None: neither): an accuracy
    more than ``gap`` above the other *and* an error below ``error_ratio`` of the other's,
    a model that saw those images."""
    if "test" not in result or "validation" not in result:
        return None
    for seen, other in (("test", "validation"), ("validation", "test")):
        ratio = (1 - result[seen]) / max(1e-9, 1 - result[other])
        if result[seen] - result[other] > gap and ratio < error_ratio:
            return seen
    return None


def _grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def _stderr(cell):
    for out in cell.outputs:
        if out.get("output_type") == "stream" and out.get("name") == "stderr":
            return "the cell wrote to stderr (a test cell must not)"
    return None


def _is_record(out):
    return MIME in out.get("data", {})
