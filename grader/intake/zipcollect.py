"""Plugins for nbgrader's ``zip_collect``: one LMS export entry = one student.

LMS exports hold one entry per student: a zip file, a folder, or a loose
notebook. ``SubmissionExtractor`` unpacks each entry into its own folder
under ``extracted/``, named exactly like the entry (``alice/`` and
``alice.zip`` stay apart). Links are never followed or copied, neither in
folders nor in zips (zip members are checked too: no absolute or ``..``
paths, bounded sizes; only notebooks are taken); it writes down the entries
it could not read. ``SubmissionCollector`` maps an entry's name to a student
id (``student_regexp``; accents are kept as their plain letters, anything
else becomes ``_``) and, among all the notebooks of that student, lets
``grader.intake.triage.choose`` pick the one to grade, which nbgrader then copies to
``submitted/<student>/<unit>/<unit>.ipynb``. Two entries are never merged
into one submission: entries whose different names give the same id, or two
entries of one student that both hold notebooks, are refused (no notebook is
graded, the id gets a zero and a reason that names every entry). Everything
else is skipped with a reason the ``collect`` command reports.

Each plugin writes down what it decided beside the export, in
``<downloaded>/<unit>/`` (``instructor-data/incoming/<unit>/``): the extractor the
entries it could not read (``EXTRACTED``), the collector, once the export is
extracted, the decision for every student and the entries that name none
(``DECIDED``). ``read_record`` reads them back.
"""

import json
import os
import re
import shutil
import stat
import unicodedata
import zipfile
from pathlib import Path

from nbgrader.plugins import ExtractorPlugin, FileNameCollectorPlugin
from traitlets import Integer, Unicode

from grader.course import STUDENT_ID
from grader.intake import triage

ARCHIVES = (".zip",)
EXTRACTED = "extract.json"  # {entry: [problems]}
DECIDED = "decisions.json"  # {"students": {student: decision}, "unknown": [entries]}


def write_record(app, name, data):
    """Write the record ``name`` of the zip_collect run of ``app`` beside its export."""
    path = Path(app._format_collect_path(name))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    tmp.replace(path)


def read_record(folder, name):
    """The record ``name`` (``EXTRACTED``, ``DECIDED``) the plugins wrote in ``folder``
    (``<downloaded>/<unit>``), or None where this run wrote none."""
    path = Path(folder) / name
    return json.loads(path.read_text()) if path.is_file() else None


def entry_name(name):
    """An export entry's name without its archive extension."""
    for ext in ARCHIVES + (".ipynb",):
        if name.lower().endswith(ext):
            return name[: -len(ext)]
    return name


def copy_plain(src, dest):
    """Copy the folder ``src`` to ``dest`` without following or copying links (nor
    anything else that is not a plain file or folder); return the problems met."""
    problems = []
    for dirpath, dirnames, filenames in os.walk(src):  # never enters a linked folder
        rel = Path(dirpath).relative_to(src)
        Path(dest, rel).mkdir(parents=True, exist_ok=True)
        for name in sorted(dirnames + filenames):
            path = Path(dirpath, name)
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                problems.append(f"holds a link, `{rel / name}`: skipped (links are never "
                                "followed)")
            elif stat.S_ISREG(mode):
                shutil.copyfile(path, Path(dest, rel, name), follow_symlinks=False)
        dirnames[:] = [d for d in dirnames if not Path(dirpath, d).is_symlink()
                       and not d.startswith(".") and d != "__MACOSX"]
    return problems


def safe_unzip(archive, dest, max_bytes, max_members, folders=False):
    """Extract the notebooks of ``archive`` into ``dest``; return problems (strings).

    With ``folders``, the folders of the other members are made too (empty), so
    that a student whose folder holds no notebook is still seen."""
    problems = []
    with zipfile.ZipFile(archive) as zf:
        members = zf.infolist()
        if len(members) > max_members:
            return [f"has {len(members)} files (more than {max_members})"]
        total = 0
        for info in members:
            name = info.filename.replace("\\", "/")
            parts = [p for p in name.split("/") if p not in ("", ".")]
            unsafe = name.startswith("/") or ".." in parts or re.match(r"^[A-Za-z]:", name)
            if info.is_dir() or not name.lower().endswith(".ipynb"):
                folder = parts if info.is_dir() else parts[:-1]
                if folders and not unsafe and folder:
                    Path(dest, *folder).mkdir(parents=True, exist_ok=True)
                continue
            if unsafe:
                problems.append(f"member {name!r} points outside the archive: skipped")
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                problems.append(f"member {name!r} is a link: skipped")
                continue
            total += info.file_size
            if total > max_bytes:
                problems.append(f"unpacks to more than {max_bytes // 2**20} MiB: stopped")
                break
            target = Path(dest, *parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)
    return problems


