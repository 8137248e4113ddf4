"""The benchmarks' quick mode runs every section, so the scripts cannot rot."""

import subprocess
import sys

import pytest
from support.paths import ROOT


@pytest.mark.slow
def test_quick_benchmarks_write_every_section(tmp_path):
    report = tmp_path / "BENCHMARKS.md"
    run = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--out", str(report)],
                         cwd=ROOT, capture_output=True, text=True, timeout=1200)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    text = report.read_text()
    for heading in ("## 1. The results table", "### LeNet-5 over seeds", "## 2. Convolution",
                    "## 3. Notebooks", "## 4. Grading throughput", "## 5. Set-up",
                    "## 6. The homework"):
        assert heading in text, f"missing section {heading!r}"
    assert "TensorFlow 2." in text and "cores" in text
    for chart in ("lenet_accuracy_vs_seconds.png", "conv_ratio.png", "notebook_times.png",
                  "grading_throughput.png", "homework_curves.png"):
        assert (tmp_path / "charts" / chart).stat().st_size > 1000, chart
        assert f"charts/{chart}" in text
    assert "failed" not in text.lower().replace("not met", "")
