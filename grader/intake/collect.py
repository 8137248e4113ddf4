"""Bring submissions into ``instructor-data/submitted/`` and register the students.

Two sources, both through nbgrader:

- an LMS export (a folder, or one bulk zip, holding one zip file, folder or
  notebook per student): copied to ``instructor-data/incoming/<unit>/archive/`` and
  collected by nbgrader's ``zip_collect`` with the plugins of
  ``grader.intake.zipcollect``;
- nbgrader's exchange: ``nbgrader collect --update``, after which every
  submission folder is tidied the same way (the chosen notebook is renamed to
  ``<unit>.ipynb``).

A student whose submission holds no notebook still gets a (empty) submission
folder, so that autograde records a zero with the reason. What was found,
chosen and skipped is returned and kept in ``instructor-data/reports/<unit>/collect.json``.
"""

import contextlib
import os
import shutil
import zipfile
from pathlib import Path

from nbgrader.api import Gradebook
from nbgrader.apps import CollectApp, ZipCollectApp

from grader import generate
from grader.intake import triage, zipcollect
from grader.intake.zipcollect import safe_unzip
from grader.reporting import records


@contextlib.contextmanager
def _in(folder):
    old = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(old)


def _run(app_class, argv, root):
    """Run an nbgrader app in this process from the course root; return the app."""
    app = app_class()
    with _in(root):
        try:
            app.initialize(argv)
            app.start()
        except SystemExit as exc:
            if exc.code:
                raise RuntimeError(f"nbgrader {app.name} failed (see the log above)") from None
    return app


def stage(source, archive):
    """Fill ``archive`` with the LMS export at ``source`` (a folder or a bulk zip);
    return the problems met (members skipped)."""
    source = Path(source)
    shutil.rmtree(archive, ignore_errors=True)
    archive.mkdir(parents=True)
    if source.is_dir():  # links are copied as links: the extractor reports and skips them
        for entry in sorted(source.iterdir()):
            target = archive / entry.name
            if entry.is_symlink():
                os.symlink(os.readlink(entry), target)
            elif entry.is_dir():
                shutil.copytree(entry, target, symlinks=True)
            elif entry.is_file():
                shutil.copyfile(entry, target)
    elif zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as zf:
            inner = [i for i in zf.infolist() if i.filename.lower().endswith(".zip")]
        if inner:  # a zip of per-student zips: unpack those, keep their names
            with zipfile.ZipFile(source) as zf:
                for info in inner:
                    name = Path(info.filename).name
                    with zf.open(info) as src, open(archive / name, "wb") as out:
                        shutil.copyfileobj(src, out)
        return safe_unzip(source, archive, 2**31, 100_000, folders=True)
    else:
        raise FileNotFoundError(f"{source} is neither a folder nor a zip file")
    return []


def from_lms(course, unit, source=None, student_regexp=None):
    """Collect ``unit`` from an LMS export; return {student: record}."""
    generate.ensure_registered(course, unit)
    base = course.incoming / unit
    skipped = []
    if source is not None:
        skipped = [{"entry": str(source), "reason": p} for p in stage(source, base / "archive")]
    for name in (zipcollect.EXTRACTED, zipcollect.DECIDED):
        (base / name).unlink(missing_ok=True)  # only this run's records are read
    argv = [unit, "--force", "--log-level=ERROR"]
    if student_regexp:
        argv.append(f"--SubmissionCollector.student_regexp={student_regexp}")
    _run(ZipCollectApp, argv, course.root)
    problems = zipcollect.read_record(base, zipcollect.EXTRACTED) or {}
    decided = zipcollect.read_record(base, zipcollect.DECIDED) or {"students": {}, "unknown": []}
    collected = {}
    for student, decision in sorted(decided["students"].items()):
        notes = [{"severity": s, "kind": "collect", "text": t} for s, t in decision["notes"]]
        for entry in decision["entries"]:
            notes += [{"severity": "review", "kind": "collect", "text": f"{entry} {issue}"}
                      for issue in problems.get(entry, [])]
        if decision["notebook"] is None:  # nothing to grade now: what an earlier collect left goes
            folder = course.folder("submitted", student, unit)
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
        collected[student] = {"source": ", ".join(decision["entries"]),
                              "status": decision["status"], "notebook": decision["notebook"],
                              "notes": notes}
    skipped += [{"entry": e, "reason": "no student id in its name (student_regexp)"}
                for e in decided["unknown"]]
    return _finish(course, unit, collected, skipped)