class SubmissionExtractor(ExtractorPlugin):
    """Unpack every entry of the archive folder into ``extracted/<entry>/``."""

    max_unpacked_mb = Integer(200, help="Largest unpacked size of one archive, MiB").tag(
        config=True)
    max_members = Integer(2000, help="Most files in one archive").tag(config=True)

    def extract(self, archive_path, extracted_path):
        """Unpack each entry; write down the problems met (``EXTRACTED``) and let
        the collector decide on the extracted export."""
        self.problems = {}
        for name in sorted(os.listdir(archive_path)):
            if name.startswith(".") or name == "__MACOSX":
                continue
            src = Path(archive_path, name)
            dest = Path(extracted_path, name)
            dest.mkdir(parents=True, exist_ok=True)
            try:
                if src.is_symlink():
                    self.problems[name] = ["is a link: skipped (links are never followed)"]
                elif src.is_dir():
                    found = copy_plain(src, dest)
                    if found:
                        self.problems[name] = found
                elif name.lower().endswith(ARCHIVES):
                    found = safe_unzip(src, dest, self.max_unpacked_mb * 2**20, self.max_members)
                    if found:
                        self.problems[name] = found
                else:
                    shutil.copy(src, dest / name)
            except (OSError, zipfile.BadZipFile, ValueError) as exc:
                self.problems.setdefault(name, []).append(f"cannot be unpacked ({exc})")
        write_record(self.parent, EXTRACTED, self.problems)
        collector = getattr(self.parent, "collector_plugin_inst", None)
        if isinstance(collector, SubmissionCollector):  # decides even when no file is found
            collector.record(extracted_path)


class SubmissionCollector(FileNameCollectorPlugin):
    """Map each extracted entry to a student and choose the one notebook to grade."""

    student_regexp = Unicode(
        r"(?P<student_id>.+)",
        help="Applied to an entry's name (archive extension removed); its group "
             "student_id is the student id. Moodle: r'(?P<student_id>.+?)_\\d+_assignsubmission'",
    ).tag(config=True)

    def owner(self, entry):
        """The student name the entry's name holds (``student_regexp``), or None."""
        match = re.match(self.student_regexp, entry_name(entry))
        if not match or not match.groupdict().get("student_id"):
            return None
        return unicodedata.normalize("NFC", match.group("student_id").strip())

    def student_id(self, entry):
        """The student id of an export entry (None: no id in its name)."""
        name = self.owner(entry)
        if name is None:
            return None
        plain = "".join(c for c in unicodedata.normalize("NFKD", name)
                        if not unicodedata.combining(c))
        sid = re.sub(r"[^A-Za-z0-9_.@-]+", "_", plain).strip("_.")
        return sid if STUDENT_ID.match(sid) else None

    def decide(self, extracted):
        """{student: (chosen path or None, status, notes, entries)} for the whole folder."""
        app = self.parent
        unit = app.coursedir.assignment_id
        expected = triage.grade_ids(app.coursedir.format_path(
            app.coursedir.release_directory, ".", unit), unit)
        entries = {}
        self.unknown = []
        for entry in sorted(os.listdir(extracted)):
            sid = self.student_id(entry)
            if sid is None:
                self.unknown.append(entry)
            else:
                entries.setdefault(sid, []).append(entry)
        decisions = {}
        for sid, names in entries.items():
            found = {n: triage.candidates(Path(extracted, n)) for n in names}
            refused = self.refusal(sid, names, found)
            if refused:
                decisions[sid] = (None, "refused", [("zero", refused)], names)
                continue
            files = [f for n in names for f in found[n]]
            chosen, status, notes = triage.choose(files, f"{unit}.ipynb", expected)
            decisions[sid] = (chosen, status, notes, names)
        return decisions

    def record(self, extracted):
        """Decide on the whole extracted export once and write the decisions down
        (``DECIDED``: per student the notebook chosen, its status, the notes and the
        entries; the entries that name no student)."""
        self.decisions = self.decide(extracted)
        write_record(self.parent, DECIDED, {
            "students": {sid: {"notebook": chosen.name if chosen else None, "status": status,
                               "notes": [list(n) for n in notes], "entries": entries}
                         for sid, (chosen, status, notes, entries) in self.decisions.items()},
            "unknown": self.unknown})

    def refusal(self, sid, names, found):
        """Why the entries ``names`` that all map to ``sid`` cannot be graded (or None)."""
        listed = " and ".join(f"`{n}`" for n in names)
        if len({self.owner(n) for n in names}) > 1:
            return (f"the export entries {listed} are different students but both give the "
                    f"student id `{sid}`: not graded; rename one of them (or pass "
                    "--student-regexp) and collect again")
        holding = [n for n in names if found[n]]
        if len(holding) > 1:
            listed = " and ".join(f"`{n}`" for n in holding)
            return (f"the export holds two submissions of `{sid}`, {listed}: not graded; "
                    "keep the one to grade and collect again")
        return None

    def collect(self, submitted_file):
        """nbgrader's question for each extracted file: the student and file id to copy
        it as (only the chosen notebook of a student), or None."""
        app = self.parent
        extracted = app._format_collect_path(app.extracted_directory)
        if not hasattr(self, "decisions"):  # extracted by another extractor
            self.record(extracted)
        entry = Path(submitted_file).relative_to(extracted).parts[0]
        sid = self.student_id(entry)
        if sid is None:
            return None
        chosen = self.decisions[sid][0]
        if chosen is None or Path(submitted_file) != chosen:
            return None
        return {"student_id": sid, "file_id": f"{app.coursedir.assignment_id}.ipynb"}
