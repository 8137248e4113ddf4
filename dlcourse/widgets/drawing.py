"""Draw a digit: a canvas whose drawing a trained LeNet-5 classifies live, with the top-3
probabilities and the feature maps of every convolution layer.
"""

import time

import numpy as np

from dlcourse.utils import quiet_tensorflow
from dlcourse.widgets.common import BAR, FRAME, mime_bundle, new_figure, to_png


def preprocess_drawing(drawing):
    """Turn a drawing into a digit that looks like MNIST.

    ``drawing`` is a grey image of any size (H, W), ink bright on a dark
    background (0..255, or floats 0..1). MNIST's own recipe: the ink's bounding
    box is scaled, keeping its aspect ratio, to fit a 20×20 box (with
    anti-aliasing), then placed in a 28×28 image so that its centre of mass
    falls on the centre pixel (14, 14). Returns a uint8 array (28, 28) with
    grey levels 0..255, like ``load_mnist()``'s images; an empty drawing gives
    all zeros.
    """
    from PIL import Image

    a = np.asarray(drawing, dtype=np.float32)
    if a.ndim != 2:
        raise ValueError(f"expected one grey image (H, W), got shape {a.shape}")
    if a.size and a.max() <= 1.0:
        a = a * 255.0
    a = np.clip(a, 0, 255)
    out = np.zeros((28, 28), dtype=np.uint8)
    rows, cols = np.nonzero(a > 0)
    if rows.size == 0:
        return out
    box = a[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    h, w = box.shape
    factor = 20.0 / max(h, w)
    size = (max(1, round(w * factor)), max(1, round(h * factor)))  # PIL: (width, height)
    small = np.asarray(
        Image.fromarray(box.astype(np.uint8)).resize(size, Image.Resampling.LANCZOS),
        dtype=np.float32,
    )
    mass = small.sum()
    if mass == 0:
        return out
    ys, xs = np.indices(small.shape)
    cy, cx = (ys * small).sum() / mass, (xs * small).sum() / mass
    top = int(np.clip(round(14 - cy), 0, 28 - small.shape[0]))
    left = int(np.clip(round(14 - cx), 0, 28 - small.shape[1]))
    out[top:top + small.shape[0], left:left + small.shape[1]] = np.clip(
        np.rint(small), 0, 255).astype(np.uint8)
    return out


def _ends_in_softmax(model):
    last = model.layers[-1]
    activation = getattr(last, "activation", None)
    return type(last).__name__ == "Softmax" or getattr(activation, "__name__", "") == "softmax"


class DigitDrawer:
    """The draw-a-digit widget; display it to use it.

    Parts: ``canvas`` (ipycanvas), ``clear`` (button), ``prediction`` (the
    predicted class as text), ``top3`` (probabilities) and ``maps`` (a picture
    of the network's input and its feature maps). ``probabilities`` holds the
    latest 10 class probabilities (None before anything is drawn).
    """

    #: A "7" in canvas coordinates (for the static picture when nothing is drawn).
    EXAMPLE = [[(80, 70), (200, 70), (190, 100), (130, 230)]]

    def __init__(self, model, size=280, pen=22, maps_per_row=8, prepare=None):
        import ipywidgets as w
        from ipycanvas import Canvas

        self.model = model
        self.size, self.pen, self.maps_per_row = size, pen, maps_per_row
        self.prepare = prepare or self._default_prepare
        self.strokes = []
        self.probabilities = None
        self._last = 0.0
        self.canvas = Canvas(width=size, height=size,
                             layout=w.Layout(width=f"{size}px", height=f"{size}px"))
        self.canvas.add_class("dlc-draw-canvas")
        self.clear = w.Button(description="Clear", icon="eraser")
        self.mnist_like = w.Checkbox(value=True, description="MNIST-style pre-processing",
                                     indent=False)
        self.mnist_like.add_class("dlc-mnist-like")
        self.prediction = w.HTML()
        self.prediction.add_class("dlc-prediction")
        self.top3 = w.HTML()
        self.top3.add_class("dlc-top3")
        self.maps = w.Image(format="png")
        self.maps.add_class("dlc-feature-maps")

        self.canvas.on_mouse_down(self._down)
        self.canvas.on_mouse_move(self._move)
        self.canvas.on_mouse_up(self._up)
        self.canvas.on_mouse_out(self._up)
        self.canvas.on_client_ready(self._repaint)
        self.clear.on_click(lambda _: self.reset())
        self.mnist_like.observe(lambda _: self.predict(), names="value")

        # a frame, so that the black square shows on a dark page too
        framed = w.Box([self.canvas], layout=w.Layout(border=f"2px solid {FRAME}",
                                                      width=f"{size + 4}px"))
        left = w.VBox([w.HTML("<b>Draw a digit</b> with the mouse"),
                       framed, w.HBox([self.clear, self.mnist_like])])
        right = w.VBox([self.prediction, self.top3, self.maps])
        self.widget = w.HBox([left, right])
        self.widget.add_class("dlc-draw-digit")
        self._drawing = False
        self.reset()

    # model input
    def _default_prepare(self, digit):
        from dlcourse.data import pad_to_32, scale

        side = self.model.input_shape[1]
        x = scale(digit)[None, :, :, None]
        if side == 32:
            return pad_to_32(x)
        if side == 28:
            return x
        raise ValueError(f"the model takes {self.model.input_shape}; draw_digit expects "
                         "(None, 32, 32, 1) or (None, 28, 28, 1); pass prepare=")

    # drawing
    def raster(self, strokes=None):
        """The strokes as a (size, size) uint8 image: white ink on black."""
        from PIL import Image, ImageDraw

        img = Image.new("L", (self.size, self.size), 0)
        pen = ImageDraw.Draw(img)
        r = self.pen / 2
        for stroke in self.strokes if strokes is None else strokes:
            if len(stroke) > 1:
                pen.line(stroke, fill=255, width=self.pen, joint="curve")
            for x, y in stroke:
                pen.ellipse((x - r, y - r, x + r, y + r), fill=255)
        return np.asarray(img)

    def digit(self, strokes=None):
        """What the network gets to see, (28, 28) uint8: the drawing pre-processed
        like MNIST (:func:`preprocess_drawing`), or with the "MNIST-style
        pre-processing" box unticked, the whole canvas shrunk to 28×28 as drawn."""
        from PIL import Image

        raster = self.raster(strokes)
        if self.mnist_like.value:
            return preprocess_drawing(raster)
        return np.asarray(Image.fromarray(raster).resize((28, 28), Image.Resampling.BOX))

    def _style(self):
        self.canvas.stroke_style = "white"
        self.canvas.fill_style = "white"
        self.canvas.line_width = self.pen
        self.canvas.line_cap = "round"
        self.canvas.line_join = "round"

    def _repaint(self):
        from ipycanvas import hold_canvas

        with hold_canvas():
            self.canvas.clear()
            self.canvas.fill_style = "black"
            self.canvas.fill_rect(0, 0, self.size, self.size)
            self._style()
            for stroke in self.strokes:
                if len(stroke) > 1:
                    self.canvas.stroke_lines(stroke)
                else:
                    x, y = stroke[0]
                    self.canvas.fill_circle(x, y, self.pen / 2)

    def reset(self):
        """Clear the drawing and the prediction."""
        self.strokes = []
        self.probabilities = None
        self._repaint()
        self.prediction.value = "<div style='font-size:1.4em'>Prediction: –</div>"
        self.top3.value = "<i>Draw a digit on the black square.</i>"
        self.maps.value = to_png(self.figure(np.zeros((28, 28), np.uint8), None, None))

    def _down(self, x, y):
        self._drawing = True
        self.strokes.append([(x, y)])
        self.canvas.fill_circle(x, y, self.pen / 2)

    def _move(self, x, y):
        if not self._drawing:
            return
        x0, y0 = self.strokes[-1][-1]
        self.strokes[-1].append((x, y))
        self.canvas.stroke_line(x0, y0, x, y)
        if time.monotonic() - self._last > 0.3:  # live, but not on every pixel
            self.predict(maps=False)

    def _up(self, x, y):
        if self._drawing:
            self._drawing = False
            self.predict()

    # prediction
    def feature_maps(self, batch):
        """Outputs of every Conv2D layer for ``batch``: a list of (name, array (H, W, C)).

        The model's layers are applied one after another (a LeNet is a chain;
        a Sequential model nested in it is walked into).
        """
        import keras

        found = []

        def run(layers, x):
            for layer in layers:
                if isinstance(layer, keras.layers.InputLayer):
                    continue
                if isinstance(layer, keras.Sequential):
                    x = run(layer.layers, x)
                    continue
                x = layer(x, training=False)
                if isinstance(layer, keras.layers.Conv2D):
                    found.append((layer.name, np.asarray(x)[0]))
            return x

        run(self.model.layers, batch)
        return found

    def classify(self, digit):
        """Class probabilities (10,) of a (28, 28) digit, and its model input."""
        batch = self.prepare(digit)
        out = np.asarray(self.model(batch, training=False))[0]
        if not _ends_in_softmax(self.model):
            out = quiet_tensorflow().nn.softmax(out.astype(np.float64)).numpy()
        return out, batch

    def predict(self, maps=True):
        """Classify the current drawing and show the result."""
        self._last = time.monotonic()
        digit = self.digit()
        if not digit.any():
            return
        self.probabilities, batch = self.classify(digit)
        best = np.argsort(self.probabilities)[::-1][:3]
        self.prediction.value = (
            f"<div style='font-size:1.4em'>Prediction: <b>{best[0]}</b></div>")
        rows = "".join(
            f"<tr><td style='padding-right:8px'>{c}</td><td><div style='background:{BAR};"
            f"height:12px;width:{max(1, round(160 * self.probabilities[c]))}px'></div></td>"
            f"<td style='padding-left:8px'>{100 * self.probabilities[c]:.1f}%</td></tr>"
            for c in best
        )
        head = "<tr><th>digit</th><th colspan=2>probability</th></tr>"
        self.top3.value = f"<table>{head}{rows}</table>"
        if maps:
            self.maps.value = to_png(self.figure(digit, batch, None))

    def figure(self, digit, batch, probabilities, drawing=None, title="What LeNet-5 sees"):
        """A matplotlib Figure: the drawing and the top-3 ``probabilities`` (when
        given), the network's input ``digit`` and every feature map of every conv
        layer for the model input ``batch`` (none when it is None)."""
        layers = [] if batch is None else self.feature_maps(batch)
        per_row = self.maps_per_row
        rows = [(name, maps, j) for name, maps in layers
                for j in range(0, maps.shape[-1], per_row)]
        fig = new_figure((1.15 * per_row, 2.2 + 1.2 * len(rows)))
        top, bottom = fig.subfigures(2, 1, height_ratios=[1.9, 0.1 + 1.2 * len(rows)])
        grid = top.add_gridspec(1, max(per_row, 6))
        pictures = [("your drawing", drawing, "x", "y")] if drawing is not None else []
        how = "as MNIST" if self.mnist_like.value else "as drawn"
        pictures.append((f"network input\n({how}, 28×28)", digit, "column", "row"))
        for col, (name, picture, xlabel, ylabel) in enumerate(pictures):
            ax = top.add_subplot(grid[0, col])
            ax.imshow(picture, cmap="gray", vmin=0, vmax=255)
            ax.set_title(name, fontsize=9)
            ax.set_xlabel(xlabel, fontsize=8)
            ax.set_ylabel(ylabel, fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
        if probabilities is not None:
            ax = top.add_subplot(grid[0, len(pictures) + 1:len(pictures) + 4])
            best = np.argsort(probabilities)[::-1][:3][::-1]
            ax.barh([str(c) for c in best], probabilities[best], color=BAR)
            for i, c in enumerate(best):
                ax.text(min(probabilities[c], 0.7) + 0.02, i, f"{100 * probabilities[c]:.1f}%",
                        va="center", fontsize=8)
            ax.set_xlim(0, 1)
            ax.set_title("top-3 predictions", fontsize=9)
            ax.set_xlabel("probability", fontsize=8)
            ax.set_ylabel("digit", fontsize=8)
        if rows:
            axes = np.atleast_2d(bottom.subplots(len(rows), per_row))
            for r, (name, maps, first) in enumerate(rows):
                for j, ax in enumerate(axes[r]):
                    ax.set_xticks([])
                    ax.set_yticks([])
                    if first + j >= maps.shape[-1]:
                        ax.axis("off")
                        continue
                    ax.imshow(maps[:, :, first + j], cmap="viridis")
                    ax.set_xlabel(f"map {first + j}", fontsize=7)
                    if j == 0:
                        h, w, c = maps.shape
                        ax.set_ylabel(f"{name}\n{h}×{w}×{c}", fontsize=8)
            bottom.suptitle("feature maps of each conv layer (bright: strong response)",
                            fontsize=10)
        fig.suptitle(title)
        return fig

    def static_figure(self):
        """The picture shown without a front end: the current drawing (or an example 7)."""
        strokes = self.strokes or self.EXAMPLE
        drawing, digit = self.raster(strokes), self.digit(strokes)
        probabilities, batch = self.classify(digit)
        what = "your drawing" if self.strokes else "an example drawing"
        return self.figure(digit, batch, probabilities, drawing=drawing,
                           title=f"Draw a digit (static preview of {what}: open the notebook "
                                 "in JupyterLab and run it to draw)")

    def _repr_mimebundle_(self, **kwargs):
        return mime_bundle(self.widget, to_png(self.static_figure()),
                       "Draw a digit (needs JupyterLab with a running kernel)")


def draw_digit(model, size=280, pen=22, maps_per_row=8, prepare=None):
    """A canvas to draw a digit on, classified live by ``model``; display the result.

    ``model`` is a trained Keras LeNet-5 that takes MNIST images scaled to
    [0, 1], padded to 32×32×1 as ``dlcourse.data.pad_to_32`` does (a model
    taking 28×28×1 also works). Its output may be logits or probabilities.
    ``prepare`` replaces the input pipeline: a function from a (28, 28) uint8
    digit to the model's input batch.
    """
    return DigitDrawer(model, size=size, pen=pen, maps_per_row=maps_per_row, prepare=prepare)
