"""The tests every unit gets: lessons and solutions run, nbgrader grades them right,
wrong implementations are rejected, and the student versions are in step.

A unit is a folder ``solutions/NN_name``; its lesson is ``lessons/NN_name.ipynb``,
its student version ``exercises/NN_name/NN_name.ipynb`` and its wrong
implementations ``tests/fixtures/wrong/NN_name/<solution grade_id>__<mistake>.py``.
A wrong implementation's first line names the test cells that must reject it:
``# rejected by: <test grade_id> [<test grade_id> ...]``.
"""

import ast
import base64
import json
import re
import shutil
import tempfile
from pathlib import Path

import nbformat
import pytest
from support import paths
from support.grading import ScratchCourse
from support.kernel import LiveKernel, graded_cells, graded_test_ids
from support.notebooks import execute, stderr_outputs

from grader.preprocessors.judge import EVALUATE, compare, implausible, unsealed
from grader.preprocessors.seal import oracle_calls, seal

UNITS = sorted(p.name for p in paths.SOLUTIONS.iterdir() if p.is_dir() and p.name[:2].isdigit())
WRONG = sorted(
    (unit, f) for unit in UNITS for f in (paths.FIXTURES / "wrong" / unit).glob("*.py")
)


def grouped(name):
    """Mark a test so that all its cases for one unit share an xdist worker."""

    def mark(fn):
        fn.xdist_group_of = lambda params: f"{params['unit']}-{name}"
        return fn

    return mark


@pytest.fixture(scope="session")
def solved():
    """``solved(unit)``: a live kernel that has run the unit's whole solution notebook.

    One kernel is kept at a time (tests are ordered by unit); a notebook that
    fails is not run again for every test that needs it.
    """
    kept = {}

    def solve(unit):
        if unit not in kept:
            for kernel, _ in kept.values():
                if kernel:
                    kernel.close()
            kept.clear()
            kernel = LiveKernel(cwd=paths.solution(unit).parent)
            try:
                kept[unit] = (kernel, kernel.run_notebook(paths.solution(unit)))
            except AssertionError as exc:
                kernel.close()
                kept[unit] = (None, exc)
        kernel, ran = kept[unit]
        if kernel is None:
            pytest.fail(f"the solution notebook of {unit} does not run: {ran}")
        return kernel, ran

    yield solve
    for kernel, _ in kept.values():
        if kernel:
            kernel.close()


@pytest.fixture(scope="session")
def generated(tmp_path_factory):
    """``generated(unit)``: a scratch course where nbgrader generated the unit's exercise."""
    courses = {}

    def generate(unit):
        if unit not in courses:
            courses[unit] = ScratchCourse(tmp_path_factory.mktemp(f"course-{unit}"), [unit])
        return courses[unit]

    return generate


@pytest.fixture(scope="session")
def graded(generated):
    """``graded(unit)``: a scratch course that autograded the solution and the blank."""
    courses = {}

    def grade(unit):
        if unit not in courses:
            scratch = generated(unit)
            scratch.submit("solution", unit, paths.solution(unit))
            scratch.submit("blank", unit, paths.exercise(unit))
            scratch.autograde(unit)
            courses[unit] = scratch
        return courses[unit]

    return grade


@grouped("lesson")
@pytest.mark.slow
@pytest.mark.parametrize("unit", UNITS)
def test_lesson_runs_cleanly(unit):
    nb = execute(paths.lesson(unit))
    assert stderr_outputs(nb) == [], "the lesson writes to stderr"


@grouped("solved")
@pytest.mark.slow
@pytest.mark.parametrize("unit", UNITS)
def test_solution_runs_and_test_cells_are_silent(unit, solved):
    _, ran = solved(unit)
    tests = {i for i, c in enumerate(nbformat.read(paths.solution(unit), 4).cells)
             if c.metadata.get("nbgrader", {}).get("grade")}
    noisy = [(i, r.stderr) for i, r in ran if i in tests and r.stderr]
    assert noisy == [], "test cells that write to stderr score zero in nbgrader"


@pytest.mark.parametrize("unit", UNITS)
def test_every_task_has_a_wrong_implementation(unit):
    nb = nbformat.read(paths.solution(unit), 4)
    tasks = {c.metadata["nbgrader"]["grade_id"] for c in nb.cells
             if c.metadata.get("nbgrader", {}).get("solution")}
    covered = {f.name.split("__")[0] for u, f in WRONG if u == unit}
    assert tasks - covered == set(), "tasks without a wrong-implementation fixture"


