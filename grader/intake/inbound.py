"""Which entries of nbgrader's exchange inbound count: nbgrader's collect, checked.

Anyone may create ``inbound/<student>+<unit>+<timestamp>+<random>`` with any name in it
(the folder is writable by all). nbgrader's own collect only warns when the name and
the owner differ ("cheating attempt?") and then collects the entry as the student it
names; a name it cannot parse, a link, a FIFO or an oversized entry stops the whole
collect. ``CheckedCollect`` (the course's ``ExchangeFactory.collect`` for
``python -m grader collect --exchange``) decides per entry instead:

- an entry counts only when its file-system owner (``lstat``, not its name) is the
  Unix account of the student it names; any other is *forged*: reported (the first
  ``max_entries`` of each owner by name, the rest counted), never collected, never
  compared with the student's own entries;
- of a student's own entries the newest counts, as in nbgrader; it is *refused*
  (zero with the reason, nothing of it copied) when it holds a link or anything but
  folders and regular files, is larger than nbgrader's ``CourseDirectory.max_dir_size``,
  holds more than ``max_entry_files`` files, or the student has more than
  ``max_entries`` entries of the unit;
- a name nbgrader cannot read is reported and skipped.

What was decided is left on the app (``app.inbound_findings``) for ``collect``.
"""

import fnmatch
import glob
import os
import pwd
import shutil
import stat
from collections import defaultdict

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.exchange.abc.exchange import ExchangeError
from nbgrader.exchange.default.collect import ExchangeCollect
from traitlets import Integer

SECRET = "submission_secret.txt"
STAMP = "timestamp.txt"


def account_uid(name):
    """The uid of the Unix account ``name``, or None."""
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        return None


def owner_name(uid):
    """The account name of ``uid`` (``uid N`` when it has none)."""
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


class Refused(Exception):
    """Why an inbound entry is not collected."""


def _copy_file(name, dir_fd, dest, budget, too_large="the file is too large"):
    """Copy the regular file ``name`` (in the folder ``dir_fd``) to ``dest``, taking its
    bytes from ``budget[0]``; raise ``Refused(too_large)`` when they run out."""
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise Refused(f"the submission holds {name}, which is not a regular file")
        with open(fd, "rb", closefd=False) as src, open(dest, "wb") as out:
            while chunk := src.read(1 << 20):
                budget[0] -= len(chunk)
                if budget[0] < 0:
                    raise Refused(too_large)
                out.write(chunk)
    finally:
        os.close(fd)


def copy_entry(src, dest, max_bytes, max_files, ignore=()):
    """Copy the inbound entry ``src`` to ``dest`` (which must not exist): folders and
    regular files only, no link ever followed (every folder and file is opened relative
    to its parent with ``O_NOFOLLOW``, so swapping one for a link while this runs does
    not help), at most ``max_bytes`` and ``max_files``; names matching ``ignore`` are
    left out. Raises ``Refused`` with the reason (``dest`` may then hold a part)."""
    try:
        top = os.open(src, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        raise Refused("the submission is not a folder (a link or a file)") from None
    budget, files = [max_bytes], 0
    too_large = f"the submission is larger than {max_bytes / 1e6:g} MB"
    changed = "the submission's {} changed while it was collected"
    stack = [(top, dest, "")]
    try:
        while stack:
            fd, target, rel = stack.pop()
            os.makedirs(target, exist_ok=True)
            try:
                names = sorted(os.listdir(fd))
                for name in names:
                    if any(fnmatch.fnmatch(name, p) for p in ignore):
                        continue
                    info = os.stat(name, dir_fd=fd, follow_symlinks=False)
                    path = f"{rel}{name}"
                    if stat.S_ISLNK(info.st_mode):
                        raise Refused("the submission holds links, which are never followed: "
                                      + path)
                    if stat.S_ISDIR(info.st_mode):
                        try:
                            child = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW,
                                            dir_fd=fd)
                        except OSError:
                            raise Refused(changed.format(path)) from None
                        stack.append((child, os.path.join(target, name), path + "/"))
                        continue
                    if not stat.S_ISREG(info.st_mode):
                        raise Refused(f"the submission holds {path}, which is not a regular file")
                    files += 1
                    if files > max_files:
                        raise Refused(f"the submission holds more than {max_files} files")
                    try:
                        _copy_file(name, fd, os.path.join(target, name), budget, too_large)
                    except OSError:
                        raise Refused(changed.format(path)) from None
            finally:
                os.close(fd)
    finally:
        for fd, _, _ in stack:
            os.close(fd)


