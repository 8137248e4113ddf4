"""TensorBoard in the course's notebooks: the program, its servers, its event files.

A lesson opens TensorBoard with three lines::

    from dlcourse import tensorboard as tb
    tb.prepare()                                   # once per kernel
    %load_ext tensorboard
    %tensorboard --logdir logs/02_graphs --port 0

The magic starts a TensorBoard server as a child process of the kernel, waits
until it answers (at most a minute; problems are reported as text in the cell,
and the server's own log goes to a temporary file) and embeds its page below the
cell. Running it again reuses the server that is already running. What
:func:`prepare` and ``--port 0`` add, so that the lessons need not explain it:

* **The right program.** The magic runs a program called ``tensorboard``.
  :func:`prepare` points it (through the ``TENSORBOARD_BINARY`` variable) at the
  one installed next to this kernel's Python, in case the kernel's ``PATH`` does
  not include the course environment.
* **The server stops with the kernel.** Nothing else would stop it: it would keep
  running after the notebook is closed, and a headless run (the course's tests,
  nbgrader) would leave it behind. :func:`prepare` registers
  :func:`stop_servers` with :mod:`atexit`, so that when the kernel shuts down or
  restarts, the TensorBoard servers that *this* kernel started (its child
  processes) are asked to exit; TensorBoard then also removes its entry from the
  list of running servers that ``%tensorboard`` keeps. Call ``stop_servers()``
  to stop them earlier.
* **A free port.** ``--port 0`` lets the operating system pick a free port; the
  usual 6006 may be taken by another notebook, another user of a shared server
  or a test running in parallel. The magic finds out which port the server got.

:func:`fresh_logdir`, :func:`read_scalars` and :func:`read_graph_nodes` prepare
a log folder and read back what ``tf.summary`` wrote, the way TensorBoard reads it.
"""

import atexit
import os
import shutil
import sys
from pathlib import Path

import psutil

BINARY_VARIABLE = "TENSORBOARD_BINARY"
_registered = False


def find_binary():
    """The ``tensorboard`` program to run: the one beside this Python, else the one on PATH.

    Returns a :class:`pathlib.Path`, or None when TensorBoard is not installed.
    """
    beside = Path(sys.executable).with_name("tensorboard")
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    on_path = shutil.which("tensorboard")
    return Path(on_path) if on_path else None


def prepare():
    """Set up this process for the ``%tensorboard`` magic; return the program it will run.

    Sets ``TENSORBOARD_BINARY`` to :func:`find_binary` (when found) and, the first
    time it is called, registers :func:`stop_servers` to run when the process exits.
    """
    global _registered
    binary = find_binary()
    if binary is not None:
        os.environ[BINARY_VARIABLE] = str(binary)
    if not _registered:
        atexit.register(stop_servers)
        _registered = True
    return binary


def _is_tensorboard(cmdline):
    # "python /venv/bin/tensorboard --logdir ...", "tensorboard ..." or "python -m tensorboard.main"
    return any(Path(part).name == "tensorboard" or part == "tensorboard.main"
               for part in cmdline[:3])


def servers():
    """The TensorBoard processes that this process started (its children), as psutil Processes."""
    found = []
    for child in psutil.Process().children():
        try:
            if _is_tensorboard(child.cmdline()):
                found.append(child)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            pass
    return found


def stop_servers(timeout=5.0):
    """Stop the TensorBoard servers this process started; return how many were stopped.

    Each gets SIGTERM (TensorBoard then exits cleanly and forgets its entry in the
    magic's list of running servers) and, if it has not exited after ``timeout``
    seconds, SIGKILL. Other child processes are left alone.
    """
    stopped = 0
    for server in servers():
        try:
            server.terminate()
            try:
                server.wait(timeout=timeout)
            except psutil.TimeoutExpired:
                server.kill()
                server.wait(timeout=timeout)
            stopped += 1
        except psutil.NoSuchProcess:
            stopped += 1
    return stopped


def fresh_logdir(path):
    """Delete the folder ``path`` with everything in it, create it empty, return it as a Path.

    TensorBoard shows every subfolder of a log folder as a run: starting afresh keeps
    old runs from piling up when a notebook runs again.
    """
    path = Path(path)
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def _accumulator(logdir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(logdir), size_guidance={"tensors": 0})  # 0: keep every event
    acc.Reload()
    return acc


def read_scalars(logdir, tag):
    """``(steps, values)`` of the scalar summary ``tag`` in the event files of ``logdir``.

    Reads the files with TensorBoard's own ``EventAccumulator``: what it finds,
    TensorBoard shows. ``tf.summary.scalar`` stores each value as a small tensor.
    Raises KeyError, naming the tags it found, when ``tag`` is not there.
    """
    acc = _accumulator(logdir)
    tags = acc.Tags()["tensors"]
    if tag not in tags:
        raise KeyError(f"no summary tagged {tag!r} in {logdir} (found {tags})")
    events = acc.Tensors(tag)
    values = [float(_to_ndarray(event.tensor_proto)) for event in events]
    return [event.step for event in events], values


def _to_ndarray(proto):
    from tensorboard.util import tensor_util

    return tensor_util.make_ndarray(proto)


def read_graph_nodes(logdir):
    """Names of the nodes of the graph written with ``tf.summary.graph`` into ``logdir``."""
    acc = _accumulator(logdir)
    if not acc.Tags()["graph"]:
        raise KeyError(f"no graph in {logdir}: write one with tf.summary.graph")
    return [node.name for node in acc.Graph().node]