def reference_records(unit, ran):
    """{test grade_id: the records its cell published in the solution's run}: what the
    grader's reference run gives (grader.preprocessors.reference)."""
    cells = nbformat.read(paths.solution(unit), 4).cells
    return {cells[i].metadata["nbgrader"]["grade_id"]: r.records for i, r in ran
            if cells[i].metadata.get("nbgrader", {}).get("grade")}


def evaluated_models(kernel, records):
    """{record index: evaluation} of a cell's ``assert_accuracy`` records, the judge's
    ``models`` argument: each recorded model loaded from its saved bytes and evaluated on
    the test set and the validation split by the grader's own code
    (``judge.EVALUATE``), here in the unit's kernel with its globals restored after."""
    folder = Path(tempfile.mkdtemp(prefix="harness-models-"))
    jobs, where = [], {}
    for i, record in enumerate(records):
        if record.get("kind") == "accuracy" and isinstance(record.get("model"), str):
            path = folder / f"model-{i}.keras"
            path.write_bytes(base64.b64decode(record["model"]))
            jobs.append((str(path), record.get("inputs", "flat")))
            where[str(path)] = i
    if not jobs:
        return {}
    try:
        mark = "MODELS:"
        (ran,) = kernel.run_isolated(f"JOBS = {jobs!r}\nMARK = {mark!r}\n" + EVALUATE)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    line = next((x for x in ran.stdout.splitlines() if x.startswith(mark)), None)
    assert line, f"the models were not evaluated: {ran.error}"
    return {where[name]: result for name, result in json.loads(line[len(mark):]).items()}


def flagged(records, reference, models):
    """The judge's review of a cell's models: a test accuracy implausibly above the
    validation accuracy (``judge.implausible``) is what catches training on the test set."""
    return [i for i, want in enumerate(reference) if want["kind"] == "accuracy"
            and implausible(models.get(i, {}))]


@grouped("solved")
@pytest.mark.slow
@pytest.mark.parametrize(("unit", "fixture"), WRONG, ids=lambda v: getattr(v, "stem", v))
def test_wrong_implementation_is_rejected(unit, fixture, solved):
    """Judged as the grader judges: the named test cells run sealed, their records against
    the solution's (grader.preprocessors.judge.compare), recorded models evaluated by the
    grader's code; a model the judge flags for review (trained on the test set) counts as
    caught."""
    kernel, ran = solved(unit)
    source = fixture.read_text()
    first = source.splitlines()[0]
    assert first.startswith("# rejected by:"), f"{fixture}: first line must name the test cells"
    test_ids = first.split(":", 1)[1].split()
    cells = graded_cells(paths.solution(unit))
    reference = reference_records(unit, ran)
    results = kernel.run_isolated(source, *(seal(cells[t]) for t in test_ids))
    assert results[0].ok, f"the wrong implementation itself fails to run: {results[0].error}"
    verdicts = {}
    for t, r in zip(test_ids, results[1:], strict=True):
        models = evaluated_models(kernel, r.records)
        verdicts[t] = compare(r.records, reference[t], r.error, models) or (
            "flagged for review" if flagged(r.records, reference[t], models) else None)
    assert any(verdicts.values()), f"no test cell rejected {fixture.name}: {verdicts}"


@grouped("solved")
@pytest.mark.slow
@pytest.mark.parametrize("unit", UNITS)
def test_sealed_test_cells_pass_the_solution_without_an_expected_value(unit, solved):
    """The test cells as the grader runs them in a student's kernel (``seal``): every
    value check receives no expected value, and the judge still passes the solution
    (an oracle that drew random numbers would shift the inputs and fail here)."""
    kernel, ran = solved(unit)
    reference = reference_records(unit, ran)
    cells = graded_cells(paths.solution(unit))
    tests = graded_test_ids(paths.solution(unit))
    results = kernel.run_isolated(*(seal(cells[t]) for t in tests))
    leaked = {t: unsealed(r.records) for t, r in zip(tests, results, strict=True)
              if unsealed(r.records)}
    assert leaked == {}, "checks that got an expected value in the student's kernel"
    failed = {}
    for t, r in zip(tests, results, strict=True):
        models = evaluated_models(kernel, r.records)
        failed[t] = compare(r.records, reference[t], r.error, models) or (
            "flagged for review" if flagged(r.records, reference[t], models) else None)
    assert {t: why for t, why in failed.items() if why} == {}


def _precomputed(tree):
    """``oracle(...)`` calls whose argument was computed before (a name, an attribute or an
    item of one): the expected value then sits in the kernel's variables."""
    bad = []
    for call in oracle_calls(tree):
        arg = call.args[0] if call.args else None
        while isinstance(arg, (ast.Subscript, ast.Attribute)):
            arg = arg.value
        if isinstance(arg, ast.Name) or len(call.args) != 1 or call.keywords:
            bad.append(ast.unparse(call))
    return bad


