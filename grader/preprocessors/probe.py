"""Catch, while a notebook runs, code that changes what the test cells rely on.

Before the first code cell and after every code cell, ``GuardedExecute``
asks the kernel (silently, outside the notebook's cells) for a *fingerprint*:
the identity of every function and class in the modules the tests use
(``numpy`` and its ``testing``/``random``/``linalg``, ``math``,
``dlcourse.checks``, TensorFlow's math ops, Python's builtins), of the IPython
shell's and kernel's methods (``showtraceback``, ``run_cell``, ...), of
``sys.stdout``/``sys.stderr`` and the hooks, and of the notebook names the
read-only cells define (``np``, ``assert_close``, ...). Comparing two
fingerprints tells exactly which cell changed what: an instructor (read-only)
cell may change anything; a student cell that replaced any of these is
reported (a ``review`` note for a person), however the replacement was written.
It is an early warning, not the guarantee: the grade comes from
``grader.preprocessors.judge``.
"""

import ast
import builtins
import json

MODULES = (
    "builtins", "math", "sys", "numpy", "numpy.testing", "numpy.random", "numpy.linalg",
    "dlcourse", "dlcourse.checks", "dlcourse.utils", "dlcourse.data",
    "tensorflow", "tensorflow.math", "tensorflow.nn", "tensorflow.linalg",
    "tensorflow.random", "tensorflow.debugging",
)

# Entries that change on their own: ipykernel installs a fresh ``input`` for every
# execution, IPython the exception hook; ``sys.last_*`` record the last error.
IGNORED = ("builtins.input", "sys.excepthook", "sys.last_type", "sys.last_value",
           "sys.last_traceback", "sys.last_exc")

# Runs inside the kernel; defines and calls one function, leaves only its result.
_KERNEL_SOURCE = r'''
def __grader_probe__(modules, watched):
    import json, sys
    module_type = type(sys)
    out = {}

    def mark(value):
        code = getattr(value, "__code__", None)
        return "%d:%d" % (id(value), id(code))

    def namespace(dotted):
        first, *rest = dotted.split(".")
        obj = sys.modules.get(first)
        for part in rest:
            obj = getattr(obj, "__dict__", {}).get(part) if obj is not None else None
        return obj

    for name in modules:
        module = namespace(name)
        if not isinstance(module, module_type):
            continue
        out["module:" + name] = str(id(module))
        for key, value in list(vars(module).items()):
            if not key.startswith("_") and callable(value) and not isinstance(value, module_type):
                out[name + "." + key] = mark(value)
    for hook in ("stdout", "stderr", "displayhook"):
        out["sys." + hook] = str(id(getattr(sys, hook, None)))
    out["sys.gettrace()"] = str(id(sys.gettrace()))
    out["sys.getprofile()"] = str(id(sys.getprofile()))
    getipython = sys.modules.get("IPython.core.getipython")
    shell = getipython.get_ipython() if getipython else None
    objects = {"shell": shell, "kernel": getattr(shell, "kernel", None),
               "stdout": sys.stdout, "stderr": sys.stderr}
    for label, obj in objects.items():
        if obj is None:
            continue
        for cls in type(obj).__mro__[:-1]:
            for key, value in list(vars(cls).items()):
                if callable(value) or isinstance(value, (staticmethod, classmethod, property)):
                    out["class:%s.%s.%s" % (cls.__module__, cls.__qualname__, key)] = mark(value)
        shadows = sorted(k for k in getattr(obj, "__dict__", {})
                         if callable(getattr(type(obj), k, None)))
        out["shadow:" + label] = ",".join(shadows)
    user = getattr(shell, "user_ns", {})
    for name in watched:
        if name not in user:
            out["user:" + name] = "absent"
        elif callable(user[name]) or isinstance(user[name], module_type):
            out["user:" + name] = mark(user[name])
        else:
            out["user:" + name] = "data"
    return json.dumps(out)
'''


def request(watched):
    """(code, user_expressions) of one probe execution, for names ``watched``."""
    code = (f"{_KERNEL_SOURCE}\n__grader_probe_result__ = "
            f"__grader_probe__({list(MODULES)!r}, {sorted(watched)!r})\ndel __grader_probe__")
    return code, {"probe": "globals().pop('__grader_probe_result__')"}


def parse(reply):
    """The fingerprint dict from an execute reply (None if the probe failed)."""
    content = reply.get("content", {})
    result = content.get("user_expressions", {}).get("probe", {})
    if content.get("status") != "ok" or result.get("status") != "ok":
        return None
    try:
        return json.loads(ast.literal_eval(result["data"]["text/plain"]))
    except (KeyError, ValueError, SyntaxError, TypeError):
        return None


def changes(before, after):
    """What differs between two fingerprints: [(key, severity)] for keys in both.

    A notebook name that did not exist yet may appear (a student cell may define
    a helper before the test cell that defines it again); a builtin's name may not.
    """
    found = []
    for key in sorted(before.keys() & after.keys()):
        if before[key] == after[key] or key in IGNORED:
            continue
        name = key.removeprefix("user:")
        if key.startswith("user:") and before[key] == "absent" and not hasattr(builtins, name):
            continue
        found.append((key, "review"))  # a warning: the judge decides the grade
    return found


def describe(key):
    """Human words for a fingerprint key."""
    kind, _, what = key.partition(":")
    if kind == "user":
        return f"rebound `{what}`, which the read-only cells define or the tests use"
    if kind == "shadow":
        return f"overrode methods of the {what} object that runs the tests"
    if kind == "class":
        return f"replaced the method `{what}` of the machinery that runs the tests"
    if kind == "module":
        return f"replaced the module `{what}`"
    return f"replaced `{key}`"
