"""Kernels for grading: an OS sandbox, resource limits and a quiet, CPU-only TensorFlow.

``LimitedKernelManager`` starts every grading kernel through this module's
launcher, ``python -m grader.preprocessors.kernel --memory-mb M --file-mb F --nproc N -- CMD...``,
which sets the limits on its own process and then *replaces itself* with the
kernel command (``os.execve``), so the limits hold for the kernel and
anything it starts:

- ``RLIMIT_AS`` (address space): a memory bomb gets ``MemoryError`` or dies,
  instead of taking the machine down;
- ``RLIMIT_FSIZE``: no file larger than the limit (the kernel gets SIGXFSZ);
- ``RLIMIT_NPROC``: at most N processes and threads for the kernel's uid
  (a fork bomb stops there);
- ``RLIMIT_CORE`` 0: no core dumps from a crashed kernel.

With ``sandbox`` on (the default) CMD is the bubblewrap line of
``grader.grading.sandbox``: the kernel runs as an unprivileged uid in its own
namespaces, in a fresh folder holding a copy of the submission's plain files
(never the course's folder), and talks to its worker over Unix sockets
(jupyter_client's ``ipc`` transport). Interrupts go as ``interrupt_request``
messages, since a signal cannot cross into the sandbox's session.

The environment forces TensorFlow onto the CPU and keeps it quiet (a test
cell that writes to stderr scores zero), draws figures off-screen, fixes
Python's hash seed so that repeated runs print the same things, and keeps the
kernel's working directory off ``sys.path``: a submission that ships its own
``numpy.py`` or ``dlcourse/checks.py`` cannot shadow the real modules that the
test cells import (the launcher itself runs with ``python -P`` for the same
reason).
"""

import os
import resource
import sys
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Bool, Dict, Integer, List, Unicode

from grader.grading import sandbox

KERNEL_ENV = {
    "CUDA_VISIBLE_DEVICES": "-1",
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "TF_ENABLE_ONEDNN_OPTS": "0",
    "KERAS_BACKEND": "tensorflow",
    "MPLBACKEND": "Agg",
    "PYTHONHASHSEED": "0",
    "PYTHONSAFEPATH": "1",
    "MALLOC_ARENA_MAX": "2",  # fewer malloc arenas: less address space per thread
    "PYTHONWARNINGS": "ignore::DeprecationWarning",
}


# What a sandboxed kernel's environment holds besides KERNEL_ENV (nothing else leaks in).
SANDBOX_ENV = {
    "HOME": "/tmp", "LANG": "C.UTF-8",
    "IPYTHONDIR": "/tmp/ipython", "JUPYTER_RUNTIME_DIR": "/tmp/jupyter",
}
PASSED_ON = ("DLCOURSE_DATA", "NBGRADER_EXECUTION", "TZ")


class LimitedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels run sandboxed under memory, process and
    file-size limits."""

    memory_limit_mb = Integer(
        6144, help="Address-space limit of a grading kernel in MiB (0: none)."
    ).tag(config=True)
    file_size_limit_mb = Integer(
        1024, help="Largest file a grading kernel may write, in MiB (0: none)."
    ).tag(config=True)
    process_limit = Integer(
        512, help="Most processes and threads of a grading kernel's uid (0: none)."
    ).tag(config=True)
    kernel_env = Dict(
        {}, help="Extra environment variables for grading kernels (over the built-in ones)."
    ).tag(config=True)
    sandbox = Bool(
        True, help="Run each kernel in the bubblewrap sandbox (grader.grading.sandbox). Off only "
                   "with `autograde --no-sandbox`: student code then runs as this user."
    ).tag(config=True)
    uid = Integer(65534, help="The unprivileged uid a sandboxed kernel runs as.").tag(config=True)
    worker_uid_base = Integer(
        200_000, help="Under `python -m grader autograde`, worker k's kernels run as this "
                      "uid + k. Give two courses graded at the same time different bases."
    ).tag(config=True)
    course_root = Unicode(
        "", help="The folder the sandbox hides (default: CourseDirectory.root, else the cwd)."
    ).tag(config=True)
    extra_hidden = List(Unicode(), help="More folders a sandboxed kernel sees empty.").tag(
        config=True)

    _folder = None

    def _root(self):
        root = self.course_root or self.config.get("CourseDirectory", {}).get("root", "")
        return str(root or os.getcwd())

    async def _async_pre_start_kernel(self, **kw):
        if not self.sandbox:
            return await super()._async_pre_start_kernel(**kw)
        reason = sandbox.available()
        if reason is not None:
            raise RuntimeError(f"cannot start the grading sandbox: {reason}; "
                               + sandbox.INSTALL_HINT)
        if self._folder is None:
            self._folder = sandbox.make_folder(kw.get("cwd"), self.uid)
            self.transport = "ipc"
            self.ip = str(self._folder.sockets / "k")
            self.connection_file = str(self._folder.connection_file)
        kw["cwd"] = str(self._folder.work)
        cmd, kw = await super()._async_pre_start_kernel(**kw)
        os.chown(self.connection_file, self.uid, self.uid)
        return cmd, kw

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        env = {**KERNEL_ENV, **self.kernel_env}
        limits = [f"--memory-mb={self.memory_limit_mb}", f"--file-mb={self.file_size_limit_mb}"]
        if self.sandbox and self._folder is not None:
            limits.append(f"--nproc={self.process_limit}")  # counts per uid: the kernel's own
            env = {**SANDBOX_ENV, "MPLCONFIGDIR": str(self._folder.matplotlib),
                   "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
                   **{k: os.environ[k] for k in PASSED_ON if k in os.environ}, **env}
            if env.get("DLCOURSE_DATA"):  # bound at its real path: a link to it (or a
                # path under /tmp, which the sandbox empties) would not be there
                env["DLCOURSE_DATA"] = os.path.realpath(env["DLCOURSE_DATA"])
            hidden = [*sandbox.hidden_paths(self._root()), *map(Path, self.extra_hidden)]
            cmd = sandbox.command(self._folder, cmd, self.uid, hidden, env,
                                  os.environ.get("DLCOURSE_DATA"))
            return [sys.executable, "-P", "-m", "grader.preprocessors.kernel", *limits, "--", *cmd]
        return [sys.executable, "-P", "-m", "grader.preprocessors.kernel", *limits,
                *(f"--env={k}={v}" for k, v in env.items()), "--", *cmd]

    async def _async_interrupt_kernel(self):
        if self.sandbox and self.has_kernel:
            msg = self.session.msg("interrupt_request", content={})
            self._connect_control_socket()
            self.session.send(self._control_socket, msg)
            return
        await super()._async_interrupt_kernel()

    interrupt_kernel = _async_interrupt_kernel

    async def _async_cleanup_resources(self, restart=False):
        await super()._async_cleanup_resources(restart=restart)
        if not restart and self._folder is not None:
            self._folder.remove()
            self._folder = None

    cleanup_resources = _async_cleanup_resources


def _limit(which, megabytes):
    if megabytes > 0:
        limit = megabytes * 1024 * 1024
        soft, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(which, (limit, hard))


def launch(argv):
    """Apply the limits and environment in ``argv`` and exec the command after ``--``."""
    split = argv.index("--")
    options, cmd = argv[:split], argv[split + 1:]
    env = dict(os.environ)
    for option in options:
        key, _, value = option.partition("=")
        if key == "--memory-mb":
            _limit(resource.RLIMIT_AS, int(value))
        elif key == "--file-mb":
            _limit(resource.RLIMIT_FSIZE, int(value))
        elif key == "--nproc" and int(value) > 0:
            resource.setrlimit(resource.RLIMIT_NPROC, (int(value), int(value)))
        elif key == "--env":
            name, _, val = value.partition("=")
            env[name] = val
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    os.execve(cmd[0], cmd, env)


if __name__ == "__main__":
    launch(sys.argv[1:])
