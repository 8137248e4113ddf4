"""A course summary from the gradebook: per-test statistics, totals, who needs a look.

``summarize`` writes, into one folder:

- ``grades.csv``: the rows of ``grader.reporting.grades_csv`` (per student and unit, totals);
- ``summary.json`` and ``summary.md``: for every unit and test cell the mean
  score and the failure rate (share of submissions below full marks), and the
  submissions that need a person's look, with the reasons;
- ``totals.png``: a histogram of the students' total scores.
"""

import json
from pathlib import Path

from nbgrader.api import Gradebook

from grader.reporting import grades_csv


def test_stats(gb, unit):
    """[{test, max_score, submissions, mean, failure_rate}] for every test cell of ``unit``."""
    assignment = gb.find_assignment(unit)
    cells = [(nb.name, c.name, c.max_score) for nb in assignment.notebooks for c in nb.grade_cells]
    scores = {key[:2]: [] for key in cells}
    for sub in gb.assignment_submissions(unit):
        for nb in sub.notebooks:
            for grade in nb.grades:
                scores[(nb.name, grade.name)].append(grade.score)
    stats = []
    for nb_name, name, max_score in cells:
        got = scores[(nb_name, name)]
        stats.append({
            "test": name, "max_score": max_score, "submissions": len(got),
            "mean": sum(got) / len(got) if got else None,
            "failure_rate": sum(s < max_score for s in got) / len(got) if got else None,
        })
    return stats


def summarize(course, out_dir=None, units=None):
    """Write grades.csv, summary.json, summary.md and totals.png; return the summary."""
    out_dir = Path(out_dir or course.reports)
    out_dir.mkdir(parents=True, exist_ok=True)
    with Gradebook(course.db_url) as gb:
        units = [a.name for a in gb.assignments if not units or a.name in units]
        table = grades_csv.rows(course, gb, units)
        tests = {unit: test_stats(gb, unit) for unit in units}
    grades_csv.write_csv(out_dir / "grades.csv", table)
    totals = {r["student_id"]: float(r["score"]) for r in table if r["unit"] == "TOTAL"}
    max_total = max((float(r["max_score"]) for r in table if r["unit"] == "TOTAL"), default=0.0)
    review = [{k: r[k] for k in ("student_id", "unit", "status", "score", "reasons")}
              for r in table if r["unit"] != "TOTAL" and r["needs_review"] == "yes"]
    summary = {"units": units, "tests": tests, "totals": totals, "max_total": max_total,
               "review": review}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=1))
    (out_dir / "summary.md").write_text(markdown(summary))
    histogram(totals, max_total, out_dir / "totals.png")
    return summary


def markdown(summary):
    lines = ["# Grading summary", ""]
    for unit in summary["units"]:
        lines += [f"## {unit}", "", "| test | points | submissions | mean | failure rate |",
                  "|---|---|---|---|---|"]
        for t in summary["tests"][unit]:
            mean = "–" if t["mean"] is None else f"{t['mean']:.2f}"
            rate = "–" if t["failure_rate"] is None else f"{100 * t['failure_rate']:.0f} %"
            lines.append(f"| {t['test']} | {t['max_score']:g} | {t['submissions']} | {mean} "
                         f"| {rate} |")
        lines.append("")
    lines += ["## Totals", "", f"{len(summary['totals'])} students, out of "
              f"{summary['max_total']:g} points: see totals.png.", "",
              "## Needs a human look", ""]
    if not summary["review"]:
        lines.append("Nothing: every submission was graded without anything to check.")
    for r in summary["review"]:
        lines.append(f"- **{r['student_id']}**, {r['unit']} ({r['status']}, score {r['score']}):"
                     f" {r['reasons']}")
    return "\n".join(lines) + "\n"


def histogram(totals, max_total, path):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    top = max(1, int(max_total + 0.999))
    ax.hist(list(totals.values()), bins=range(0, top + 2), align="left", rwidth=0.85,
            color="tab:blue")
    ax.set_title(f"Total scores of {len(totals)} students")
    ax.set_xlabel(f"total score (out of {max_total:g})")
    ax.set_ylabel("students")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
