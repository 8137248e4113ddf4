"""Every figure of the course keeps the colour-blind-safe style that ``dlcourse.plots`` sets.

Importing ``dlcourse.plots`` sets the colours once (issue #14): the
``tableau-colorblind10`` cycle, safe colour maps and opaque white figures. A
notebook that writes ``color="tab:red"``, ``"green"``, a hex code or
``cmap="Blues"`` bypasses that style, so this test reads (never runs) every
code cell of every lesson and solution and names each cell that does:

- colours must come from the cycle (``"C0"`` ... ``"C9"``, ``plots.palette()``,
  ``plots.WRONG_COLOUR``) or be neutral (black, white, greys, ``"0.4"``);
- colour maps must be perceptually uniform (viridis, cividis, magma, inferno,
  plasma), grey (gray, Greys, binary), the course's diverging map for signed
  values (``plots.SIGNED_CMAP``), or their reversed ``_r`` forms;
- no notebook changes the style (``plt.style.use``, ``set_prop_cycle``).

One case per notebook, so a failure names the notebook; its message names
each cell and line.
"""

import ast
import re

import matplotlib
import matplotlib.colors as mcolors
import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager
from support import paths

from dlcourse import plots

NOTEBOOKS = sorted(paths.LESSONS.glob("*.ipynb")) + sorted(paths.SOLUTIONS.glob("*/*.ipynb"))

_SAFE_MAPS = {"viridis", "cividis", "magma", "inferno", "plasma", "gray", "grey", "Greys",
              "binary"}
_SAFE_MAPS |= {m.removesuffix("_r") for m in (plots.IMAGE_CMAP, plots.COUNT_CMAP,
                                               plots.SIGNED_CMAP)}
SAFE_MAPS = frozenset(_SAFE_MAPS | {f"{m}_r" for m in _SAFE_MAPS})

#: Colours with no hue: they read the same to everyone.
NEUTRAL = frozenset({"black", "white", "k", "w", "none", "gray", "grey", "lightgray",
                     "lightgrey", "darkgray", "darkgrey", "dimgray", "dimgrey", "silver",
                     "gainsboro", "whitesmoke"})
_CYCLE = re.compile(r"C\d+")
_GREY_LEVEL = re.compile(r"(0?\.\d+|[01](\.0*)?)")
_HEX = re.compile(r"#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})")
_NAMED = {name.lower() for name in mcolors.CSS4_COLORS} - NEUTRAL
_FMT_CHARS = set("-.:,ov^<>12348sp*hH+xXDd|_bgrcmykw")

#: Keyword arguments (and dict keys, parameters, variables) that hold a colour.
COLOUR_NAMES = frozenset({"color", "colour", "colors", "colours", "c", "facecolor", "facecolors",
                          "fc", "edgecolor", "edgecolors", "ec", "markerfacecolor", "mfc",
                          "markeredgecolor", "mec", "markerfacecoloralt", "mfcalt",
                          "labelcolor", "backgroundcolor", "ink"})
#: ... and those that hold a colour map.
CMAP_NAMES = frozenset({"cmap", "cmaps", "colormap", "image.cmap"})
_PLOT_CALLS = frozenset({"plot", "semilogx", "semilogy", "loglog"})
# Map names that mean nothing else in a string: a capital, a digit or "_", or a few famous ones.
_FAMOUS = {"jet", "rainbow", "seismic", "coolwarm", "bwr", "hsv", "turbo", "brg", "terrain",
           "cubehelix", "gnuplot", "twilight", "afmhot", "ocean", "prism", "flag"}
_MAPS = set(matplotlib.colormaps)
DISTINCTIVE_MAPS = frozenset(m for m in _MAPS - SAFE_MAPS
                             if re.search(r"[A-Z0-9_]", m) or m.removesuffix("_r") in _FAMOUS)


def _is_cmap_name(name):
    return name in CMAP_NAMES or "cmap" in name.lower()


def _is_colour_name(name):
    return name in COLOUR_NAMES or "color" in name.lower() or "colour" in name.lower()


def colour_problem(value):
    """Why the colour ``value`` bypasses the course's palette, or None if it does not."""
    if not isinstance(value, str) or not value:
        return None
    if _CYCLE.fullmatch(value) or _GREY_LEVEL.fullmatch(value) or value.lower() in NEUTRAL:
        return None
    if _HEX.fullmatch(value):
        return f"hex colour {value!r}"
    if value.lower().startswith(("tab:", "xkcd:")):
        return f"named colour {value!r}"
    if mcolors.is_color_like(value):
        return f"named colour {value!r}"
    return None


def literal_colour_problem(value):
    """Like :func:`colour_problem`, for a string anywhere in the code: only what can
    mean nothing but a colour (a one-letter "r" might be a variable's name)."""
    if _HEX.fullmatch(value) or value.lower().startswith(("tab:", "xkcd:")) \
            or value.lower() in _NAMED:
        return colour_problem(value)
    return None


