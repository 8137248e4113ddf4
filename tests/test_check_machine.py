"""`make check-machine`: the hosts' check that every lesson runs, with its time and memory."""

import os
import re
import subprocess
import sys

import nbformat
import pytest
from support.paths import ROOT


def tiny(path, *sources):
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s)
                                                   for s in sources]), path)
    return path


def check_machine(*args, **env):
    return subprocess.run([sys.executable, "-m", "benchmarks.check_machine", *map(str, args)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, **env))


def row(stdout, name):
    """The cells of the table row of notebook ``name``."""
    line = next(line for line in stdout.splitlines() if line.startswith(f"| {name} |"))
    return [c.strip() for c in line.strip("|").split("|")]


def test_make_target_runs_the_check_on_the_notebooks_given():
    proc = subprocess.run(["make", "-n", "check-machine", "NOTEBOOKS=lessons/01_tensors.ipynb"],
                          cwd=ROOT, capture_output=True, text=True, check=True)
    assert re.search(r"\.venv/bin/python -m benchmarks\.check_machine lessons/01_tensors\.ipynb$",
                     proc.stdout, re.MULTILINE), proc.stdout


def test_unusable_mnist_stops_it_with_the_fix(tmp_path):
    proc = check_machine(ROOT / "lessons" / "01_tensors.ipynb",
                         DLCOURSE_DATA=str(tmp_path / "nowhere.npz"))
    assert proc.returncode == 1
    assert "No MNIST file at" in proc.stderr and "python -m dlcourse.data fetch" in proc.stderr


def test_a_missing_notebook_is_named(tmp_path):
    proc = check_machine(tmp_path / "absent.ipynb")
    assert proc.returncode == 2 and "absent.ipynb" in proc.stderr


@pytest.mark.slow
def test_reports_time_and_memory_and_fails_when_a_notebook_fails(tmp_path):
    ok = tiny(tmp_path / "ok.ipynb", "block = bytearray(300 * 2**20)  # 300 MiB, touched\n"
                                     "print(len(block))")
    bad = tiny(tmp_path / "bad.ipynb", "print('fine so far')",
               "raise ValueError('boom from the tiny notebook')")

    proc = check_machine(ok, bad)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    wall, peak = float(row(proc.stdout, "ok.ipynb")[1]), float(row(proc.stdout, "ok.ipynb")[2])
    assert row(proc.stdout, "ok.ipynb")[3] == "yes" and wall > 0
    assert 300 <= peak < 2048, "the kernel allocated 300 MiB: its peak is at least that"
    assert row(proc.stdout, "bad.ipynb")[3] == "**FAILED**"
    assert "boom from the tiny notebook" in proc.stdout
    assert "1 notebook(s) failed" in proc.stdout

    proc = check_machine(ok)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Every notebook ran" in proc.stdout
