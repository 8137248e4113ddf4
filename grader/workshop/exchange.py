"""nbgrader's exchange on a shared server, closed between participants.

nbgrader's default exchange leaves each submission world-readable (files 0444, its
folder 0777) and relies on participants not knowing the folder's random name; its
root is 0777, so anyone could rename the course folder away and put their own in.
Here (the instructor's commands run as root, as grading does):

- the exchange root is 1777 and the course folder 0755, owned by root: sticky, so
  nobody but root can rename or remove what they do not own;
- ``inbound`` is 3733 (anyone may add, nobody may list or rename another's entry);
- ``PrivateSubmit`` (the participants' ``ExchangeFactory.submit``) makes each
  submission 0700/0600 once nbgrader has copied it: only its author and root read it;
- ``release_feedback`` writes pages with umask 077 and gives each to its student, mode
  0400; a student whose submission left no secret is skipped and named.

What ``collect --exchange`` counts is decided in ``grader.intake.inbound``.
"""

import os
import pwd
import stat
from pathlib import Path

from nbgrader.apps import ReleaseAssignmentApp, ReleaseFeedbackApp
from nbgrader.exchange.default.submit import ExchangeSubmit
from nbgrader.utils import notebook_hash

from grader import generate


def course_folder(root, course_id):
    """The exchange folder of the course."""
    return Path(root) / course_id


def prepare(root, course_id):
    """Create the exchange of ``course_id`` under ``root`` with the permissions above."""
    root = Path(root)
    course = course_folder(root, course_id)
    for sub in ("outbound", "inbound", "feedback"):
        (course / sub).mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o1777)
    os.chmod(course, 0o755)
    os.chmod(course / "outbound", 0o755)
    os.chmod(course / "inbound", 0o3733)
    os.chmod(course / "feedback", 0o711)


class PrivateSubmit(ExchangeSubmit):
    """nbgrader's submit; then the submission is readable by its author (and root) only."""

    def copy_files(self):
        """Copy as nbgrader does, then close the copy: folders 0700, files 0600."""
        super().copy_files()
        dest = Path(self.inbound_path, self.assignment_filename)
        for dirpath, _, filenames in os.walk(dest):
            os.chmod(dirpath, 0o700)
            for name in filenames:
                path = Path(dirpath, name)
                if not path.is_symlink():
                    os.chmod(path, 0o600)


def _run(app_class, argv, root):
    from grader.intake.collect import _run as run_app

    return run_app(app_class, argv, root)


def release(course, unit):
    """Put ``unit``'s student version (``exercises/UNIT``) into the exchange's outbound."""
    generate.ensure_registered(course, unit)
    root = course.exchange_root
    prepare(root, course.coursedir.course_id)
    _run(ReleaseAssignmentApp, [unit, "--force", "--log-level=WARN"], course.root)
    prepare(root, course.coursedir.course_id)  # nbgrader resets the root to 0777
    return course_folder(root, course.coursedir.course_id) / "outbound" / unit


def release_feedback(course, unit):
    """nbgrader's ``release_feedback`` of ``unit``, one student's failure stopping nobody else's.

    A feedback folder whose submission left no ``submission_secret.txt`` (a refused or
    missing submission, which nbgrader cannot address a page to) is skipped with the
    reason. Pages are written with umask 077 and then given to their student's Unix
    account, mode 0400: nobody else reads them, not even for a moment. Returns
    {"released": {student: [pages]}, "skipped": {student: reason}}.
    """
    root = course.exchange_root
    prepare(root, course.coursedir.course_id)
    ready, skipped = {}, {}
    for folder in sorted(course.folder("feedback").glob(f"*/{unit}")):
        student = folder.parent.name
        # nbgrader needs both files beside each page; a page the grader wrote for an
        # ungradable submission has neither: take them from the submission.
        submitted = course.folder("submitted", student, unit)
        for name in ("timestamp.txt", "submission_secret.txt"):
            if not (folder / name).is_file() and (submitted / name).is_file():
                (folder / name).write_bytes((submitted / name).read_bytes())
        missing = [n for n in ("timestamp.txt", "submission_secret.txt")
                   if not (folder / n).is_file()]
        if missing:
            skipped[student] = (f"no {' or '.join(missing)} from a submission (refused or never "
                                "made): send this page another way")
        elif not any(folder.glob("*.html")):
            skipped[student] = "no feedback page: run `feedback` first"
        else:
            ready[student] = folder
    released = {}
    if ready:
        argv = [unit, "--log-level=WARN"]
        if skipped:
            argv.append(f"--CourseDirectory.student_id_exclude={','.join(sorted(skipped))}")
        old = os.umask(0o077)
        try:
            _run(ReleaseFeedbackApp, argv, course.root)
        finally:
            os.umask(old)
    outbound = course_folder(root, course.coursedir.course_id) / "feedback"
    for student, folder in ready.items():
        secret = (folder / "submission_secret.txt").read_text()
        try:
            account = pwd.getpwnam(student)
        except KeyError:
            account = None
            skipped[student] = "no Unix account of that name: the page stays root's (0400)"
        for page in sorted(folder.glob("*.html")):
            target = outbound / f"{notebook_hash(secret=secret, notebook_id=page.stem)}.html"
            if not target.is_file():
                continue
            if account is not None:
                os.chown(target, account.pw_uid, account.pw_gid)
                released.setdefault(student, []).append(target)
            os.chmod(target, stat.S_IRUSR)
    return {"released": released, "skipped": skipped}
