"""Read student code before it runs and flag attempts to fool the tests.

The test cells run in the same Python process as the student's code, so a
submission can try to change what they see: replace ``np.allclose`` or a
``dlcourse.checks`` helper, shadow a builtin the tests call, silence
``showtraceback`` (nbgrader PR #1324), swap a function's ``__code__``, rebind
``sys.stderr``... A course solution needs none of that. This module parses
every student-editable cell (IPython magics included: ``%%time`` bodies are
read too) and reports, as ``review`` notes for a person, code that reaches
into the machinery the tests rely on, and code a grader should look at
(``os._exit``, ``input()``, shell commands, unusual magics).

These are warnings, never a verdict: the grade comes from
``grader.preprocessors.judge``, which compares the values the student's code produced
with the reference outside the kernel, so nothing found here changes a score
and honest code (``from IPython.display import display``, ``inspect.signature``,
``vars(layer)``) is not flagged. The runtime probe (``grader.preprocessors.probe``) sees
what a static read cannot, such as patches built from strings at run time.
"""

import ast
import builtins
from dataclasses import dataclass

from IPython.core.inputtransformer2 import TransformerManager
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor

from grader.preprocessors.sanitize import release_notebook
from grader.reporting import notes

REVIEW = "review"
TAMPERING = REVIEW  # reaching into the tests: a warning too (the judge decides)

# Names whose mere use means reaching around the notebook's normal scoping.
ZERO_NAMES = {
    "exec": "runs code built from strings",
    "eval": "runs code built from strings",
    "compile": "compiles code built from strings",
    "__import__": "imports modules by computed names",
    "globals": "reads or rewrites the notebook's global names directly",
    "locals": "reads or rewrites the notebook's names directly",
    "__builtins__": "changes Python's builtins",
    "get_ipython": "reaches into the IPython shell that runs the tests",
}
# Modules that only serve to reach into the interpreter, the kernel or the grader.
ZERO_MODULES = {
    "builtins": "changes Python's builtins",
    "gc": "reaches objects through the garbage collector",
    "ctypes": "writes to process memory",
    "importlib": "re-imports or replaces modules",
    "IPython.core": "reaches into the IPython shell that runs the tests",
    "ipykernel": "reaches into the kernel that runs the tests",
    "jupyter_client": "talks to Jupyter kernels",
    "zmq": "talks to the kernel's message sockets",
    "nbgrader": "uses the grader's own code",
    "nbclient": "uses the grader's own code",
    "grader": "uses the grader's own code",
}
# Attributes that give access to code objects, frames, namespaces or the shell.
ZERO_ATTRIBUTES = {
    "__code__", "__globals__", "__closure__", "__defaults__", "__kwdefaults__",
    "__builtins__", "__subclasses__", "__class__", "f_globals", "f_locals", "f_back",
    "f_builtins", "tb_frame", "gi_frame", "cr_frame", "_getframe", "settrace",
    "setprofile", "currentframe", "getouterframes", "getinnerframes", "excepthook",
    "displayhook", "showtraceback", "showsyntaxerror",
    "run_cell", "run_code", "run_ast_nodes", "user_ns", "user_global_ns", "modules",
}
REVIEW_MODULES = {
    "signal": "handles signals (a kernel can ignore interrupts)",
    "subprocess": "starts other programs",
    "multiprocessing": "starts other processes",
    "threading": "starts threads",
    "_thread": "starts threads",
    "atexit": "runs code at interpreter exit",
    "resource": "changes process limits",
    "faulthandler": "changes crash handling",
    "socket": "opens network connections",
    "urllib": "opens network connections",
    "requests": "opens network connections",
}
REVIEW_CALLS = {
    "_exit": "ends the kernel (os._exit)",
    "exit": "ends the kernel",
    "quit": "ends the kernel",
    "kill": "sends signals to processes",
    "abort": "crashes the kernel",
    "system": "runs shell commands",
    "popen": "runs shell commands",
    "rmtree": "deletes folders",
    "remove": "deletes files",
    "unlink": "deletes files",
    "input": "waits for keyboard input (there is none when grading)",
}
SAFE_LINE_MAGICS = {"time", "timeit", "matplotlib", "who", "whos", "precision", "pprint"}
SAFE_CELL_MAGICS = {"time", "timeit", "capture", "markdown", "html", "latex"}
SHELL_CALLS = {"system", "getoutput"}


