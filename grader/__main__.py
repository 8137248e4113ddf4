"""The instructor's commands: ``python -m grader COMMAND`` (generate, collect, autograde,
feedback, export, roster, edition).

Run them from the repository root (or pass ``--root`` to another nbgrader
course folder). Each is a thin layer over nbgrader; see the module of the
same name for what it does.
"""

import argparse
import os
import sys
from pathlib import Path

from grader.course import Course, env_path


def _generate(course, args):
    from grader import generate

    units = args.units or course.units()
    if args.check:
        stale = {u: generate.stale(course, u) for u in units}
        for unit, files in stale.items():
            print(f"{unit}: " + ("up to date" if not files else "STALE: " + ", ".join(files)))
        if any(stale.values()):
            print("Regenerate with `python -m grader generate UNIT` and commit exercises/.")
            return 1
        return 0
    for unit in units:
        print(f"{unit}: wrote {generate.generate(course, unit)}")
    return 0


def _collect(course, args):
    from grader.intake import collect

    if args.exchange:
        report = collect.from_exchange(course, args.unit, args.exchange_root)
    else:
        report = collect.from_lms(course, args.unit, args.source, args.student_regexp)
    students = report["students"]
    print(f"{args.unit}: {len(students)} submission(s) collected into "
          f"{course.folder('submitted')}")
    for student, record in students.items():
        what = record["notebook"] or "no notebook"
        print(f"  {student:24s} {record['status']:10s} {what}")
        for note in record["notes"]:
            print(f"  {'':24s} [{note['severity']}] {note['text']}")
    for skip in report["skipped"]:
        print(f"  skipped {skip['entry']}: {skip['reason']}")
    return 0


def _autograde(course, args):
    from grader.grading.autograde import autograde
    from grader.workshop.layout import saved_data

    data = args.data or (None if "DLCOURSE_DATA" in os.environ else saved_data(course))
    if data:  # --data, else DLCOURSE_DATA, else the workshop hub's --data
        os.environ["DLCOURSE_DATA"] = str(Path(data).resolve())
    elif "DLCOURSE_DATA" not in os.environ:
        print("warning: DLCOURSE_DATA is not set; notebooks that load MNIST will look for it "
              "in the Keras cache (use --data PATH)", file=sys.stderr)
    overrides = {}
    for option, section, key in ((args.cell_timeout, "GuardedExecute", "cell_timeouts"),
                                 (args.notebook_timeout, "GuardedExecute", "notebook_timeouts")):
        if option:
            current = dict(course.config[section].get(key, {}))
            current[args.unit] = option
            overrides.setdefault(section, {})[key] = current
    if args.memory_mb:
        overrides.setdefault("LimitedKernelManager", {})["memory_limit_mb"] = args.memory_mb
    if args.no_sandbox:
        overrides.setdefault("LimitedKernelManager", {})["sandbox"] = False
        print("warning: --no-sandbox: student code runs as this user, next to the course, "
              "and can read and change it", file=sys.stderr)
    if args.scheduler and args.workers:
        raise ValueError("--workers and --scheduler exclude each other: on a cluster, start "
                         "as many `dask worker` processes as you want submissions at once")
    outcomes = autograde(course, args.unit, workers=args.workers,
                         students=args.student or None, overrides=overrides,
                         scheduler=args.scheduler)
    counts = {}
    for outcome in outcomes:
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    review = [o for o in outcomes if any(n["severity"] != "info" for n in o.notes)]
    print(f"{args.unit}: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) +
          f"; {len(review)} to look at (instructor-data/reports/{args.unit}/status.json)")
    for outcome in review:
        for note in outcome.notes:
            if note["severity"] != "info":
                print(f"  {outcome.student:24s} [{note['severity']}] {note['text']}")
    return 1 if counts.get("error") else 0


def _feedback(course, args):
    from grader.reporting.feedback import feedback

    pages, errors = feedback(course, args.unit, args.student or None)
    print(f"{args.unit}: {len(pages)} feedback page(s) in {course.folder('feedback')}")
    for student, error in errors:
        print(f"  {student}: feedback failed: {' '.join(error)}")
    return 1 if errors else 0


def _export(course, args):
    from grader.reporting.export import export

    done = export(course, args.to, args.units or None, args.format or ())
    out = Path(args.to or course.reports)
    print(f"written to {out}: " + ", ".join(p.name for p in done["paths"]))
    report = done["summary"]
    print(f"{len(report['totals'])} students; {len(report['review'])} submission(s) "
          "need a human look (see summary.md)")
    for fmt, students in done["left_out"].items():
        if students:
            print(f"warning: {fmt}.csv leaves out {len(students)} student(s) without an email "
                  f"({', '.join(students)}): add their emails with `python -m grader roster "
                  "FILE.csv` and export again", file=sys.stderr)
    return 0


