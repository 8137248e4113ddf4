"""grader.grading.sandbox: what a kernel can reach of what is bound under an empty tmpfs."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from grader.grading.sandbox import traversed


def test_only_the_folders_bwrap_creates_are_opened():
    bound = [Path("/tmp/ci/shared/data/mnist.npz"), Path("/root/.pyenv/versions/3.11"),
             Path("/root/.pyenv/versions/3.11/bin/python3.11"), Path("/root/course/.venv")]
    roots = [Path("/tmp"), Path("/root"), Path("/root/course")]
    assert traversed(bound, roots) == [Path("/tmp/ci"), Path("/tmp/ci/shared"),
                                       Path("/tmp/ci/shared/data"), Path("/root/.pyenv"),
                                       Path("/root/.pyenv/versions")]


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("bwrap"), reason="needs bwrap, root")
def test_a_file_bound_under_tmp_is_readable_by_another_uid(tmp_path):
    data = tmp_path / "deep" / "data.txt"  # under /tmp, which the sandbox empties
    data.parent.mkdir()
    data.write_text("mnist")
    data.chmod(0o444)
    argv = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
            "--tmpfs", "/tmp", "--ro-bind", str(data), str(data)]
    for folder in traversed([data], [Path("/tmp")]):
        argv += ["--chmod", "0711", str(folder)]
    argv += ["--", "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "cat", str(data)]
    assert subprocess.run(argv, capture_output=True, text=True).stdout == "mnist"