@dataclass(frozen=True)
class Finding:
    severity: str
    text: str


def to_python(source):
    """The cell's source as plain Python (IPython magics become calls); None if it won't parse."""
    try:
        return ast.parse(TransformerManager().transform_cell(source))
    except (SyntaxError, ValueError, IndentationError):
        return None


def bound_by(tree):
    """Top-level names a (trusted) cell binds: {name: what}, ``what`` naming an import."""
    names = {}
    for node in tree.body:
        if isinstance(node, ast.Import):
            for a in node.names:
                names[a.asname or a.name.split(".")[0]] = ("import", a.name if a.asname else
                                                          a.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            for a in node.names:
                names[a.asname or a.name] = ("from", f"{node.module}.{a.name}")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names[node.name] = ("def", node.name)
    return names


def module_aliases(trees):
    """Every name any cell binds to a module by ``import`` (np, tf, dlcourse, ...)."""
    aliases = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                aliases.update(a.asname or a.name.split(".")[0] for a in node.names)
    return aliases


def builtins_used(trees):
    """Builtin names that the given (test) cells call or read."""
    used = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and hasattr(builtins, node.id):
                used.add(node.id)
    return used


def _root(node):
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _dotted(node):
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


class _Scanner(ast.NodeVisitor):
    def __init__(self, protected, test_builtins, modules, where):
        self.protected = protected  # name -> ("import"|"from"|"def", what)
        self.test_builtins = test_builtins
        self.modules = modules
        self.where = where
        self.findings = []
        self.scope_globals = None  # inside a function or class: the names it declares global

    def flag(self, severity, text, node=None):
        line = f", line {node.lineno}" if getattr(node, "lineno", None) else ""
        finding = Finding(severity, f"{self.where}{line}: {text}")
        if finding not in self.findings:
            self.findings.append(finding)

    # --- bindings of protected names -------------------------------------------------
    def _bind(self, name, node, value=None, what=None):
        if self.scope_globals is not None and name not in self.scope_globals:
            return  # a local name inside a function or class
        if name in self.protected:
            kind, original = self.protected[name]
            if what is not None and what == original:
                return  # the same import again: harmless
            self.flag(TAMPERING, f"rebinds `{name}`, which the read-only cells define "
                            f"({kind} {original})", node)
        elif name in self.test_builtins:
            self.flag(REVIEW,
                      f"shadows the builtin `{name}`, which the tests use", node)

    def _targets(self, target, node, value=None):
        if isinstance(target, ast.Name):
            self._bind(target.id, node, value)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for elt in target.elts:
                self._targets(elt, node)
        elif isinstance(target, ast.Starred):
            self._targets(target.value, node)
        elif isinstance(target, ast.Attribute):
            root = _root(target)
            if root in self.modules or root in self.protected:
                self.flag(TAMPERING, f"assigns to `{_dotted(target)}`, part of a module or "
                                "helper the tests rely on", node)
        elif isinstance(target, ast.Subscript):
            root, dotted = _root(target.value), _dotted(target.value)
            if root in ("globals", "locals", "vars") or "__dict__" in dotted.split("."):
                self.flag(TAMPERING, f"rewrites a namespace through `{dotted or root}`", node)

    def visit_Assign(self, node):
        for target in node.targets:
            self._targets(target, node, node.value)
        self.generic_visit(node)

    def visit_AugAssign(self, node):
        self._targets(node.target, node, node.value)
        self.generic_visit(node)

    def visit_AnnAssign(self, node):
        self._targets(node.target, node, node.value)
        self.generic_visit(node)

    def visit_NamedExpr(self, node):
        self._targets(node.target, node, node.value)
        self.generic_visit(node)

    def visit_For(self, node):
        self._targets(node.target, node, ast.Constant(0))
        self.generic_visit(node)

    def visit_With(self, node):
        for item in node.items:
            if item.optional_vars is not None:
                self._targets(item.optional_vars, node)
        self.generic_visit(node)

    def visit_Delete(self, node):
        for target in node.targets:
            if isinstance(target, ast.Attribute) and _root(target) in self.modules:
                self.flag(TAMPERING, f"deletes `{_dotted(target)}`", node)
        self.generic_visit(node)

    def _scope(self, node):
        self._bind(node.name, node)
        declared = {n for child in ast.walk(node) if isinstance(child, ast.Global)
                    for n in child.names}
        outer, self.scope_globals = self.scope_globals, declared
        try:
            self.generic_visit(node)
        finally:
            self.scope_globals = outer

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _scope

    # --- imports ------------------------------------------------------------------
    def visit_Import(self, node):
        for a in node.names:
            self._module(a.name, node)
            top = a.name.split(".")[0]
            self._bind(a.asname or top, node, what=a.name if a.asname else top)

    def visit_ImportFrom(self, node):
        module = node.module or ""
        self._module(module, node)
        for a in node.names:
            self._module(f"{module}.{a.name}", node)
            self._bind(a.asname or a.name, node, what=f"{module}.{a.name}")

    def _module(self, dotted, node):
        top = dotted.split(".")[0]
        two = ".".join(dotted.split(".")[:2])
        if top in ZERO_MODULES or two in ZERO_MODULES:
            why = ZERO_MODULES.get(top) or ZERO_MODULES[two]
            self.flag(TAMPERING, f"imports `{dotted}`: {why}", node)
        elif top in REVIEW_MODULES:
            self.flag(REVIEW, f"imports `{dotted}`: {REVIEW_MODULES[top]}", node)
        elif dotted == "sys.modules":
            self.flag(TAMPERING, "imports `sys.modules`", node)
        elif dotted == "os._exit":
            self.flag(REVIEW, f"imports `os._exit`: {REVIEW_CALLS['_exit']}", node)

    # --- names, attributes, calls -------------------------------------------------
    def visit_Name(self, node):
        if node.id in ZERO_NAMES:
            self.flag(TAMPERING, f"uses `{node.id}`: {ZERO_NAMES[node.id]}", node)

    def visit_Attribute(self, node):
        dotted = _dotted(node) or node.attr
        if node.attr == "__class__":
            if isinstance(node.ctx, ast.Store):
                self.flag(TAMPERING, f"assigns to `{dotted}`", node)
        elif node.attr == "modules":
            if _root(node) == "sys":
                self.flag(TAMPERING, f"uses `{dotted}`", node)
        elif node.attr in ZERO_ATTRIBUTES:
            self.flag(TAMPERING, f"uses `{dotted}`", node)
        elif node.attr == "__dict__":
            self.flag(REVIEW, f"uses `{dotted}`", node)
        self.generic_visit(node)

    def visit_Call(self, node):
        if self._magic(node):
            return
        func = node.func
        dotted = _dotted(func)
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        root = _root(func) if isinstance(func, ast.Attribute) else None
        if name == "vars" and isinstance(func, ast.Name) and (
                not node.args or _root(node.args[0]) in self.modules | set(self.protected)):
            self.flag(TAMPERING, "uses `vars` on the notebook or a module the tests use", node)
        if name in ("setattr", "delattr") and isinstance(func, ast.Name) and node.args:
            target = _root(node.args[0])
            if target in self.modules or target in self.protected:
                self.flag(TAMPERING, f"calls `{name}` on `{target}`", node)
        if name in REVIEW_CALLS:
            bare = isinstance(func, ast.Name) and name in ("exit", "quit", "input")
            on_module = root in self.modules and name not in ("input",)
            distinctive = isinstance(func, ast.Attribute) and name in (
                "_exit", "kill", "abort", "rmtree", "popen", "unlink")
            if bare or on_module or distinctive:
                self.flag(REVIEW, f"calls `{dotted or name}`: {REVIEW_CALLS[name]}", node)
        self.generic_visit(node)

    def _magic(self, node):
        """Handle ``get_ipython().run_line_magic(...)`` & co. (what ``%``/``!`` become)."""
        func = node.func
        if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Call)
                and isinstance(func.value.func, ast.Name) and func.value.func.id == "get_ipython"
                and func.attr in ("run_line_magic", "run_cell_magic", *SHELL_CALLS)):
            return False
        args = [a.value if isinstance(a, ast.Constant) else None for a in node.args]
        args += [None] * (3 - len(args))
        if func.attr in SHELL_CALLS:
            self.flag(REVIEW, "runs a shell command (`!...`)", node)
        elif func.attr == "run_line_magic":
            if args[0] not in SAFE_LINE_MAGICS:
                self.flag(REVIEW, f"uses the magic `%{args[0]}`", node)
            elif isinstance(args[1], str) and args[0] in ("time", "timeit"):
                inner = to_python(args[1])
                if inner is not None:
                    self.visit(inner)
        else:
            if args[0] not in SAFE_CELL_MAGICS:
                self.flag(REVIEW, f"uses the cell magic `%%{args[0]}`", node)
            elif isinstance(args[2], str) and args[0] in ("time", "timeit", "capture"):
                inner = to_python(args[2])
                if inner is not None:
                    self.visit(inner)
        return True


