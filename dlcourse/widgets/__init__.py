"""Two interactive widgets for the convolution and LeNet lessons, one module each.

``conv_explorer()`` (:mod:`dlcourse.widgets.convolution`)
    Pick a real MNIST digit, a 3×3 kernel (or type your own), a stride, a
    padding and a dilation; see the input, the kernel and the output map side
    by side, with the output shape and the formula that gives it.
``draw_digit(model)`` (:mod:`dlcourse.widgets.drawing`)
    Draw a digit with the mouse; a trained LeNet-5 says what it sees (top-3
    probabilities) and shows the feature maps of every convolution layer.

Both are ipywidgets for JupyterLab. Where nothing can show a widget (a
notebook executed headless, or viewed as a static page), the same output
carries a static picture of the widget's current state instead
(:mod:`dlcourse.widgets.common`, which also holds their colours).

The convolution itself is TensorFlow's ``tf.nn.conv2d`` and the softmax
``tf.nn.softmax``: this package holds no exercise answers.
"""

from dlcourse.widgets.common import BAR, BORDER, FRAME, MUTED_TEXT, WINDOW
from dlcourse.widgets.convolution import (
    CUSTOM,
    KERNELS,
    ConvExplorer,
    conv_explorer,
    convolve,
    dilate,
    shape_formula,
)
from dlcourse.widgets.drawing import DigitDrawer, draw_digit, preprocess_drawing

__all__ = [
    "BAR",
    "BORDER",
    "CUSTOM",
    "FRAME",
    "KERNELS",
    "MUTED_TEXT",
    "WINDOW",
    "ConvExplorer",
    "DigitDrawer",
    "conv_explorer",
    "convolve",
    "dilate",
    "draw_digit",
    "preprocess_drawing",
    "shape_formula",
]
