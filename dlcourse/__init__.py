"""Helpers shared by the notebooks of *From Tensors to LeNet*.

The package holds data loading, plotting, widgets and small utilities. It
never holds exercise answers: students are welcome to read it.
"""

from dlcourse.utils import Timer, quiet_tensorflow, set_seed

__all__ = ["Timer", "quiet_tensorflow", "set_seed"]
__version__ = "0.1.0"
