"""GuardedExecute in real kernels on small notebooks: limits, dead kernels, the probe,
the sandbox.

The notebooks here use only the standard library and NumPy, so each kernel
starts in a second or two; the limits are set small to keep the tests short.
"""

import json
import socket
import time

import pytest
from nbformat.v4 import new_code_cell, new_notebook
from support import paths
from traitlets.config import Config

from grader.preprocessors.execute import GuardedExecute
from grader.reporting import notes

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("grader-execute")]
KERNEL = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
LOCKED = {"nbgrader": {"grade": False, "solution": False, "locked": True, "grade_id": "given",
                       "schema_version": 3}}


def run(tmp_path, cells, cell=20, notebook=120, memory=0, **traits):
    nb = new_notebook(cells=[c if not isinstance(c, str) else new_code_cell(c) for c in cells],
                      metadata={"kernelspec": KERNEL})
    config = Config({"LimitedKernelManager": {"memory_limit_mb": memory or 4096}})
    pp = GuardedExecute(config=config, cell_timeouts={"unit": cell},
                        notebook_timeouts={"unit": notebook}, **traits)
    start = time.monotonic()
    pp.preprocess(nb, {"nbgrader": {"assignment": "unit"}, "metadata": {"path": str(tmp_path)}})
    return nb, notes.get(nb), time.monotonic() - start


def errors(cell):
    return [o.ename for o in cell.outputs if o.output_type == "error"]


def texts(found, severity=None):
    return " ".join(n["text"] for n in found if severity in (None, n["severity"]))


def test_the_notebook_limit_stops_what_is_left(tmp_path):
    nb, found, took = run(tmp_path, ["import time\ntime.sleep(2)", "time.sleep(30)", "x = 1"],
                          notebook=6)
    assert errors(nb.cells[0]) == [] and "CellTimeoutError" in errors(nb.cells[1])
    assert errors(nb.cells[2]) == ["CellNotRun"]
    assert "time limit of 6 s" in texts(found) and took < 40


def test_a_kernel_that_ignores_the_interrupt_is_killed(tmp_path):
    nb, found, took = run(tmp_path, [
        "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass",
        "x = 1"], cell=3)
    assert errors(nb.cells[1]) == ["CellNotRun"]
    assert "did not stop" in texts(found, "review") and took < 60


def test_a_dead_kernel_ends_the_run_cleanly(tmp_path):
    nb, found, _ = run(tmp_path, ["x = 1", "import os\nos._exit(3)", "y = 2"])
    assert errors(nb.cells[1]) == ["DeadKernelError"] and errors(nb.cells[2]) == ["CellNotRun"]
    assert "exited with status 3" in texts(found, "review")


def test_output_is_capped_as_it_arrives(tmp_path):
    nb, found, _ = run(tmp_path, [
        "for i in range(200_000):\n    print(i)",
        "import sys\nsys.stderr.write('e' * 50_000)"], max_stream_chars=1000)
    stdout = "".join(o.get("text", "") for o in nb.cells[0].outputs)
    assert 1000 <= len(stdout) < 1200 and "truncated" in stdout
    stderr = [o for o in nb.cells[1].outputs if o.get("name") == "stderr"]
    assert stderr and sum(len(o.text) for o in stderr) < 1200  # stderr stays stderr
    assert "printed too much" in texts(found, "info")


def test_the_memory_limit_turns_a_bomb_into_an_error(tmp_path):
    nb, found, _ = run(tmp_path, ["hog = []\nwhile True:\n    hog.append(b'x' * 10**7)",
                                  "del hog\nprint('alive')"], memory=1200)
    assert errors(nb.cells[0]) == ["MemoryError"]
    assert "alive" in nb.cells[1].outputs[0].text
    assert "1200 MiB" in texts(found, "review")


def test_the_probe_blames_student_cells_only(tmp_path):
    patch = "import numpy\nfor m in [numpy]:\n    m.allclose = abs"
    nb, found, _ = run(tmp_path, [new_code_cell(patch, metadata=LOCKED), "x = 1"])
    assert found == []
    nb, found, _ = run(tmp_path, ["import numpy", patch, "x = 1"])
    assert "cell 1 (not an exercise cell) replaced `numpy.allclose`" in texts(found, "review")
    assert texts(found, "zero") == ""  # a warning: the judge decides the grade


def test_the_grader_times_graded_cells_and_keeps_check_records_apart(tmp_path):
    nb = new_notebook(cells=[
        new_code_cell("import time\ntime.sleep(1.5)", metadata={"nbgrader": {
            "grade_id": "train", "solution": True, "grade": False, "locked": False}}),
        new_code_cell("from dlcourse import checks\nfor i in range(80):\n"
                      "    checks.assert_equal(i, i)")],
        metadata={"kernelspec": KERNEL})
    resources = {"nbgrader": {"assignment": "unit"}, "metadata": {"path": str(tmp_path)}}
    GuardedExecute(max_display_outputs=5).preprocess(nb, resources)
    assert 1.5 <= resources["dlcourse"]["seconds"][0] < 20
    records = [o for o in nb.cells[1].outputs if "application/vnd.dlcourse.check+json"
               in o.get("data", {})]
    assert len(records) == 80  # records do not count against the display budget


