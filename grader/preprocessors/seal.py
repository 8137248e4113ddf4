"""Test cells without their oracles: what runs in a student's kernel when grading.

A test cell writes each expected value inside ``oracle(...)``
(``dlcourse.checks.oracle``). Before ``GuardedExecute`` runs a test cell in a
student's kernel, ``seal`` replaces every such call, argument and all, by
``oracle.sealed``: the oracle is never evaluated where student code runs, so
no expected value exists there to be read or copied, and the checks only record
the student's values. ``grader.preprocessors.judge`` compares them with the
expected values of the reference run (the solution, unsealed, in a pristine
kernel). Line numbers are kept, so a traceback points at the released line.
"""

import ast

NAME = "oracle"


def _is_oracle(node):
    func = node.func
    return (isinstance(func, ast.Name) and func.id == NAME) or (
        isinstance(func, ast.Attribute) and func.attr == NAME)


def oracle_calls(tree):
    """The outermost ``oracle(...)`` calls of a parsed cell, in source order."""
    found = []

    def visit(node):
        if isinstance(node, ast.Call) and _is_oracle(node):
            found.append(node)
            return
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return sorted(found, key=lambda n: (n.lineno, n.col_offset))


def seal(source):
    """``source`` with every ``oracle(...)`` replaced by ``oracle.sealed`` (the same
    function expression, so ``checks.oracle(...)`` becomes ``checks.oracle.sealed``).
    Source that does not parse is returned as it is (it fails in the kernel anyway)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    lines = source.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))

    def at(lineno, col):  # ast columns count UTF-8 bytes
        line = lines[lineno - 1]
        return offsets[lineno - 1] + len(line.encode()[:col].decode(errors="ignore"))

    out, last = [], 0
    for call in oracle_calls(tree):
        start, end = at(call.lineno, call.col_offset), at(call.end_lineno, call.end_col_offset)
        func = source[start:at(call.func.end_lineno, call.func.end_col_offset)]
        newlines = source.count("\n", start, end)
        out += [source[last:start], f"({func}.sealed", "\n" * newlines, ")"]
        last = end
    out.append(source[last:])
    return "".join(out)
