"""Figures the notebooks share. Every function returns its matplotlib Figure.

Images are drawn in grey with the axes' ticks hidden; every figure carries a
title, and charts carry labelled axes.
"""

import math

import matplotlib.pyplot as plt
import numpy as np


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
    predictions are shown in red.
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
                         color="red" if wrong else "black")
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
        _show(ax, kernel[:, digit].reshape(28, 28), cmap="seismic", vmin=-limit, vmax=limit)
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
                    label="test")
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.set_title(metric)
        ax.legend()
    fig.tight_layout()


def plot_history(history, metrics=("loss", "accuracy"), title=None):
    """Loss and accuracy per epoch, train vs test, from a Keras ``History`` or a dict."""
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
    """Counts of (true, predicted) label pairs, with the count in each cell."""
    matrix = np.zeros((num_classes, num_classes), dtype=int)
    np.add.at(matrix, (np.asarray(y_true), np.asarray(y_pred)), 1)
    fig, ax = plt.subplots(figsize=(6.4, 5.6))
    im = ax.imshow(matrix, cmap="Blues")
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
                _show(ax, maps[..., col], cmap="viridis")
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
