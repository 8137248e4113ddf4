"""Autograde on a Dask cluster (``autograde UNIT --scheduler tcp://HOST:8786``): the owner's side.

The owner connects to an existing Dask scheduler (``distributed.Client``)
and registers a ``grader.grading.remote.GradingPlugin`` for the run, carrying
what a worker needs and nothing more: the owner's course version (to refuse
a worker that differs), its nbgrader configuration, the unit's source and
release folders, the owner's other working data and the unit's gradebook rows
(other units' rows left out, names and e-mails blanked). Each submission is
then one Dask task (``remote.grade_task``) that receives the submission's
files and returns what grading wrote; the owner validates and merges every
result as it arrives, exactly as for local workers, and alone writes the
gradebook, the autograded notebooks and the reports.

A worker that dies while grading (killed, out of memory) loses nothing: the
scheduler runs the task again on another worker, up to its
``distributed.scheduler.allowed-failures`` (default 3) deaths, after which
the submission ends with a zero saying so (``KilledWorker``). Every task says
on which worker it starts (a Dask event), so the report names each retry.
"""

import sqlite3
import uuid
from pathlib import Path

from nbgrader.api import Gradebook

from grader.course import DATA_FOLDER
from grader.grading import remote, version

CONNECT_TIMEOUT_S = 30  # to reach the scheduler
WORKER_WAIT_S = 120  # for a first worker to join
MAX_SHIPPED_BYTES = 256 * 2**20  # the course files a run sends to each worker


def connect(scheduler):
    """A ``distributed.Client`` of the scheduler at ``scheduler``, or a RuntimeError
    saying how to start one."""
    from distributed import Client

    try:
        return Client(scheduler, timeout=f"{CONNECT_TIMEOUT_S}s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise RuntimeError(
            f"cannot reach the Dask scheduler at {scheduler} ({exc}); start one with "
            "`dask scheduler` and workers with `dask worker ADDRESS --nthreads 1` "
            "(README: Grading on a cluster)") from exc


def shipped_config(course, overrides):
    """The owner's whole nbgrader configuration, with the command line's overrides."""
    from traitlets.config import Config

    config = Config(course.config)
    for section, values in (overrides or {}).items():
        for key, value in values.items():
            config[section][key] = value
    return config


def course_files(course, unit):
    """{path relative to the course root: bytes} of what grading ``unit`` may read
    besides the submission: its source and release folders, and everything in the
    working data folder except submissions, outputs, reports and the gradebook."""
    root = course.root
    data = root / DATA_FOLDER
    db = Path(course.db_url.removeprefix("sqlite:///")).resolve()
    skipped = {course.folder(k) for k in ("submitted", "autograded", "feedback")}
    skipped |= {course.reports.resolve(), course.incoming.resolve()}
    folders = [course.folder("source", unit=unit), course.folder("release", unit=unit)]
    folders += [p for p in sorted(data.iterdir()) if p.resolve() not in skipped
                and not p.name.startswith(db.name)] if data.is_dir() else []
    files, total = {}, 0
    for folder in folders:
        if root not in folder.resolve().parents:
            raise ValueError(f"{folder} is outside the course folder {root}: a cluster run "
                             "ships only what lies in the course folder")
        items = remote.read_files(folder) if folder.is_dir() else (
            {"": folder.read_bytes()} if folder.is_file() and not folder.is_symlink() else {})
        for name, blob in items.items():
            total += len(blob)
            files[str((folder / name).relative_to(root)) if name else
                  str(folder.relative_to(root))] = blob
    if total > MAX_SHIPPED_BYTES:
        raise ValueError(f"the course files to send to each worker hold {total // 2**20} MiB "
                         f"(at most {MAX_SHIPPED_BYTES // 2**20}): clear instructor-data/ of "
                         "what grading does not need")
    return files