def from_exchange(course, unit, exchange_root=None):
    """Collect ``unit`` from nbgrader's exchange (``course.exchange_root`` unless
    ``exchange_root`` is given) with ``grader.intake.inbound.CheckedCollect``; return
    {"students": {student: record}, "skipped": [{"entry", "reason"}]}: forged and
    unreadable entries are skipped, refused ones recorded as zeros with the reason."""
    generate.ensure_registered(course, unit)
    argv = [unit, "--update", "--log-level=WARN",
            "--ExchangeFactory.collect=grader.intake.inbound.CheckedCollect"]
    if exchange_root:
        argv.append(f"--Exchange.root={exchange_root}")
    before = {s: _mtime(course, unit, s) for s in course.submitted_students(unit)}
    app = _run(CollectApp, argv, course.root)
    findings = getattr(app, "inbound_findings", {"forged": [], "unreadable": [], "refused": {}})
    collected = {}
    expected = triage.grade_ids(course.folder("release", unit=unit), unit)
    for student in course.submitted_students(unit):
        if before.get(student) == _mtime(course, unit, student):
            continue  # not (re)collected this time
        folder = course.folder("submitted", student, unit)
        refused = findings["refused"].get(student)
        if refused is not None:
            collected[student] = {"source": refused["entry"], "status": "refused",
                                  "notebook": None, "notes": [{
                                      "severity": "zero", "kind": "collect",
                                      "text": refused["reason"] + "; not graded"}]}
            continue
        collected[student] = tidy(folder, unit, expected)
    skipped = [{"entry": f["entry"], "reason": f"claims to be {f['claims']}'s but belongs to "
                f"{f['owner']}: not collected (an entry counts only for its owner)"}
               for f in findings["forged"]]
    for owner, count in sorted(findings.get("forged_by", {}).items()):
        if count > len([f for f in findings["forged"] if f["owner"] == owner]):
            skipped.append({"entry": f"{count} entries owned by {owner}",
                            "reason": "in other students' names: not collected"})
    skipped += [{"entry": e, "reason": "not an nbgrader submission name "
                 "(STUDENT+UNIT+TIMESTAMP+RANDOM): not collected"} for e in findings["unreadable"]]
    return _finish(course, unit, collected, skipped)


def _mtime(course, unit, student):
    folder = course.folder("submitted", student, unit)
    stamp = folder / "timestamp.txt"
    return stamp.read_text() if stamp.is_file() else None


def tidy(folder, unit, expected=()):
    """Make the chosen notebook of a submission folder ``<unit>.ipynb``; return its record."""
    name = f"{unit}.ipynb"
    chosen, status, found = triage.choose(triage.candidates(folder), name, expected)
    target = Path(folder) / name
    if chosen is not None and chosen != target:
        if target.exists():
            target.rename(target.with_name(name + ".not-graded"))
        chosen.rename(target)
    return {"source": "exchange", "status": status, "notebook": chosen.name if chosen else None,
            "notes": [{"severity": s, "kind": "collect", "text": t} for s, t in found]}


def _finish(course, unit, found, skipped):
    with Gradebook(course.db_url) as gb:
        for student in found:
            gb.update_or_create_student(student)
    records.update(course.root, unit, "collect.json", found)
    return {"students": found, "skipped": skipped}