def _roster(course, args):
    from grader.intake import roster

    rows = roster.read_roster(args.file)
    done = roster.add_to_gradebook(course, rows)
    print(f"{args.file}: {len(rows)} student(s): " +
          ", ".join(f"{len(ids)} {kind}" for kind, ids in done.items()) +
          f" in {course.db_url}")
    return 0


def _edition(course, args):
    from dlcourse.colab import is_github
    from grader import edition

    built = edition.build(course.root, args.folder, args.url)
    url = edition.check_url(args.url)
    if not is_github(url):
        print(f"warning: Colab opens notebooks from GitHub only: the badges of an edition at "
              f"{url} open no notebook in Colab", file=sys.stderr)
    if built.commit:
        print(f"{built.folder}: {len(built.changed)} file(s) changed, committed "
              f"{built.commit[:12]}; push it to {url}")
    else:
        print(f"{built.folder}: already up to date ({len(built.files)} files)")
    return 0


def parser():
    p = argparse.ArgumentParser(prog="python -m grader", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", help="the course folder (default: the current folder)")
    sub = p.add_subparsers(dest="command", required=True)

    g = sub.add_parser("generate", help="solutions/ -> exercises/ (or check they agree)")
    g.add_argument("units", nargs="*", help="units to generate (default: all)")
    g.add_argument("--check", action="store_true",
                   help="change nothing; fail if exercises/ differs from what nbgrader generates")
    g.set_defaults(run=_generate)

    c = sub.add_parser("collect", help="take submissions from an LMS export or the exchange")
    c.add_argument("unit")
    c.add_argument("--from", dest="source",
                   help="LMS export: a folder or a zip of per-student zips/folders/notebooks "
                        "(default: what is already in instructor-data/incoming/UNIT/archive)")
    c.add_argument("--exchange", action="store_true", help="collect from nbgrader's exchange")
    c.add_argument("--exchange-root", help="the exchange folder (default: the course's "
                   "c.Exchange.root, /srv/nbgrader/exchange)")
    c.add_argument("--student-regexp",
                   help="regular expression with a group student_id, applied to entry names")
    c.set_defaults(run=_collect)

    a = sub.add_parser("autograde", help="grade every collected submission, in parallel")
    a.add_argument("unit")
    a.add_argument("--workers", type=int, default=None,
                   help="worker processes (default: the number of cores)")
    a.add_argument("--scheduler", metavar="tcp://HOST:8786",
                   help="grade on the workers of this Dask scheduler instead of local "
                        "processes (README: Grading on a cluster)")
    a.add_argument("--student", action="append", help="only this student (repeatable)")
    a.add_argument("--data", help="MNIST file or folder for the kernels (sets DLCOURSE_DATA)")
    a.add_argument("--cell-timeout", type=int, help="seconds per cell (overrides the config)")
    a.add_argument("--notebook-timeout", type=int, help="seconds per notebook")
    a.add_argument("--memory-mb", type=int, help="memory limit of each kernel, MiB")
    a.add_argument("--no-sandbox", action="store_true",
                   help="run kernels without the bubblewrap sandbox, as this user (unsafe: "
                        "only where the sandbox cannot start and the students are trusted)")
    a.set_defaults(run=_autograde)

    f = sub.add_parser("feedback", help="per-student HTML feedback without hidden tests")
    f.add_argument("unit")
    f.add_argument("--student", action="append", help="only this student (repeatable)")
    f.set_defaults(run=_feedback)

    e = sub.add_parser("export", help="grades.csv (nbgrader's columns first), LMS files, "
                       "summary with per-test analytics")
    e.add_argument("units", nargs="*", help="units to include (default: all)")
    e.add_argument("--to", help="output folder (default: instructor-data/reports)")
    e.add_argument("--format", action="append", choices=["canvas", "moodle"],
                   help="also write canvas.csv or moodle.csv for the LMS's grade import "
                        "(repeatable)")
    e.set_defaults(run=_export)

    r = sub.add_parser("roster", help="add students' names and emails to the gradebook")
    r.add_argument("file", help="CSV with the columns id, name, email "
                                "(see grader/intake/roster.py)")
    r.set_defaults(run=_roster)

    ed = sub.add_parser("edition", help="build (or update) the student edition: the git "
                        "repository students clone, without solutions or hidden tests")
    ed.add_argument("folder", help="where: an empty folder, or the edition built before")
    ed.add_argument("--url", required=True,
                    help="the edition's public address (e.g. https://github.com/ORG/REPO): "
                         "every Colab badge and set-up cell points there")
    ed.set_defaults(run=_edition)

    from grader.workshop.cli import add_commands  # hub, participants, release, release-feedback

    add_commands(sub)
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.environ["PATH"] = env_path()  # kernels and nbgrader's alembic: this environment's
    course = Course(args.root)
    try:
        return args.run(course, args)
    except (RuntimeError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