def cmap_problem(value, anywhere=False):
    if not isinstance(value, str) or value in SAFE_MAPS:
        return None
    if anywhere and value not in DISTINCTIVE_MAPS:
        return None
    return f"colour map {value!r}"


def fmt_problem(value):
    """A plot format string such as "r--" that names a colour outside the cycle."""
    rest = _CYCLE.sub("", value)
    if 0 < len(rest) <= 4 and set(rest) <= _FMT_CHARS and set(rest) & set("bgrcmy"):
        return f"format string {value!r} names a colour"
    return None


def _strings(node, skip):
    """The string constants in an expression (lists, tuples, conditionals...)."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Constant) and isinstance(sub.value, str) and id(sub) not in skip:
            yield sub


def _rgb_tuples(node):
    for sub in ast.walk(node):
        if isinstance(sub, ast.Tuple) and len(sub.elts) in (3, 4) and all(
                isinstance(e, ast.Constant) and type(e.value) in (int, float)
                and 0 <= e.value <= 1 for e in sub.elts):
            r, g, b = (e.value for e in sub.elts[:3])
            if not r == g == b:
                yield sub, f"RGB colour {ast.unparse(sub)}"


def _name_of(node):
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def offences(source):
    """(line, reason) for each colour or colour map in a code cell outside the course's style."""
    code = TransformerManager().transform_cell(source)
    try:
        tree = ast.parse(code)
    except SyntaxError:
        # not Python (a cell magic's body, say): only what is a colour wherever it stands
        return sorted({(source[:m.start()].count("\n") + 1, why)
                       for m in re.finditer(r"([\"'])([^\"'\n]*)\1", source)
                       if (why := literal_colour_problem(m.group(2))
                           or cmap_problem(m.group(2), anywhere=True))})
    in_fstring = {id(sub) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr)
                  for sub in ast.walk(node) if sub is not node}
    found = set()

    def colours(value_node):
        for const in _strings(value_node, in_fstring):
            if why := colour_problem(const.value):
                found.add((const.lineno, why))
        for sub, why in _rgb_tuples(value_node):
            found.add((sub.lineno, why))

    def cmaps(value_node):
        for const in _strings(value_node, in_fstring):
            if why := cmap_problem(const.value):
                found.add((const.lineno, why))

    def context(name, value_node):
        if name is None or value_node is None:
            return
        if _is_cmap_name(name):
            cmaps(value_node)
        elif _is_colour_name(name):
            colours(value_node)

    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and id(node) not in in_fstring:
            if why := literal_colour_problem(node.value) or cmap_problem(node.value, anywhere=True):
                found.add((node.lineno, why))
        elif isinstance(node, ast.keyword):
            context(node.arg, node.value)
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                context(_name_of(key) if key is not None else None, value)
                if _name_of(key) == "axes.prop_cycle":
                    found.add((key.lineno, "sets its own colour cycle"))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            args = node.args
            positional = args.posonlyargs + args.args
            for arg, default in zip(positional[len(positional) - len(args.defaults):],
                                    args.defaults, strict=True):
                context(arg.arg, default)
            for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
                context(arg.arg, default)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for sub in ast.walk(target):
                    name = _name_of(sub.slice) if isinstance(sub, ast.Subscript) else (
                        sub.id if isinstance(sub, ast.Name) else None)
                    context(name, node.value)
                    if name == "axes.prop_cycle":
                        found.add((node.lineno, "sets its own colour cycle"))
        elif isinstance(node, ast.Compare):
            names = [_name_of(n) for n in [node.left, *node.comparators]
                     if isinstance(n, (ast.Name, ast.Attribute))]
            if any(n and (_is_cmap_name(n) or n == "cm") for n in names):
                cmaps(node)
        elif isinstance(node, ast.Subscript) and _name_of(node.value) == "colormaps":
            cmaps(node.slice)
        elif isinstance(node, ast.Attribute) and _name_of(node.value) == "cm" and (
                node.attr in _MAPS and node.attr not in SAFE_MAPS):
            found.add((node.lineno, f"colour map cm.{node.attr}"))
        elif isinstance(node, ast.Call):
            func = _name_of(node.func)
            if func in {"get_cmap", "set_cmap"} or (
                    func == "get" and _name_of(getattr(node.func, "value", None)) == "colormaps"):
                for arg in node.args[:1]:
                    cmaps(arg)
            elif func in {"use", "context"} and _name_of(
                    getattr(node.func, "value", None)) == "style":
                for const in (a for arg in node.args[:1] for a in _strings(arg, in_fstring)):
                    if const.value != plots.STYLE:
                        found.add((const.lineno, f"style {const.value!r} replaces the "
                                                 "course's colours"))
            elif func == "set_prop_cycle":
                found.add((node.lineno, "sets its own colour cycle"))
            elif func in _PLOT_CALLS and not any(k.arg == "data" for k in node.keywords):
                for arg in node.args:
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str) \
                            and (why := fmt_problem(arg.value)):
                        found.add((arg.lineno, why))
    return sorted(found)