def test_test_cells_run_sealed_and_keep_their_source(tmp_path):
    source = ("from dlcourse.checks import assert_close, oracle\n"
              "assert_close(2.0, oracle(1 / 0), name='f')")
    nb = new_notebook(cells=[new_code_cell(source, metadata={"nbgrader": {
        "grade_id": "f_test", "solution": False, "grade": True, "locked": True,
        "points": 1}})], metadata={"kernelspec": KERNEL})
    resources = {"nbgrader": {"assignment": "unit"}, "metadata": {"path": str(tmp_path)}}
    GuardedExecute().preprocess(nb, resources)
    (cell,) = nb.cells
    assert errors(cell) == [] and cell.source == source  # the oracle never ran
    (record,) = [o.data["application/vnd.dlcourse.check+json"] for o in cell.outputs
                 if "application/vnd.dlcourse.check+json" in o.get("data", {})]
    assert record["expected"] == {"type": "sealed"}


def test_an_ordinary_notebook_leaves_no_note(tmp_path):
    nb, found, _ = run(tmp_path, [
        "import numpy as np\nimport matplotlib.pyplot as plt",
        "fig, ax = plt.subplots()\nax.plot(np.arange(3))\nplt.show()",
        "def f(x):\n    return 2 * x\nprint(f(np.ones(2)))", "1 / 0", "y = f(3)"])
    assert found == [] and errors(nb.cells[3]) == ["ZeroDivisionError"]


def test_output_is_limited_by_bytes(tmp_path):
    picture = ("class Picture:\n    def _repr_png_(self):\n"
               "        return b'\\x89PNG' + bytes({})\nPicture()")
    nb, found, _ = run(tmp_path, [picture.format(3_000_000), picture.format(1000),
                                  "raise ValueError('v' * 10**6)"],
                       max_cell_output_bytes=1_000_000, max_error_chars=5000)
    assert nb.cells[0].outputs == [] and len(nb.cells[1].outputs) == 1
    error = nb.cells[2].outputs[0]
    assert len(error.evalue) < 6000 and sum(map(len, error.traceback)) <= 5000
    assert "printed too much" in texts(found, "info")


SPY = """
import json, os, socket, sys
seen = {"uid": os.getuid(), "pid": os.getpid(), "cwd": os.getcwd(),
        "files": sorted(os.listdir(".")), "course": sorted(os.listdir(COURSE)),
        "processes": sorted(p for p in os.listdir("/proc") if p.isdigit())}
for what, path in (("env", sys.prefix), ("tmp", "/tmp")):
    try:
        open(os.path.join(path, "probe.txt"), "w").write("x")
        seen[what] = "written"
    except OSError as exc:
        seen[what] = type(exc).__name__
try:
    os.kill(os.getppid(), 9)
    seen["kill"] = "killed"
except OSError as exc:
    seen["kill"] = type(exc).__name__
try:
    socket.create_connection(("127.0.0.1", PORT), timeout=5)
    seen["net"] = "connected"
except OSError as exc:
    seen["net"] = type(exc).__name__
print(json.dumps(seen))
"""


def test_a_kernel_sees_only_its_copy_of_the_submission(tmp_path):
    (tmp_path / "data.txt").write_text("given")
    (tmp_path / "secret.ipynb").write_text("{}")
    (tmp_path / "link.txt").symlink_to(paths.SOLUTIONS)
    listener = socket.create_server(("127.0.0.1", 0))
    try:
        code = SPY.replace("COURSE", repr(str(paths.ROOT))).replace(
            "PORT", str(listener.getsockname()[1]))
        nb, found, _ = run(tmp_path, [code, "print('still alive')"])
    finally:
        listener.close()
    seen = json.loads(nb.cells[0].outputs[0].text)
    assert seen["uid"] == 65534 and seen["cwd"] != str(tmp_path)
    assert seen["files"] == ["data.txt"]  # no notebook, no link
    assert set(seen["course"]) <= {".venv", "dlcourse"}
    assert len(seen["processes"]) <= 3  # bwrap's init, the kernel, maybe its child
    assert seen["env"] != "written" and seen["tmp"] == "written"
    assert seen["kill"] == "PermissionError"
    assert seen["net"] != "connected"
    assert "still alive" in nb.cells[1].outputs[0].text
    assert not (paths.ROOT / ".venv" / "probe.txt").exists()
