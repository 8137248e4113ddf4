"""The worker's side of grading on a Dask cluster: set up a run, grade one submission.

A Dask worker needs no file system shared with the owner. For each run the
owner registers a ``GradingPlugin``, which Dask hands to every worker of the
cluster, including workers that join (or restart) later. Its ``setup``:

1. compares the worker's course version (``grader.grading.version``: its own
   copy of the course in ``$GRADER_COURSE_ROOT`` or the folder ``dask worker``
   was started in) with the owner's, and on any difference refuses: the
   worker keeps the reason (``verdict``) and never receives a task;
2. otherwise writes the run's course into a private scratch folder: the
   owner's whole nbgrader configuration (only the course folder and the
   gradebook moved), the unit's ``solutions/`` and ``exercises/`` folders,
   the owner's other working data (``instructor-data/`` less submissions,
   outputs and reports) and the unit's gradebook rows;
3. takes a worker slot on this machine (kernels run as uid base + slot) and
   offers the run's resource, one task at a time.

``grade_task`` then receives one submission's files, grades it there with
nbgrader's own ``Autograde`` (``grader.grading.worker.grade_in``) and returns
the gradebook rows, the notes, nbgrader's log and the autograded folder's
files, leaving nothing behind.
"""

import os
import pickle
import shutil
import tempfile
import threading
import warnings
from pathlib import Path

from distributed import WorkerPlugin, get_worker
from sqlalchemy.exc import SAWarning

from grader.course import DATA_FOLDER, Course, env_path
from grader.grading import sandbox, version, worker

MAX_RETURNED_BYTES = 512 * 2**20  # the autograded folder a task sends back
_runs = {}  # run id -> Run, in this worker process


def resource(run_id):
    """The Dask resource that only accepted workers of run ``run_id`` offer."""
    return f"grader-{run_id}"


def topic(run_id):
    """The Dask event topic where run ``run_id``'s tasks say where they start."""
    return f"grader-{run_id}"


class GradingPlugin(WorkerPlugin):
    """One grading run, as every worker of the cluster receives it."""

    def __init__(self, run_id, expected, config, files, snapshot):
        self.run_id, self.expected = run_id, expected
        self.config, self.files, self.snapshot = config, files, snapshot
        self.verdict = None

    async def setup(self, worker):
        """Check the worker's course version; if it matches, prepare the run here."""
        here = version.fingerprint(version.course_solutions(version.worker_course_root()))
        problems = version.differences(self.expected, here)
        if self.config.LimitedKernelManager.get("sandbox", True) and sandbox.available():
            problems.append(f"the grading sandbox cannot start there ({sandbox.available()}); "
                            + sandbox.INSTALL_HINT)
        host = f"{worker.name} at {worker.address} on {os.uname().nodename}"
        if problems:
            self.verdict = {"ok": False, "worker": host, "why": problems}
            worker.log_event(topic(self.run_id), {"refused": host, "why": problems})
            return
        try:
            _runs[self.run_id] = Run(self.config, self.files, self.snapshot)
        except Exception as exc:  # a worker that cannot grade says why and takes nothing
            self.verdict = {"ok": False, "worker": host, "why": [f"{type(exc).__name__}: {exc}"]}
            return
        self.verdict = {"ok": True, "worker": host, "why": []}
        await worker.set_resources(**{resource(self.run_id): 1})

    async def teardown(self, worker):
        """Forget the run: its scratch course goes, the worker stops offering it."""
        run = _runs.pop(self.run_id, None)
        if run is not None:
            run.remove()
            await worker.set_resources(**{resource(self.run_id): 0})


def verdict(run_id, dask_worker=None):
    """This worker's verdict on run ``run_id`` (for ``Client.run``)."""
    plugin = dask_worker.plugins.get(resource(run_id))
    return None if plugin is None else plugin.verdict


class Run:
    """A run's scratch course on this worker."""

    def __init__(self, config, files, snapshot):
        warnings.filterwarnings("ignore", category=SAWarning)  # as in autograde
        os.environ["PATH"] = env_path()  # kernels and nbgrader's alembic
        os.environ.setdefault("MPLBACKEND", "Agg")
        self.root = Path(tempfile.mkdtemp(prefix="grader-run-"))
        self.lock = threading.Lock()
        write_files(self.root, files)
        data = self.root / DATA_FOLDER
        data.mkdir(exist_ok=True)
        self.snapshot = data / "snapshot.db"
        self.snapshot.write_bytes(snapshot)
        self.scratch = data / "scratch"
        self.scratch.mkdir()
        with open(self.root / "owner-config.pickle", "wb") as fh:
            pickle.dump(config, fh)
        (self.root / "nbgrader_config.py").write_text(
            "import pickle\n"
            "c = get_config()  # noqa: F821\n"
            f"with open({str(self.root / 'owner-config.pickle')!r}, 'rb') as fh:\n"
            "    c.merge(pickle.load(fh))\n"
            f"c.CourseDirectory.root = {str(self.root)!r}\n"
            f"c.CourseDirectory.db_url = 'sqlite:///{data / 'gradebook.db'}'\n")
        self.course = Course(self.root)
        kernels = self.course.config.LimitedKernelManager
        kernels.course_root = str(self.root)
        # The worker's own copy of the course (its solutions) stays out of sight too.
        kernels.extra_hidden = [*kernels.get("extra_hidden", []),
                                str(version.worker_course_root())]
        worker.use_own_uid(self.course.config)

    def remove(self):
        shutil.rmtree(self.root, ignore_errors=True)


def write_files(root, files):
    """Write {relative path: bytes} under ``root`` (paths checked to stay inside)."""
    root = Path(root).resolve()
    for name, data in files.items():
        path = (root / name).resolve()
        if root not in path.parents:
            raise ValueError(f"a file outside the folder: {name!r}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def read_files(folder, limit=MAX_RETURNED_BYTES):
    """{relative path: bytes} of the regular files under ``folder`` (links skipped)."""
    folder, out, total = Path(folder), {}, 0
    for dirpath, _, filenames in os.walk(folder):
        for name in sorted(filenames):
            path = Path(dirpath, name)
            if path.is_symlink() or not path.is_file():
                continue
            total += path.stat().st_size
            if total > limit:
                raise ValueError(f"the autograded folder holds more than {limit // 2**20} MiB")
            out[str(path.relative_to(folder))] = path.read_bytes()
    return out


def grade_task(run_id, unit, student, files):
    """Grade one submission (``files``: its folder, {relative path: bytes}) on this
    worker; return ``worker.grade_in``'s result, the autograded files and the log."""
    here = get_worker()
    here.log_event(topic(run_id), {"started": student, "worker": here.address})
    run = _runs.get(run_id)
    if run is None:
        raise RuntimeError(f"worker {here.address} was not set up for this run")
    with run.lock:
        submitted = run.course.folder("submitted", student, unit)
        autograded = run.course.folder("autograded", student, unit)
        try:
            shutil.rmtree(submitted, ignore_errors=True)
            submitted.mkdir(parents=True)
            write_files(submitted, files)
            out = worker.grade_in(run.course, unit, student, run.snapshot, run.scratch)
            out["files"] = read_files(autograded) if out["ok"] else {}
            out["worker"] = here.address
            return out
        finally:
            for folder in (submitted, autograded, run.course.folder("feedback", student, unit)):
                shutil.rmtree(folder, ignore_errors=True)
