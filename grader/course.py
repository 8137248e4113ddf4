"""Where a course lives: its root, its nbgrader configuration and its folders.

A course is any folder with an ``nbgrader_config.py`` (the repository root,
or a scratch copy in the tests). Everything the commands do is relative to
it, exactly like nbgrader's own commands run from that folder.
"""

import copy
import os
import re
import sys
from pathlib import Path

from traitlets.config.loader import PyFileConfigLoader

# nbgrader is imported where a Course needs it: importing it takes seconds (its server
# extensions), and the PATH rule below is read by every test run, nbgrader or not.

# Student ids become folder names and nbgrader glob patterns: keep them plain.
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


COURSE_CONFIG = Path(__file__).resolve().parent / "nbgrader_config.py"

# This Python environment's programs (nbgrader, jupyter, alembic, which nbgrader runs):
# kernels and nbgrader's commands must come from here, not from whatever PATH finds first.
ENV_BIN = Path(sys.executable).parent


def env_path(path=None):
    """``path`` (default: this process's ``PATH``) with ``ENV_BIN`` first on it."""
    path = os.environ.get("PATH", "") if path is None else path
    rest = [p for p in path.split(os.pathsep) if p and p != str(ENV_BIN)]
    return os.pathsep.join([str(ENV_BIN), *rest])

# The instructor's working data (gradebook, submissions, autograded copies, feedback,
# reports): one folder at the course root, ignored by git, never in the code folders.
DATA_FOLDER = "instructor-data"


def reports_folder(root):
    """Where the grader keeps its own records and summaries for the course at ``root``:
    ``instructor-data/reports``."""
    return Path(root) / DATA_FOLDER / "reports"


def write_scratch_config(root, extra=""):
    """Make ``root`` a course that uses this course's configuration.

    Writes ``root/nbgrader_config.py``, which loads ``grader/nbgrader_config.py``
    and moves only the course folder and the gradebook to ``root`` (tests,
    benchmarks and trial runs grade there without touching the real course).
    ``extra``: more configuration lines (``c.X.y = ...``). Returns the gradebook path.
    """
    root = Path(root)
    (root / DATA_FOLDER).mkdir(parents=True, exist_ok=True)
    db = root / DATA_FOLDER / "gradebook.db"
    (root / "nbgrader_config.py").write_text(
        "c = get_config()  # noqa: F821\n"
        f"load_subconfig({str(COURSE_CONFIG)!r})  # noqa: F821\n"
        f"c.CourseDirectory.root = {str(root)!r}\n"
        f"c.CourseDirectory.db_url = 'sqlite:///{db}'\n" + extra
    )
    return db


def load_config(root):
    """The nbgrader configuration of the course at ``root`` (its nbgrader_config.py)."""
    path = Path(root) / "nbgrader_config.py"
    if not path.is_file():
        raise FileNotFoundError(f"{root} has no nbgrader_config.py: is it the course root?")
    return PyFileConfigLoader(path.name, path=str(path.parent)).load_config()


class Course:
    """The course at ``root`` (default: the current folder)."""

    def __init__(self, root=None):
        start = Path(root or os.getcwd()).resolve()
        self.config = load_config(start)
        if "root" not in self.config.CourseDirectory:
            self.config.CourseDirectory.root = str(start)
        self.root = Path(self.config.CourseDirectory.root).resolve()
        (self.root / DATA_FOLDER).mkdir(exist_ok=True)
        self.coursedir = self.coursedir_for()
        self.db_url = self.coursedir.db_url

    def coursedir_for(self, **overrides):
        """A CourseDirectory with some settings changed (db_url, student_id, ...); the
        course's own configuration stays as it is."""
        from nbgrader.coursedir import CourseDirectory

        config = copy.deepcopy(self.config)  # Config(...) would share, and change, its sections
        for key, value in overrides.items():
            setattr(config.CourseDirectory, key, value)
        return CourseDirectory(config=config)

    def run_converter(self, converter_class, **overrides):
        """Run one of nbgrader's converters (``GenerateAssignment``, ``Autograde``,
        ``GenerateFeedback``) with this course's configuration, overwriting what it
        wrote before; ``overrides``: CourseDirectory settings (``assignment_id``,
        ``student_id``, ``db_url``). Returns nbgrader's ``capture_log`` result
        (``success``, ``log``, ``error``)."""
        from nbgrader.utils import capture_log

        coursedir = self.coursedir_for(**overrides)
        converter = converter_class(coursedir=coursedir, config=coursedir.config)
        converter.force = True
        if hasattr(converter, "create_student"):
            converter.create_student = True
        return capture_log(converter)

    def folder(self, kind, student=".", unit="."):
        """The folder of ``kind`` ("source", "release", "submitted", "autograded",
        "feedback") for a student and unit, as nbgrader lays them out."""
        directory = getattr(self.coursedir, f"{kind}_directory")
        return Path(self.coursedir.format_path(directory, student, unit)).resolve()

    @property
    def reports(self):
        """Where the grader writes its own records and summaries: ``instructor-data/reports``."""
        return reports_folder(self.root)

    @property
    def exchange_root(self):
        """nbgrader's exchange folder: ``c.Exchange.root`` (set in grader/nbgrader_config.py)."""
        return Path(self.config.Exchange.root)

    @property
    def exchange_course(self):
        """This course's folder in the exchange (``inbound/``, ``outbound/``, ``feedback/``)."""
        return self.exchange_root / self.coursedir.course_id

    @property
    def incoming(self):
        """Where ``collect`` unpacks LMS downloads: nbgrader's
        ``ZipCollectApp.downloaded_directory`` (``instructor-data/incoming``)."""
        return self.root / self.config.ZipCollectApp.get("downloaded_directory", "downloaded")

    def units(self):
        """Every unit: a folder in the source directory."""
        source = self.folder("source")
        return sorted(p.name for p in source.iterdir() if p.is_dir() and not
                      p.name.startswith((".", "_")))

    def require_unit(self, unit):
        """Raise ValueError, naming the course's units, unless ``unit`` is one of them."""
        if unit not in self.units():
            raise ValueError(f"unknown unit {unit!r}: the source folder {self.folder('source')} "
                             f"has {', '.join(self.units()) or 'no units'}; pass one of them")

    def submitted_students(self, unit):
        """Students with a submission folder for ``unit``."""
        base = self.folder("submitted")
        if not base.is_dir():
            return []
        return sorted(p.name for p in base.iterdir() if (p / unit).is_dir())

    def notebook_names(self, unit):
        """The notebooks (without .ipynb) the unit's released version has."""
        release = self.folder("release", unit=unit)
        return sorted(p.stem for p in release.glob("*.ipynb")) or [unit]