def protected_names(trusted_sources, test_sources):
    """What the tests rely on, the one rule the scan and the runtime probe share:
    ``({name: (kind, what)} the read-only cells bind, the builtins the test cells use)``.
    A helper a test cell defines for itself is not protected (the cell defines it again)."""
    trusted = [t for t in (to_python(s) for s in trusted_sources) if t is not None]
    tests = [t for t in (to_python(s) for s in test_sources) if t is not None]
    protected = {}
    for tree in trusted:
        protected.update(bound_by(tree))
    for tree in tests:
        for name, (kind, _) in bound_by(tree).items():
            if kind == "def" and name in protected:
                del protected[name]
    return protected, builtins_used(tests)


def scan(student_cells, trusted_sources=(), test_sources=()):
    """Findings for ``student_cells`` (pairs ``(label, source)``).

    ``trusted_sources`` are the read-only cells' sources (what they bind is
    protected); ``test_sources`` the test cells' (the builtins they use are
    protected too).
    """
    trusted = [t for t in (to_python(s) for s in trusted_sources) if t is not None]
    protected, test_builtins = protected_names(trusted_sources, test_sources)
    students = [(label, to_python(src)) for label, src in student_cells]
    modules = module_aliases(trusted + [t for _, t in students if t is not None])
    findings = []
    for label, tree in students:
        if tree is None:
            continue
        scanner = _Scanner(protected, test_builtins, modules, label)
        scanner.visit(tree)
        findings.extend(scanner.findings)
    return findings


class ScanStudentCode(NbGraderPreprocessor):
    """Scan the student-editable code cells; record the findings as notes."""

    def preprocess(self, nb, resources):
        ref = release_notebook(self.config, resources)
        released = {c.source for c in ref.cells} if ref is not None else set()
        code = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
        trusted = [c.source for _, c in code if utils.is_locked(c)]
        tests = [c.source for _, c in code if utils.is_grade(c) and utils.is_locked(c)]
        student = [(notes.cell_label(c, i), c.source) for i, c in code
                   if not utils.is_locked(c) and c.source not in released]
        for finding in scan(student, trusted, tests):
            notes.add(nb, finding.severity, "code", finding.text)
        return nb, resources
