"""Kernels for grading: resource limits and a quiet, CPU-only TensorFlow.

``LimitedKernelManager`` starts every grading kernel through this module's
launcher, ``python -m grader.kernel --memory-mb M --file-mb F -- CMD...``,
which sets the limits on its own process and then *replaces itself* with the
kernel command (``os.execve``), so the limits and the environment hold for
the kernel and anything it starts:

- ``RLIMIT_AS`` (address space): a memory bomb gets ``MemoryError`` or dies,
  instead of taking the machine down;
- ``RLIMIT_FSIZE``: no file larger than the limit (the kernel gets SIGXFSZ);
- ``RLIMIT_CORE`` 0: no core dumps from a crashed kernel.

The environment forces TensorFlow onto the CPU and keeps it quiet (a test
cell that writes to stderr scores zero), draws figures off-screen, fixes
Python's hash seed so that repeated runs print the same things, and keeps the
kernel's working directory (the student's folder) off ``sys.path``: a
submission that ships its own ``numpy.py`` or ``dlcourse/checks.py`` cannot
shadow the real modules that the test cells import (the launcher itself runs
with ``python -P`` for the same reason).
"""

import os
import resource
import sys

from jupyter_client.manager import AsyncKernelManager
from traitlets import Dict, Integer

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


class LimitedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels run under memory and file-size limits."""

    memory_limit_mb = Integer(
        6144, help="Address-space limit of a grading kernel in MiB (0: none)."
    ).tag(config=True)
    file_size_limit_mb = Integer(
        1024, help="Largest file a grading kernel may write, in MiB (0: none)."
    ).tag(config=True)
    kernel_env = Dict(
        {}, help="Extra environment variables for grading kernels (over the built-in ones)."
    ).tag(config=True)

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        env = [f"--env={k}={v}" for k, v in {**KERNEL_ENV, **self.kernel_env}.items()]
        return [
            sys.executable, "-P", "-m", "grader.kernel",
            f"--memory-mb={self.memory_limit_mb}", f"--file-mb={self.file_size_limit_mb}",
            *env, "--", *cmd,
        ]


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
        elif key == "--env":
            name, _, val = value.partition("=")
            env[name] = val
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    os.execve(cmd[0], cmd, env)


if __name__ == "__main__":
    launch(sys.argv[1:])