class CheckedCollect(ExchangeCollect):
    """nbgrader's collect of the entries that count (see the module's docstring)."""

    max_entry_files = Integer(
        500, help="Most files one inbound entry may hold; a larger one is refused (zero "
                  "with the reason)").tag(config=True)
    max_entries = Integer(
        50, help="Most inbound entries one student may have for a unit; beyond that the "
                 "student's submission is refused (zero with the reason)").tag(config=True)

    def init_src(self):
        """Like nbgrader's, with forged and unreadable entries set aside."""
        if self.coursedir.course_id == "":
            self.fail("No course id specified. Re-run with --course flag.")
        self.course_path = os.path.join(self.root, self.coursedir.course_id)
        self.inbound_path = os.path.join(self.course_path, "inbound")
        if not os.path.isdir(self.inbound_path):
            self.fail(f"Course not found: {self.inbound_path}")
        student = self.coursedir.student_id or "*"
        pattern = os.path.join(glob.escape(self.inbound_path),
                               f"{student}+{glob.escape(self.coursedir.assignment_id)}+*")
        self.findings = {"forged": [], "unreadable": [], "refused": {}}
        own, forged = defaultdict(list), defaultdict(int)
        for path in sorted(glob.glob(pattern)):
            name = os.path.basename(path)
            try:
                record = self._path_to_record(path)
            except (ValueError, OverflowError, ExchangeError):
                self.findings["unreadable"].append(name)
                continue
            owner = os.lstat(path).st_uid
            if account_uid(record["username"]) != owner:
                forged[owner] += 1
                if forged[owner] <= self.max_entries:  # beyond: counted, not each named
                    self.findings["forged"].append({"entry": name, "claims": record["username"],
                                                    "owner": owner_name(owner)})
                continue
            own[record["username"]].append(record)
        self.findings["forged_by"] = {owner_name(uid): n for uid, n in forged.items()}
        with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gb:
            try:
                duedate = gb.find_assignment(self.coursedir.assignment_id).duedate
            except MissingEntry:
                duedate = None
        self.src_records = []
        for records in own.values():
            records = self._sort_by_timestamp(records)
            chosen = records[0]
            if duedate is not None and self.before_duedate:
                chosen = next((r for r in records if r["timestamp"] <= duedate), chosen)
            if len(records) > self.max_entries:
                self._refuse(chosen, f"{len(records)} entries in the exchange (at most "
                                     f"{self.max_entries})")
            else:
                self.src_records.append(chosen)
        if self.parent is not None:
            self.parent.inbound_findings = self.findings

    def _refuse(self, record, reason):
        self.findings["refused"][record["username"]] = {
            "entry": record["filename"], "reason": reason, "record": record}

    def do_copy(self, src, dest, log=None):
        """``copy_entry`` within the limits; a refused entry leaves no part behind."""
        record = next(r for r in self.src_records
                      if os.path.join(self.inbound_path, r["filename"]) == src)
        try:
            copy_entry(src, dest, 1000 * self.coursedir.max_dir_size, self.max_entry_files,
                       self.coursedir.ignore)
        except Refused as exc:
            shutil.rmtree(dest, ignore_errors=True)
            self._refuse(record, str(exc))

    def copy_files(self):
        """nbgrader's copy of the entries that count; a refused entry's submission
        folder holds only its timestamp (and secret, so its feedback can be released)."""
        super().copy_files()
        for name, refused in self.findings["refused"].items():
            dest = self.coursedir.format_path(self.coursedir.submitted_directory, name,
                                              self.coursedir.assignment_id)
            if os.path.isdir(dest):
                existing = self.coursedir.get_existing_timestamp(dest)
                if existing is not None and existing >= refused["record"]["timestamp"]:
                    continue  # already collected, or refused, from this entry or a later one
                shutil.rmtree(dest)
            os.makedirs(dest)
            with open(os.path.join(dest, STAMP), "w") as fh:
                fh.write(refused["entry"].rsplit("+", 3)[2])
            try:
                entry = os.open(os.path.join(self.inbound_path, refused["entry"]),
                                os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
                try:
                    _copy_file(SECRET, entry, os.path.join(dest, SECRET), [1024])
                finally:
                    os.close(entry)
            except (OSError, Refused):
                pass
