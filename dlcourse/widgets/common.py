"""What the course's widgets share: their figures, pictures and colours.

A widget redraws a matplotlib figure into an ``ipywidgets.Image`` on every
change, and carries a static PNG for viewers that cannot show widgets.
"""

import base64
import io

from dlcourse.plots import use_course_style

#: Colours from the course's colour-blind-safe cycle: the kernel's window on the
#: input, the border of the unpadded image, the probability bars, and the frame of
#: the drawing canvas (a grey that shows on light and dark pages).
WINDOW, BORDER, BAR, FRAME = "#FF800E", "#A2C8EC", "#5F9ED1", "#ABABAB"
#: Secondary text in the widgets' HTML: JupyterLab's theme colour, light or dark.
MUTED_TEXT = "var(--jp-ui-font-color2, #666)"


def new_figure(figsize):
    """A matplotlib Figure that no pyplot backend knows about.

    Widgets redraw it on every change; with pyplot's inline backend a
    pyplot figure would also be printed into the cell's output each time.
    It uses the course's style, on an opaque white background that reads in
    light and dark themes alike.
    """
    from matplotlib.figure import Figure

    use_course_style()
    return Figure(figsize=figsize, layout="constrained", facecolor="white")


def to_png(fig, dpi=80):
    """The figure as PNG bytes, for an ``ipywidgets.Image`` or a static picture."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def mime_bundle(widget, png, text):
    """Display data for ``widget``, with the picture ``png`` for when no widget can render.

    JupyterLab shows the richest type it can render, so with a widget manager
    (a running kernel) the widget wins; a notebook executed headless keeps the
    PNG, which every viewer can show.
    """
    data = widget._repr_mimebundle_()
    data["image/png"] = base64.b64encode(png).decode("ascii")
    data["text/plain"] = text
    return data
