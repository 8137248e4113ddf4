"""What the benchmarks ran on."""

import os
import platform
import statistics


def cpu_model():
    """The CPU's model name from /proc/cpuinfo (or platform's guess)."""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe():
    """One Markdown paragraph: CPU, cores, memory, Python, TensorFlow."""
    import psutil
    import tensorflow as tf

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    memory = psutil.virtual_memory().total / 2**30
    return (f"CPU: {cpu_model()}, {cores} cores usable, {memory:.0f} GiB memory; "
            f"Python {platform.python_version()}, TensorFlow {tf.__version__}, "
            f"{platform.system()} {platform.release()}.")


def median(values):
    return statistics.median(values)


def table(header, rows):
    """A Markdown table from a header list and rows of cells."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
