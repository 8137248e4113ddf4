"""The kernel launcher on its own: limits, environment, nothing of the folder on sys.path."""

import subprocess
import sys


def test_launcher_limits_memory_and_keeps_the_folder_off_sys_path(tmp_path):
    (tmp_path / "numpy.py").write_text("raise ImportError('shadowed')\n")
    code = ("import os, sys, numpy\n"
            "print(os.getcwd() in sys.path, os.environ['CUDA_VISIBLE_DEVICES'])\n"
            "try:\n    b = bytearray(900 * 2**20)\nexcept MemoryError:\n    print('MemoryError')\n")
    out = subprocess.run([sys.executable, "-P", "-m", "grader.preprocessors.kernel",
                          "--memory-mb=600",
                          "--env=PYTHONSAFEPATH=1", "--env=CUDA_VISIBLE_DEVICES=-1", "--",
                          sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)
    assert out.stdout.split() == ["False", "-1", "MemoryError"], out.stderr
