"""What the class got wrong: per test cell, how often it failed and with which message.

``test_stats`` reads the scores from the gradebook (a test fails when it
scores below its points) and the error messages from the autograded notebooks
(``instructor-data/autograded/STUDENT/UNIT/*.ipynb``): for every graded cell,
the ``error`` outputs it left (their ``ename`` and the first line of their
``evalue``, e.g. ``AssertionError: expected shape (2, 3), got (3, 2)``). A
failed test without an error output (it wrote to stderr, timed out, never ran
because the kernel died) is counted as ``NO_MESSAGE``. ``failure_chart`` draws
the failure rate per test as a PNG bar chart.
"""

from collections import Counter

import nbformat

NO_MESSAGE = "(failed without an error message)"
TOP = 3  # most frequent messages kept per test


def first_line(output):
    """``ename: first line of evalue`` of one ``error`` output."""
    ename = str(output.get("ename", "") or "Error")
    lines = str(output.get("evalue", "") or "").strip().splitlines()
    return f"{ename}: {lines[0].strip()}" if lines else ename


def notebook_errors(path):
    """{grade_id: [first lines of its error outputs]} of the graded cells of the
    notebook at ``path`` ({} when it cannot be read)."""
    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception:  # an unreadable autograded copy has no messages to count
        return {}
    found = {}
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") != "code" or not meta.get("grade") or not meta.get("grade_id"):
            continue
        found[meta["grade_id"]] = [first_line(o) for o in cell.get("outputs", [])
                                   if o.get("output_type") == "error"]
    return found


def test_stats(course, gb, unit):
    """[{test, notebook, max_score, submissions, failures, mean, failure_rate, messages}]
    for every graded cell of ``unit``; ``messages``: the ``TOP`` most frequent first
    lines of the failing submissions' error messages, as [[line, count]] (ties by line)."""
    assignment = gb.find_assignment(unit)
    cells = [(nb.name, c.name, c.max_score) for nb in assignment.notebooks for c in nb.grade_cells]
    scores = {key[:2]: [] for key in cells}
    messages = {key[:2]: Counter() for key in cells}
    for sub in gb.assignment_submissions(unit):
        folder = course.folder("autograded", sub.student_id, unit)
        for nb in sub.notebooks:
            errors = notebook_errors(folder / f"{nb.name}.ipynb")
            for grade in nb.grades:
                key = (nb.name, grade.name)
                if key not in scores:
                    continue
                score = grade.score or 0.0
                scores[key].append(score)
                if score < grade.max_score:
                    messages[key].update(set(errors.get(grade.name) or [NO_MESSAGE]))
    stats = []
    for nb_name, name, max_score in cells:
        got = scores[(nb_name, name)]
        failures = sum(s < max_score for s in got)
        stats.append({
            "test": name, "notebook": nb_name, "max_score": max_score, "submissions": len(got),
            "failures": failures, "mean": sum(got) / len(got) if got else None,
            "failure_rate": failures / len(got) if got else None,
            "messages": [[m, n] for m, n in sorted(messages[(nb_name, name)].items(),
                                                   key=lambda item: (-item[1], item[0]))[:TOP]],
        })
    return stats


def failure_chart(unit, stats, path):
    """A horizontal bar chart of the failure rate of every test of ``unit``, as PNG."""
    from matplotlib import style
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with style.context("tableau-colorblind10"):
        fig = Figure(figsize=(7, 1.2 + 0.35 * max(1, len(stats))))
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        names = [t["test"] for t in stats][::-1]
        rates = [100 * (t["failure_rate"] or 0.0) for t in stats][::-1]
        bars = ax.barh(names, rates, color="C0")
        ax.bar_label(bars, labels=[f"{r:.0f} %" for r in rates], padding=3)
        ax.set_xlim(0, 110)
        ax.set_xlabel("failure rate (% of submissions below full marks)")
        n = max((t["submissions"] for t in stats), default=0)
        ax.set_title(f"{unit}: failure rate per test ({n} submissions)")
        fig.tight_layout()
        fig.savefig(path, dpi=100, facecolor="white")
