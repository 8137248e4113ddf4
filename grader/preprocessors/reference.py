"""The reference records: what each test cell's checks computed for the solution.

The unit's solution notebook (nbgrader's source, ``solutions/NN/NN.ipynb``)
runs once, as it is, in a pristine sandboxed kernel (``grader.preprocessors.pristine``);
every ``dlcourse.checks`` call of its test cells publishes a record whose
``expected`` value is the oracle's, computed in a process no student touched.
The records of each graded cell are kept in
``instructor-data/reference/<unit>/<notebook>-<hash>.json``, keyed by the
notebook's bytes and the checks module's source (a changed solution or check is
run again); a lock lets parallel workers share one run.
"""

import fcntl
import hashlib
import json
from datetime import datetime
from pathlib import Path

import nbformat
from nbgrader import utils
from nbgrader.coursedir import CourseDirectory

import dlcourse.checks
from grader.course import DATA_FOLDER
from grader.preprocessors import pristine

MIME = dlcourse.checks.MIME
SECONDS = "@seconds"  # a key no grade_id can be (nbgrader ids are letters, digits, _ and -)


def records(cell):
    """The check records among a cell's outputs (dicts; anything else is ignored)."""
    found = []
    for out in cell.get("outputs", []):
        data = out.get("data", {}) if out.get("output_type") in (
            "display_data", "execute_result") else {}
        if MIME in data:
            found.append(data[MIME] if isinstance(data[MIME], dict) else {"kind": "unreadable"})
    return found


def error_of(cell):
    """``"Name: message"`` of a cell's first error output, or None."""
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return f"{out.get('ename', 'Error')}: {out.get('evalue', '')}"
    return None


def source_notebook(config, resources):
    """Path of the solution notebook (nbgrader source) of the notebook being graded."""
    coursedir = CourseDirectory(config=config)
    info = resources["nbgrader"]
    folder = coursedir.format_path(coursedir.source_directory, ".", info["assignment"])
    return Path(folder, f"{info['notebook']}.ipynb")


def cache_folder(config, folder=""):
    """Where reference records are kept (``folder``, else ``instructor-data/reference``)."""
    if folder:
        return Path(folder)
    return Path(CourseDirectory(config=config).root, DATA_FOLDER, "reference")


def key(path):
    """The cache key of a solution notebook: its bytes and the checks' source."""
    digest = hashlib.sha256(Path(path).read_bytes())
    digest.update(Path(dlcourse.checks.__file__).read_bytes())
    return digest.hexdigest()[:20]


def seconds(cell):
    """How long an executed cell ran, from the timing nbclient records (None if unknown)."""
    timing = cell.metadata.get("execution", {})
    try:
        start = datetime.fromisoformat(timing["iopub.status.busy"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(timing["shell.execute_reply"].replace("Z", "+00:00"))
    except (KeyError, ValueError, AttributeError):
        return None
    return (end - start).total_seconds()


def load(config, resources, folder="", timeout=600, log=None):
    """{grade_id: {"records": [...], "error": str|None}} for the notebook being graded,
    plus ``SECONDS``: {grade_id: seconds} of every locked cell of the solution's run;
    computed once per solution notebook, or None if there is no solution notebook."""
    path = source_notebook(config, resources)
    if not path.is_file():
        return None
    unit = resources["nbgrader"]["assignment"]
    target = cache_folder(config, folder) / unit / f"{path.stem}-{key(path)}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.is_file():
            return json.loads(target.read_text())
        if log:
            log.info("Running the solution of %s for the reference records", unit)
        ran = pristine.run(nbformat.read(path, as_version=4), path.parent, config, timeout, log)
        found = {SECONDS: {}}
        for cell in ran.cells:
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            if cell.cell_type == "code" and utils.is_locked(cell) and gid:
                found[SECONDS][gid] = seconds(cell)
            if cell.cell_type == "code" and utils.is_grade(cell):
                kept = [{k: v for k, v in r.items() if k != "model"} for r in records(cell)]
                found[gid] = {"records": kept, "error": error_of(cell)}
        partial = target.with_suffix(".part")
        partial.write_text(json.dumps(found))
        partial.replace(target)
        return found
