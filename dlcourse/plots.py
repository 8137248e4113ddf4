"""Figures the notebooks share. Every function returns its matplotlib Figure.

Images are drawn in grey with the axes' ticks hidden; every figure carries a
title, and charts carry labelled axes.

Importing this module sets the course's style once for every later figure
(:func:`use_course_style`): a colour cycle that people with the common colour
blindnesses can tell apart, colour-blind-safe colour maps, and an opaque white
background, so that figures stay readable in JupyterLab's dark theme.
"""

import math

import matplotlib.pyplot as plt
import numpy as np

#: The colour cycle: matplotlib's style sheet made for colour-blind readers.
STYLE = "tableau-colorblind10"
#: Colour maps: the default for images and maps (perceptually uniform, colour-blind
#: safe), one for counts, and a blue-white-red one for signed values.
IMAGE_CMAP, COUNT_CMAP, SIGNED_CMAP = "viridis", "cividis_r", "RdBu_r"
#: The colour that marks a wrong answer (the cycle's dark orange).
WRONG_COLOUR = "#C85200"
_OPAQUE_LIGHT = {
    "figure.facecolor": "white", "axes.facecolor": "white", "savefig.facecolor": "white",
    "savefig.transparent": False, "legend.framealpha": 1.0, "image.cmap": IMAGE_CMAP,
}


def use_course_style():
    """Set the course's figure style for every figure drawn after the call.

    The ``tableau-colorblind10`` colour cycle (``"C0"``, ``"C1"``, ... name its
    colours), ``viridis`` as the default colour map, and opaque white figure and
    axes backgrounds (a transparent figure with black text is unreadable in a
    dark theme). Importing ``dlcourse.plots`` calls it; call it again after
    changing matplotlib's style yourself.
    """
    plt.style.use(STYLE)
    plt.rcParams.update(_OPAQUE_LIGHT)


def palette():
    """The colour cycle's colours, as hex strings (``"C0"`` is the first)."""
    return list(plt.style.library[STYLE]["axes.prop_cycle"].by_key()["color"])


use_course_style()


def _grid(n, ncols, cell=1.2, title=None):
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    # each row gets room for its titles above the images (else they overlap the row above)
    fig, axes = plt.subplots(nrows, ncols, figsize=(cell * ncols, (cell + 0.3) * nrows + 0.4),
                             squeeze=False)
    for ax in axes.flat[n:]:
        ax.remove()
    if title:
        fig.suptitle(title)
    return fig, list(axes.flat[:n])


def _show(ax, image, cmap="gray", **kw):
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    ax.imshow(image, cmap=cmap, **kw)
    ax.set_xticks([])
    ax.set_yticks([])


def plot_images(images, titles=None, ncols=None, cmap="gray", title=None):
    """Show images side by side (or in rows of ``ncols``), each with its title."""
    images = list(images)
    fig, axes = _grid(len(images), ncols or len(images), cell=2.2, title=title)
    for i, (ax, image) in enumerate(zip(axes, images, strict=True)):
        _show(ax, image, cmap=cmap)
        if titles is not None:
            ax.set_title(titles[i], fontsize=9)
    fig.tight_layout()
    return fig


def plot_digits(images, labels, predictions=None, ncols=10, title=None):
    """A grid of digits titled with their labels.

    With ``predictions`` each title reads "label→prediction" and wrong
    predictions are shown in bold, in :data:`WRONG_COLOUR`.
    """
    images = np.asarray(images)
    fig, axes = _grid(len(images), ncols, title=title or "MNIST digits")
    for i, ax in enumerate(axes):
        _show(ax, images[i])
        if predictions is None:
            ax.set_title(str(labels[i]), fontsize=9)
        else:
            wrong = int(predictions[i]) != int(labels[i])
            ax.set_title(f"{labels[i]}→{predictions[i]}", fontsize=9,
                         color=WRONG_COLOUR if wrong else "black",
                         fontweight="bold" if wrong else "normal")
    fig.tight_layout()
    return fig


def plot_dense_weights(kernel, title=None):
    """The 10 weight images of a dense 784→10 layer (Keras kernel of shape (784, 10))."""
    kernel = np.asarray(kernel)
    if kernel.shape != (784, 10):
        raise ValueError(f"expected a (784, 10) kernel, got {kernel.shape}")
    limit = np.abs(kernel).max()
    fig, axes = _grid(10, 5, cell=1.8, title=title or "Weights of each output unit")
    for digit, ax in enumerate(axes):
        _show(ax, kernel[:, digit].reshape(28, 28), cmap=SIGNED_CMAP, vmin=-limit, vmax=limit)
        ax.set_title(f"digit {digit}", fontsize=9)
    fig.tight_layout()
    return fig


def _history_dict(history):
    return history.history if hasattr(history, "history") else dict(history)