def unit_snapshot(snapshot, unit):
    """Reduce the gradebook copy ``snapshot`` to ``unit``'s rows; return its bytes."""
    with Gradebook(f"sqlite:///{snapshot}") as gb:
        for other in [a.name for a in gb.assignments if a.name != unit]:
            gb.remove_assignment(other)
    con = sqlite3.connect(snapshot)
    try:
        personal = [row[1] for row in con.execute("PRAGMA table_info(student)")
                    if row[1] != "id"]  # names, e-mail, LMS id: not needed to grade
        if personal:
            con.execute("UPDATE student SET " + ", ".join(f"{c} = NULL" for c in personal))
        con.commit()
        con.execute("VACUUM")
    finally:
        con.close()
    return Path(snapshot).read_bytes()


def refusal(verdict):
    """The line that says a worker was refused, and why."""
    return f"worker {verdict['worker']} refused (it grades nothing): {'; '.join(verdict['why'])}"


def grade(course, unit, todo, scheduler, overrides, snapshot, merge, say):
    """Grade ``todo`` on the cluster at ``scheduler``: ``merge(student, result)``
    records each result as it arrives, ``say(line)`` tells the instructor something.
    Returns {student: [worker addresses it started on]} for the submissions that
    were graded more than once because a worker died."""
    from distributed import as_completed
    from distributed.scheduler import KilledWorker

    client = connect(scheduler)
    run_id = uuid.uuid4().hex[:12]
    name = remote.resource(run_id)
    try:
        try:
            client.wait_for_workers(1, timeout=WORKER_WAIT_S)
        except TimeoutError as exc:
            raise RuntimeError(f"no Dask worker joined {scheduler} within {WORKER_WAIT_S} s: "
                               f"start some with `dask worker {scheduler} --nthreads 1`") from exc
        plugin = remote.GradingPlugin(
            run_id, version.fingerprint(course.folder("source")),
            shipped_config(course, overrides), course_files(course, unit),
            unit_snapshot(snapshot, unit))
        client.register_plugin(plugin, name=name)
        verdicts = [v for v in client.run(remote.verdict, run_id).values() if v]
        for verdict in verdicts:
            if not verdict["ok"]:
                say(refusal(verdict))
        if not any(v["ok"] for v in verdicts):
            raise RuntimeError(f"no worker of {scheduler} can grade this course: "
                               + " / ".join(refusal(v) for v in verdicts))
        futures = {client.submit(remote.grade_task, run_id, unit, student,
                                 remote.read_files(course.folder("submitted", student, unit)),
                                 key=f"grade-{unit}-{student}-{run_id}", pure=False,
                                 resources={name: 1}): student
                   for student in todo}
        for future in as_completed(list(futures)):
            student = futures.pop(future)
            try:
                result = future.result()
            except KilledWorker as exc:
                result = {"ok": False, "notes": [], "data": None,
                          "error": f"its worker process died on each of "
                                   f"{exc.allowed_failures + 1} tries"}
            except Exception as exc:  # the task itself failed on its worker
                result = {"ok": False, "notes": [], "data": None,
                          "error": f"{type(exc).__name__}: {exc}"}
            merge(student, result)
        said = {v["worker"] for v in verdicts if not v["ok"]}
        return _retries(client.get_events(remote.topic(run_id)), said, say)
    finally:
        try:
            client.unregister_worker_plugin(name)
        except Exception:  # noqa: S110 (a worker that left cannot tear down; nothing to do)
            pass
        client.close()


def _retries(events, said, say):
    """Where each task started (from the run's events); says the refusals of workers
    that joined during the run."""
    starts = {}
    for _, event in events:
        if "started" in event:
            starts.setdefault(event["started"], []).append(event["worker"])
        elif "refused" in event and event["refused"] not in said:
            said.add(event["refused"])
            say(refusal({"worker": event["refused"], "why": event["why"]}))
    return {student: where for student, where in starts.items() if len(where) > 1}