def _is_oracle(node):
    return isinstance(node, ast.Call) and getattr(node.func, "id", None) == "oracle"


def _bare_checks(tree):
    """Value checks whose expected argument is not ``oracle(...)``, nor (an item of) a
    parameter of the test helper it sits in, nor (an item of) a name assigned an
    ``oracle(...)``: those are the ways a sealed expected value reaches a check."""
    sealed_names = {t.id for n in ast.walk(tree) if isinstance(n, ast.Assign)
                    and _is_oracle(n.value) for t in n.targets if isinstance(t, ast.Name)}
    bad = []

    def visit(node, params):
        if isinstance(node, (ast.FunctionDef, ast.Lambda)):
            params = params | {a.arg for a in node.args.args + node.args.kwonlyargs}
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in EXPECTS:
            position, keyword = EXPECTS[node.func.id]
            given = [k.value for k in node.keywords if k.arg == keyword]
            given += node.args[position:position + 1]
            for arg in given:
                base = arg
                while isinstance(base, ast.Subscript):
                    base = base.value
                named = isinstance(base, ast.Name) and base.id in params | sealed_names
                if not (_is_oracle(arg) or named):
                    bad.append(ast.unparse(node)[:120])
        for child in ast.iter_child_nodes(node):
            visit(child, params)

    visit(tree, set())
    return bad


EXPECTS = {"assert_close": (1, "expected"), "assert_equal": (1, "expected"),
           "assert_shape": (1, "shape")}


@pytest.mark.parametrize("unit", UNITS)
def test_every_expected_value_is_computed_inside_oracle(unit):
    """What sealing needs of a test cell: each value check's expected argument is an
    ``oracle(...)`` that computes it (not a variable computed earlier in the kernel)."""
    problems = {}
    for gid, source in graded_cells(paths.solution(unit)).items():
        if gid in set(graded_test_ids(paths.solution(unit))):
            tree = ast.parse(source)
            found = _precomputed(tree) + _bare_checks(tree)
            if found:
                problems[gid] = found
    assert problems == {}


@grouped("nbgrader")
@pytest.mark.slow
@pytest.mark.parametrize("unit", UNITS)
def test_nbgrader_gives_the_solution_full_marks_and_the_blank_zero(unit, graded):
    scores = graded(unit).scores(unit)
    graded = graded_test_ids(paths.solution(unit))
    assert graded, "the unit has no graded cells"
    assert set(scores["solution"]) == set(graded)
    lost = {g: s for g, s in scores["solution"].items() if s[0] != s[1]}
    assert lost == {}, "the solution loses points"
    earned = {g: s for g, s in scores["blank"].items() if s[0] != 0}
    assert earned == {}, "the unmodified exercise earns points"


@grouped("nbgrader")
@pytest.mark.parametrize("unit", UNITS)
def test_committed_exercise_is_what_nbgrader_generates(unit, generated):
    fresh = json.loads(generated(unit).exercise(unit).read_text())
    committed = json.loads(paths.exercise(unit).read_text())
    assert committed == fresh, "exercises/ is stale: run `make exercises` and commit"


@pytest.mark.parametrize("unit", UNITS)
def test_exercise_holds_no_solution_or_hidden_test(unit):
    text = paths.exercise(unit).read_text()
    assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
    secret = re.compile(r"### BEGIN (SOLUTION|HIDDEN TESTS)\n(.*?)### END \1", re.S)
    student = "\n".join(c.source for c in nbformat.read(paths.exercise(unit), 4).cells)
    for cell in nbformat.read(paths.solution(unit), 4).cells:
        for _, body in secret.findall(cell.source):
            for line in body.splitlines():
                line = line.strip()
                if len(line) > 12 and not line.startswith("#"):
                    assert line not in student, f"secret line leaked: {line!r}"