def _draw_curves(fig, history, metrics):
    fig.clear()
    for i, metric in enumerate(metrics):
        ax = fig.add_subplot(1, len(metrics), i + 1)
        train = history.get(metric, [])
        epochs = np.arange(1, len(train) + 1)
        ax.plot(epochs, train, "o-", label="train")
        if f"val_{metric}" in history:
            ax.plot(epochs[: len(history[f"val_{metric}"])], history[f"val_{metric}"], "s-",
                    label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.set_title(metric)
        ax.legend()
    fig.tight_layout()


def plot_history(history, metrics=("loss", "accuracy"), title=None):
    """Loss and accuracy per epoch, train vs validation, from a Keras ``History`` or a dict.

    The ``val_`` entries (from ``fit``'s ``validation_data``) are labelled "validation".
    """
    history = _history_dict(history)
    metrics = [m for m in metrics if m in history]
    fig = plt.figure(figsize=(5 * len(metrics), 3.6))
    _draw_curves(fig, history, metrics)
    fig.suptitle(title or "Training curves")
    fig.tight_layout()
    return fig


def _has_display():
    import matplotlib

    if "inline" not in matplotlib.get_backend().lower():
        return False
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:
        return False
    return shell is not None and getattr(shell, "kernel", None) is not None


def LiveCurves(metrics=("loss", "accuracy"), title="Training curves"):  # noqa: N802
    """A Keras callback that redraws the training curves after every epoch.

    In JupyterLab the figure updates in place; without a display (scripts,
    headless tests) it records the history and draws nothing.
    """
    import keras

    class _LiveCurves(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.history = {}
            self.figure = None
            self._handle = None

        def on_epoch_end(self, epoch, logs=None):
            for key, value in (logs or {}).items():
                self.history.setdefault(key, []).append(float(value))
            if not _has_display():
                return
            from IPython.display import display

            shown = [m for m in metrics if m in self.history]
            if self.figure is None:
                self.figure = plt.figure(figsize=(5 * len(shown), 3.6))
            _draw_curves(self.figure, self.history, shown)
            self.figure.suptitle(f"{title} (epoch {epoch + 1})")
            self.figure.tight_layout()  # again, now that the title takes room
            if self._handle is None:
                self._handle = display(self.figure, display_id=True)
            else:
                self._handle.update(self.figure)

        def on_train_end(self, logs=None):
            if self.figure is not None:
                plt.close(self.figure)

    return _LiveCurves()


def plot_confusion_matrix(y_true, y_pred, num_classes=10, title=None):
    """Counts of (true, predicted) label pairs, with the count in each cell.

    The counting is TensorFlow's ``tf.math.confusion_matrix`` (rows: true labels).
    """
    from dlcourse.utils import quiet_tensorflow

    tf = quiet_tensorflow()
    matrix = tf.math.confusion_matrix(np.asarray(y_true), np.asarray(y_pred),
                                      num_classes=num_classes).numpy()
    fig, ax = plt.subplots(figsize=(6.4, 5.6))
    im = ax.imshow(matrix, cmap=COUNT_CMAP)
    fig.colorbar(im, ax=ax)
    for (i, j), count in np.ndenumerate(matrix):
        ax.text(j, i, str(count), ha="center", va="center", fontsize=7,
                color="white" if count > matrix.max() / 2 else "black")
    ax.set_xticks(range(num_classes))
    ax.set_yticks(range(num_classes))
    ax.set_xlabel("predicted label")
    ax.set_ylabel("true label")
    ax.set_title(title or "Confusion matrix")
    fig.tight_layout()
    return fig


def plot_filters(kernel, title=None, ncols=8):
    """One image per output channel of a conv kernel (KH, KW, C_in, C_out).

    With several input channels the filter is averaged over them.
    """
    kernel = np.asarray(kernel)
    if kernel.ndim != 4:
        raise ValueError(f"expected a (KH, KW, C_in, C_out) kernel, got {kernel.shape}")
    filters = kernel.mean(axis=2)
    n = filters.shape[-1]
    fig, axes = _grid(n, ncols, cell=1.3, title=title or f"{n} learned filters")
    for i, ax in enumerate(axes):
        _show(ax, filters[..., i], cmap="gray")
        ax.set_title(f"filter {i}", fontsize=8)
    fig.tight_layout()
    return fig


def plot_feature_maps(model, image, max_maps=8, title=None):
    """Feature maps of one image at every conv and pooling layer of a Keras model.

    One row per layer (its name and output shape on the left), at most
    ``max_maps`` channels per row. ``image`` is one input without the batch axis.
    """
    import keras

    layers = [layer for layer in model.layers
              if isinstance(layer, (keras.layers.Conv2D, keras.layers.MaxPooling2D,
                                    keras.layers.AveragePooling2D))]
    if not layers:
        raise ValueError("the model has no Conv2D or pooling layer")
    x = np.asarray(image, dtype="float32")[None]
    if isinstance(model, keras.Sequential):  # works even when built without keras.Input
        outputs = []
        for layer in model.layers:
            x = layer(x, training=False)
            if layer in layers:
                outputs.append(x)
    else:
        probe = keras.Model(model.inputs, [layer.output for layer in layers])
        outputs = probe(x, training=False)
        outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    ncols = max(min(max_maps, out.shape[-1]) for out in outputs)
    fig, axes = plt.subplots(len(layers), ncols, figsize=(1.3 * ncols, 1.5 * len(layers)),
                             squeeze=False)
    for row, (layer, out) in enumerate(zip(layers, outputs, strict=True)):
        maps = np.asarray(out)[0]
        for col in range(ncols):
            ax = axes[row, col]
            if col < maps.shape[-1] and col < max_maps:
                _show(ax, maps[..., col], cmap=IMAGE_CMAP)
            else:
                ax.axis("off")
        axes[row, 0].set_ylabel(f"{layer.name}\n{tuple(maps.shape)}", fontsize=8)
        axes[row, 0].axis("on")
        axes[row, 0].set_xticks([])
        axes[row, 0].set_yticks([])
    fig.suptitle(title or "Feature maps, layer by layer")
    fig.tight_layout()
    return fig


def plot_lines(x, series, xlabel, ylabel, title=None):
    """Several named y-series over one x axis (e.g. accuracy against seconds)."""
    fig, ax = plt.subplots(figsize=(6, 3.8))
    for name, y in series.items():
        ax.plot(x[: len(y)], y, "o-", label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title or f"{ylabel} against {xlabel}")
    ax.legend()
    fig.tight_layout()
    return fig


def _shape_text(shape):
    """(28, 28, 6) -> "28×28×6"; (400,) -> "400"."""
    return "×".join(str(d) for d in shape)


def _describe(layer):
    """What a Keras layer does, in a few words taken from its own settings."""
    kind = type(layer).__name__
    activation = getattr(getattr(layer, "activation", None), "__name__", "linear")
    act = "" if activation == "linear" else f", {activation}"
    if hasattr(layer, "filters"):
        kh, kw = layer.kernel_size
        return f"{kind}: {layer.filters} filters {kh}×{kw}, {layer.padding.upper()}{act}"
    if hasattr(layer, "pool_size"):
        ph, pw = layer.pool_size
        return f"{kind}: {ph}×{pw}, stride {layer.strides[0]}"
    if hasattr(layer, "units"):
        return f"{kind}: {layer.units} units{act or ', no activation'}"
    if hasattr(layer, "rate"):
        return f"{kind}: rate {layer.rate:g}"
    return kind


def architecture_rows(model):
    """One (name, description, output shape, parameters) row per layer of a built model,
    after a first row for the input. Shapes leave out the batch axis."""
    try:
        rows = [("input", "Input", tuple(model.input_shape[1:]), 0)]
        rows += [(layer.name, _describe(layer), tuple(layer.output.shape[1:]),
                  layer.count_params()) for layer in model.layers]
    except (AttributeError, ValueError) as exc:
        raise ValueError("the model must be built (start it with keras.Input)") from exc
    return rows


def plot_architecture(model, title=None):
    """A network drawn from the model itself: one box per layer, top to bottom.

    Each box gives the layer's name and settings, its output shape and its
    parameter count (Keras' ``output.shape`` and ``count_params()``); the first
    box is the input. A box's width grows with the number of values the layer
    outputs (log scale), so the funnel of a convolutional network shows.
    Each label is a Text artist whose ``gid`` is ``"layer:<name>"``.
    """
    rows = architecture_rows(model)
    sizes = [math.prod(shape) for _, _, shape, _ in rows]
    biggest = math.log(max(max(sizes), 2))
    kinds = list(dict.fromkeys(description.split(":")[0] for _, description, _, _ in rows))
    colours = dict(zip(kinds, palette()[4:] + palette(), strict=False))
    fig, ax = plt.subplots(figsize=(8, 0.62 * len(rows) + 0.8))
    for i, ((name, description, shape, params), size) in enumerate(zip(rows, sizes,
                                                                        strict=True)):
        width = 0.45 + 0.55 * math.log(max(size, 2)) / biggest
        ax.add_patch(plt.Rectangle((-width / 2, -i - 0.38), width, 0.76, lw=1, ec="black",
                                   fc=colours[description.split(":")[0]], alpha=0.35))
        ax.text(0, -i, f"{name} · {description}\noutput {_shape_text(shape)} · "
                f"{params:,} parameters", ha="center", va="center", fontsize=8.5,
                gid=f"layer:{name}")
        if i:
            ax.annotate("", xy=(0, -i + 0.38), xytext=(0, -i + 0.62),
                        arrowprops={"arrowstyle": "-|>", "color": "black"})
    ax.set_xlim(-0.55, 0.55)
    ax.set_ylim(-len(rows) + 0.5, 0.5)
    ax.axis("off")
    ax.set_title(title or f"{model.name}: {model.count_params():,} parameters")
    fig.tight_layout()
    return fig
