"""dlcourse.tensorboard: the program, a real server started and stopped, real event files."""

import atexit
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dlcourse import quiet_tensorflow
from dlcourse import tensorboard as tb


def test_find_binary_is_the_program_beside_this_python_and_it_runs():
    binary = tb.find_binary()
    assert binary == Path(sys.executable).with_name("tensorboard")
    version = subprocess.run([str(binary), "--version_tb"], capture_output=True, text=True,
                             timeout=120, check=True).stdout.strip()
    import tensorboard

    assert version == tensorboard.__version__


def test_prepare_points_the_magic_at_the_binary_and_registers_the_stop_once(monkeypatch):
    registered = []
    monkeypatch.setattr(atexit, "register", registered.append)
    monkeypatch.setattr(tb, "_registered", False)
    monkeypatch.delenv(tb.BINARY_VARIABLE, raising=False)
    assert tb.prepare() == tb.find_binary()
    assert tb.prepare() == tb.find_binary()
    assert os.environ[tb.BINARY_VARIABLE] == str(tb.find_binary())
    assert registered == [tb.stop_servers]


def _wait_for(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.2)


def test_stop_servers_stops_a_real_tensorboard_and_leaves_other_children(tmp_path):
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen([str(tb.find_binary()), "--logdir", str(tmp_path), "--port", "0"],
                              stdout=log, stderr=subprocess.STDOUT)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        _wait_for(lambda: "http://" in (tmp_path / "server.log").read_text()
                  or server.poll() is not None, 120, "TensorBoard to listen")
        assert server.poll() is None, (tmp_path / "server.log").read_text()
        assert [p.pid for p in tb.servers()] == [server.pid]
        assert tb.stop_servers() == 1
        assert server.poll() is not None, "the server is still running"
        assert other.poll() is None, "stop_servers stopped a process that is not TensorBoard"
        assert tb.servers() == [] and tb.stop_servers() == 0
    finally:
        for process in (server, other):
            if process.poll() is None:
                process.kill()
            process.wait()
        log.close()


def test_fresh_logdir_removes_old_runs(tmp_path):
    old = tmp_path / "logs" / "run" / "events.out.tfevents.old"
    old.parent.mkdir(parents=True)
    old.write_text("stale")
    assert tb.fresh_logdir(tmp_path / "logs") == tmp_path / "logs"
    assert list((tmp_path / "logs").iterdir()) == []
    assert tb.fresh_logdir(tmp_path / "new" / "deeper").is_dir()


def test_read_scalars_returns_what_tf_summary_wrote(tmp_path):
    tf = quiet_tensorflow()
    values = [3.0, 2.5, -1.25, 0.0]
    with tf.summary.create_file_writer(str(tmp_path)).as_default():
        for step, value in enumerate(values):
            tf.summary.scalar("loss", value, step=step * 10)
    tf.summary.flush()
    steps, read = tb.read_scalars(tmp_path, "loss")
    assert steps == [0, 10, 20, 30]
    assert read == values
    with pytest.raises(KeyError, match="'accuracy'.*found \\['loss'\\]"):
        tb.read_scalars(tmp_path, "accuracy")


def test_read_graph_nodes_returns_the_nodes_of_a_tf1_graph(tmp_path):
    tf = quiet_tensorflow()
    graph = tf.Graph()
    with graph.as_default():
        a = tf.compat.v1.placeholder(tf.float32, name="A")
        tf.identity(2.0 * a, name="out")
    with pytest.raises(KeyError, match="no graph"):
        tb.read_graph_nodes(tmp_path)
    writer = tf.summary.create_file_writer(str(tmp_path))
    with writer.as_default():
        tf.summary.graph(graph)
    writer.close()
    assert tb.read_graph_nodes(tmp_path) == [op.name for op in graph.get_operations()]