# --- the lesson's own code handed in ------------------------------------------------------------
class _Canonical(ast.NodeTransformer):
    """A function's source with its docstring dropped and its name, parameters and local
    variables renamed in order of appearance (``v0``, ``v1``...): what stays is the code."""

    def __init__(self, fn):
        self.names = {fn.name: "f"}
        for a in fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs:
            self._rename(a.arg)
        for a in (fn.args.vararg, fn.args.kwarg):
            if a:
                self._rename(a.arg)
        for node in ast.walk(fn):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                self._rename(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.Lambda)) and node is not fn:
                for a in node.args.args:
                    self._rename(a.arg)

    def _rename(self, name):
        self.names.setdefault(name, f"v{len(self.names) - 1}")

    def visit_Name(self, node):
        return ast.copy_location(ast.Name(self.names.get(node.id, node.id), node.ctx), node)

    def visit_arg(self, node):
        node.arg = self.names.get(node.arg, node.arg)
        node.annotation = None
        return node

    def visit_FunctionDef(self, node):
        node.name = self.names.get(node.name, node.name)
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(
                getattr(body[0], "value", None), ast.Constant) and isinstance(
                body[0].value.value, str):
            body = body[1:] or [ast.Pass()]
        node.body, node.returns = body, None
        self.generic_visit(node)
        return node


def canonical(fn):
    """The canonical source of the parsed function ``fn`` (see ``_Canonical``)."""
    import copy

    tree = copy.deepcopy(fn)
    return ast.unparse(_Canonical(tree).visit(tree))


def _code_cells(path):
    return [c.source for c in nbformat.read(path, 4).cells if c.cell_type == "code"]


def _parsed(source):
    try:
        return ast.parse(source).body
    except SyntaxError:  # IPython magics: not code a student pastes
        return []


def _literal(node):
    try:
        ast.literal_eval(node)
    except ValueError:
        return False
    return True


def lesson_code(unit):
    """The lesson's top-level imports (source), constants ({name: source} of names given
    a literal) and functions ({name: parsed}), in notebook order."""
    imports, constants, functions = [], {}, {}
    for source in _code_cells(paths.lesson(unit)):
        for node in _parsed(source):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                imports.append(ast.unparse(node))
            elif (isinstance(node, ast.Assign) and len(node.targets) == 1
                  and isinstance(node.targets[0], ast.Name) and _literal(node.value)):
                constants[node.targets[0].id] = ast.unparse(node)
            elif isinstance(node, ast.FunctionDef):
                functions[node.name] = node
    return imports, constants, functions


def graded_functions(unit):
    """[(task grade_id, function name, its test cells' grade_ids)] for every function a
    solution cell defines; a task's test cells are the graded cells after it, up to the
    next solution cell."""
    tasks, current = [], None
    for cell in nbformat.read(paths.solution(unit), 4).cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            current = []
            names = [n.name for n in _parsed(cell.source) if isinstance(n, ast.FunctionDef)]
            tasks += [(meta["grade_id"], name, current) for name in names]
        elif meta.get("grade") and current is not None:
            current.append(meta["grade_id"])
    return tasks


def solution_names(unit):
    """Every top-level name the solution notebook's code cells define."""
    names = set()
    for source in _code_cells(paths.solution(unit)):
        for node in _parsed(source):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Assign):
                names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def most_similar(unit, name):
    """(lesson function's name, difflib ratio) of the lesson function whose canonical
    source is closest to the solution's ``name``; None when the lesson has no function."""
    import difflib

    solution = next(n for source in _code_cells(paths.solution(unit))
                    for n in _parsed(source) if isinstance(n, ast.FunctionDef) and n.name == name)
    _, _, functions = lesson_code(unit)
    mine = canonical(solution)
    scored = [(difflib.SequenceMatcher(None, mine, canonical(fn), autojunk=False).ratio(), n)
              for n, fn in functions.items()]
    if not scored:
        return None
    ratio, best = max(scored)
    return best, round(ratio, 3)


def lesson_hand_in(unit, task, name, lesson_name):
    """What a student who pastes the lesson hands in for ``name``: the lesson's imports
    and constants, its other functions, and its ``lesson_name`` renamed ``name`` (its
    parameters renamed as the task's, when it takes as many), then what the task's cell
    runs besides its definitions (``task_statements``: a training call). Names
    the solution notebook already defines are left out (a student keeps those), and so
    are functions that need the lesson's variables to be defined."""
    import copy
    import textwrap

    imports, constants, functions = lesson_code(unit)
    taken = solution_names(unit)
    parts = list(dict.fromkeys(imports))
    parts += [line for constant, line in constants.items() if constant not in taken]
    for other, fn in functions.items():
        if other != lesson_name and other not in taken:
            parts.append("try:\n" + textwrap.indent(ast.unparse(fn), "    ")
                         + "\nexcept Exception:\n    pass")
    copied = copy.deepcopy(functions[lesson_name])
    copied.name = name
    _rename_parameters(copied, _solution_function(unit, name))
    parts.append(ast.unparse(copied))
    parts.append(task_statements(unit, task))
    return "\n\n".join(parts) + "\n"