def notebook_offences(path):
    """One line per offence: cell index (and nbgrader id), line number, the line, why."""
    lines = []
    for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
        if cell.cell_type != "code":
            continue
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        where = f"cell {index}" + (f" [{grade_id}]" if grade_id else "")
        source_lines = cell.source.splitlines()
        for line, why in offences(cell.source):
            text = source_lines[line - 1].strip() if 0 < line <= len(source_lines) else ""
            lines.append(f"{where}, line {line}: {why}: {text}")
    return lines


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: str(p.relative_to(paths.ROOT)))
def test_figures_use_the_course_palette(notebook):
    found = notebook_offences(notebook)
    assert not found, (
        f"{notebook.relative_to(paths.ROOT)} bypasses the colour-blind-safe style of "
        "dlcourse.plots: use the cycle (\"C0\"...\"C9\", plots.palette(), plots.WRONG_COLOUR) "
        "or black/white/grey, and viridis/cividis (or plots.SIGNED_CMAP for signed values):\n"
        + "\n".join(found))


def test_there_are_notebooks_to_check():
    assert len(NOTEBOOKS) >= 16
    assert {p.name for p in paths.LESSONS.glob("*.ipynb")} <= {p.name for p in NOTEBOOKS}


@pytest.mark.parametrize("source", [
    'ax.bar(x, y, color=["tab:red", "C1"])',
    'ax.plot(x, y, color="green")',
    'ax.text(0, 0, "a", color="#FF0000")',
    'ax.add_patch(plt.Rectangle((0, 0), 1, 1, edgecolor="red"))',
    'ax.text(0, 0, "a", bbox=dict(fc="lightyellow"))',
    'ax.annotate("", (0, 0), arrowprops={"arrowstyle": "->", "color": "tab:blue"})',
    'ax.scatter(x, y, c="r")',
    'ax.plot(x, y, "r--")',
    'plt.plot(x, y, "go")',
    'ax.plot(x, y, color=(1.0, 0.0, 0.0))',
    'def draw(ax, colour="tab:orange"):\n    pass',
    'colours = ["crimson", "C0"]',
    'plt.imshow(a, cmap="Blues")',
    'plt.imshow(a, cmap="jet_r")',
    'plots.plot_images(images, cmap="seismic")',
    'show(arrays, cmap=["gray", "coolwarm"])',
    'def show(a, cmap="hot"):\n    pass',
    'cmap = "RdYlGn"',
    'm = plt.get_cmap("Reds")',
    'm = matplotlib.colormaps["rainbow"]',
    'ax.imshow(a, cmap=plt.cm.jet)',
    'plt.rcParams["image.cmap"] = "hot"',
    'centred = cm in ("RdBu_r", "coolwarm")',
    'plt.style.use("ggplot")',
    'ax.set_prop_cycle(color=["C0", "C1"])',
    'maps = ["Set1", "tab10"]',
    '%matplotlib inline\nax.plot(x, y, color="orange")',
])
def test_the_check_finds(source):
    assert offences(source), source


@pytest.mark.parametrize("source", [
    'ax.bar(x, y, color=["C0", "C1", "C2"])',
    'ax.plot(x, y, "o-", color="C5")',
    'ax.plot(x, y, "C1o-")',
    'ax.plot(1, 1, "k*", ms=9)',
    'ax.text(0, 0, "a", color="white" if v > 0.5 else "black")',
    'ax.axhline(0, color="gray", ls=":")',
    'ax.add_patch(plt.Rectangle((0, 0), 1, 1, facecolor="0.85", edgecolor="black"))',
    'ax.plot(x, y, color=plots.palette()[3])',
    'ax.set_title(t, color=plots.WRONG_COLOUR)',
    'ax.plot(x, y, color=(0.5, 0.5, 0.5))',
    'plt.imshow(a, cmap="viridis")',
    'plt.imshow(a, cmap="cividis_r")',
    'plt.imshow(a, cmap="gray")',
    'plt.imshow(a, cmap="Greys")',
    'plt.imshow(a, cmap=plots.SIGNED_CMAP)',
    'plt.imshow(a, cmap="RdBu_r")',
    'show(arrays, cmap=["gray", "magma", "binary_r"])',
    'params = {"w": w, "b": b, "c": c}',
    'print("red, green and blue channels"); ax.set_title(f"{v:g} in C0")',
    'ax.plot("x", "y", data=frame)',
    'ax.plot(x, y, label="r")',
    'plt.style.use("tableau-colorblind10")',
    'x = "#" + str(3)',
])
def test_the_check_allows(source):
    assert not offences(source), offences(source)
