"""The course summary an instructor reads: what the class got wrong, totals, who needs a look.

``build`` gathers, from the gradebook and the rows of grades.csv: per unit
and test cell the mean score, the failure rate (share of submissions below
full marks) and the most frequent first lines of the error messages
(``grader.reporting.analytics``); every student's total; the submissions that
need a person's look, with the reasons. ``write`` puts it in one folder:

- ``summary.json`` and ``summary.md`` (the same, for programs and for people);
- ``failures-UNIT.png``: the failure rate per test of each unit, as bars;
- ``totals.png``: a histogram of the students' total scores.
"""

import json
from pathlib import Path

from grader.reporting import analytics
from grader.reporting.escape import markdown_text


def totals(table):
    """{student: {"score", "max_score", "needs_review"}} summed over the units of ``table``."""
    out = {}
    for row in table:
        entry = out.setdefault(row["student_id"], {"score": 0.0, "max_score": 0.0,
                                                   "needs_review": False})
        entry["score"] += float(row["score"])
        entry["max_score"] += float(row["max_score"])
        entry["needs_review"] |= row["needs_review"] == "yes"
    return out


def build(course, gb, units, table):
    """The summary (a JSON-ready dict) of ``units`` from the gradebook ``gb`` and the
    grades.csv rows ``table``."""
    sums = totals(table)
    review = [{"student_id": r["student_id"], "unit": r["assignment"], "status": r["status"],
               "score": r["score"], "reasons": r["reasons"]}
              for r in table if r["needs_review"] == "yes"]
    return {"units": list(units),
            "tests": {unit: analytics.test_stats(course, gb, unit) for unit in units},
            "totals": {s: t["score"] for s, t in sums.items()},
            "max_total": max((t["max_score"] for t in sums.values()), default=0.0),
            "review": review}


def chart_name(unit):
    """The file name of a unit's failure-rate chart."""
    return f"failures-{unit}.png"


def write(summary, out_dir):
    """Write summary.json, summary.md, the failure charts and totals.png into ``out_dir``;
    returns the paths written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "summary.json", out_dir / "summary.md"]
    paths[0].write_text(json.dumps(summary, indent=1))
    paths[1].write_text(markdown(summary))
    for unit in summary["units"]:
        paths.append(out_dir / chart_name(unit))
        analytics.failure_chart(unit, summary["tests"][unit], paths[-1])
    paths.append(out_dir / "totals.png")
    histogram(summary["totals"], summary["max_total"], paths[-1])
    return paths


def markdown(summary):
    """summary.md: per unit a table of its tests (worst first) and its chart; totals;
    the submissions that need a look."""
    lines = ["# Grading summary", ""]
    for unit in summary["units"]:
        tests = sorted(summary["tests"][unit], key=lambda t: -(t["failure_rate"] or 0.0))
        lines += [f"## {unit}", "", f"![failure rate per test of {unit}]({chart_name(unit)})", "",
                  "| test | points | submissions | mean | failure rate | most frequent errors |",
                  "|---|---|---|---|---|---|"]
        for t in tests:
            mean = "–" if t["mean"] is None else f"{t['mean']:.2f}"
            rate = "–" if t["failure_rate"] is None else f"{100 * t['failure_rate']:.0f} %"
            errors = "<br>".join(f"{n}× {markdown_text(m)}" for m, n in t["messages"]) or "–"
            lines.append(f"| {t['test']} | {t['max_score']:g} | {t['submissions']} | {mean} "
                         f"| {rate} | {errors} |")
        lines.append("")
    lines += ["## Totals", "", f"{len(summary['totals'])} students, out of "
              f"{summary['max_total']:g} points: see totals.png.", "",
              "## Needs a human look", ""]
    if not summary["review"]:
        lines.append("Nothing: every submission was graded without anything to check.")
    for r in summary["review"]:
        lines.append(f"- **{markdown_text(r['student_id'])}**, {r['unit']} "
                     f"({r['status']}, score {r['score']}): {markdown_text(r['reasons'])}")
    return "\n".join(lines) + "\n"


def histogram(scores, max_total, path):
    """A histogram of the total scores ``scores`` ({student: score}), as PNG."""
    from matplotlib import style
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with style.context("tableau-colorblind10"):
        fig = Figure(figsize=(7, 4))
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        top = max(1, int(max_total + 0.999))
        ax.hist(list(scores.values()), bins=range(0, top + 2), align="left", rwidth=0.85,
                color="C0")
        ax.set_title(f"Total scores of {len(scores)} students")
        ax.set_xlabel(f"total score (out of {max_total:g})")
        ax.set_ylabel("students")
        fig.tight_layout()
        fig.savefig(path, dpi=100, facecolor="white")