def task_statements(unit, task):
    """The top-level statements of the task's cell as released, other than definitions,
    imports and its ``raise NotImplementedError()``: what the cell runs with the student's
    function (unit 3's training call), so its tests judge what that function made."""
    cell = next(c for c in nbformat.read(paths.exercise(unit), 4).cells
                if c.metadata.get("nbgrader", {}).get("grade_id") == task)
    kept = [n for n in ast.parse(cell.source).body if not isinstance(
        n, ast.FunctionDef | ast.ClassDef | ast.Import | ast.ImportFrom | ast.Raise)]
    return "\n".join(ast.unparse(n) for n in kept)


def _solution_function(unit, name):
    return next(n for source in _code_cells(paths.solution(unit)) for n in _parsed(source)
                if isinstance(n, ast.FunctionDef) and n.name == name)


def _rename_parameters(fn, like):
    """Give ``fn``'s positional parameters the names of ``like``'s, in order, when both take
    as many (a student renames them; the tests may pass them by keyword)."""
    old = [a.arg for a in fn.args.posonlyargs + fn.args.args]
    new = [a.arg for a in like.args.posonlyargs + like.args.args]
    used = {n.id for n in ast.walk(fn) if isinstance(n, ast.Name)} - set(old)
    if len(old) != len(new) or old == new or used & set(new):  # a clash would change it
        return
    names = dict(zip(old, new, strict=True))
    for a in fn.args.posonlyargs + fn.args.args:
        a.arg = names[a.arg]
    for node in ast.walk(fn):
        if isinstance(node, ast.Name) and node.id in names:
            node.id = names[node.id]


def lesson_candidates(unit, name):
    """[(lesson function, ratio)] to hand in for ``name``: the most similar one, and the
    lesson's function of the same name when that is another (what a student pastes first)."""
    import difflib

    best = most_similar(unit, name)
    _, _, functions = lesson_code(unit)
    found = [best] if best else []
    if name in functions and (not best or best[0] != name):
        solution = next(n for source in _code_cells(paths.solution(unit)) for n in _parsed(source)
                        if isinstance(n, ast.FunctionDef) and n.name == name)
        ratio = difflib.SequenceMatcher(None, canonical(solution), canonical(functions[name]),
                                        autojunk=False).ratio()
        found.append((name, round(ratio, 3)))
    return found


LESSON_COPIES = [(unit, task, name, lesson_name, ratio, tests)
                 for unit in UNITS if paths.lesson(unit).exists()
                 for task, name, tests in graded_functions(unit) if tests
                 for lesson_name, ratio in lesson_candidates(unit, name)]


def lesson_copy_verdicts(kernel, ran, unit, task, name, lesson_name, tests):
    """{test grade_id: the judge's reason to reject (None: passed)} for the lesson's
    ``lesson_name`` handed in as ``name``; the hand-in failing to run rejects every cell."""
    cells = graded_cells(paths.solution(unit))
    reference = reference_records(unit, ran)
    source = lesson_hand_in(unit, task, name, lesson_name)
    results = kernel.run_isolated(source, *(seal(cells[t]) for t in tests))
    if not results[0].ok:
        return dict.fromkeys(tests, f"the pasted lesson code fails: {results[0].error}")
    verdicts = {}
    for t, r in zip(tests, results[1:], strict=True):
        models = evaluated_models(kernel, r.records)
        verdicts[t] = compare(r.records, reference[t], r.error, models) or (
            "flagged for review" if flagged(r.records, reference[t], models) else None)
        if verdicts[t] and r.error:
            verdicts[t] += f" [{r.error[:200]}]"
    return verdicts


@grouped("solved")
@pytest.mark.slow
@pytest.mark.parametrize(("unit", "task", "name", "lesson_name", "ratio", "tests"), LESSON_COPIES,
                         ids=[f"{u}-{t}-{n}-lesson_{ln}" for u, t, n, ln, _, _ in LESSON_COPIES])
def test_lessons_most_similar_function_is_rejected(unit, task, name, lesson_name, ratio, tests,
                                                   solved):
    """Each task asks for a step past the lesson: the lesson's function most like the
    solution's (difflib on canonical source), and the lesson's function of the same name,
    handed in under the task's name with the lesson's imports and other functions beside
    it, fail the task's test cells sealed, judged as the grader judges them."""
    kernel, ran = solved(unit)
    verdicts = lesson_copy_verdicts(kernel, ran, unit, task, name, lesson_name, tests)
    assert any(verdicts.values()), (
        f"the lesson's {lesson_name} (ratio {ratio}) handed in as {name} passes {task}'s "
        f"tests {tests}: the task must ask for a step past the lesson")
