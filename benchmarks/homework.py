"""The source's homework (SYLLABUS unit 8), reproduced in full.

A dense 784→500→50→10 network trained on only 4,000 MNIST training images for
100 epochs (Adam, batch 128, seed 0), once per variant: sigmoid against ReLU,
dropout on or off, batch normalisation on or off, weight decay. The 4,000
images are the first of the course's 55,000 training part
(``dlcourse.data.validation_split``); the 5,000 validation images are measured
after every epoch; the full test set once per variant, after the last epoch
and with the weights of the epoch of lowest validation loss (early stopping).
Lesson 8 runs the same table with fewer epochs.
"""

import time

import numpy as np

from benchmarks.machine import table
from dlcourse import quiet_tensorflow, set_seed
from dlcourse.data import load_mnist, scale, validation_split

tf = quiet_tensorflow()
keras = tf.keras

SUBSET, EPOCHS, BATCH = 4000, 100, 128
SOURCE_BEST = 0.92  # the source's best test accuracy ("about 92%")

# name, activation, dropout rate, batch normalisation, L2 weight decay on the kernels
VARIANTS = [
    ("sigmoid", "sigmoid", 0.0, False, 0.0),
    ("ReLU", "relu", 0.0, False, 0.0),
    ("ReLU + dropout 0.3", "relu", 0.3, False, 0.0),
    ("ReLU + batch norm", "relu", 0.0, True, 0.0),
    ("ReLU + batch norm + dropout 0.3", "relu", 0.3, True, 0.0),
    ("ReLU + weight decay 1e-4", "relu", 0.0, False, 1e-4),
]


def build(activation, dropout, batchnorm, l2):
    """784→500→50→10 logits; per hidden layer Dense, [BatchNorm], activation, [Dropout]."""
    reg = keras.regularizers.L2(l2) if l2 else None
    layers = [keras.Input((784,))]
    for units in (500, 50):
        layers.append(keras.layers.Dense(units, kernel_regularizer=reg))
        if batchnorm:
            layers.append(keras.layers.BatchNormalization())
        layers.append(keras.layers.Activation(activation))
        if dropout:
            layers.append(keras.layers.Dropout(dropout))
    layers.append(keras.layers.Dense(10, kernel_regularizer=reg))
    return keras.Sequential(layers)


class KeepBest(keras.callbacks.Callback):
    """Remember the weights of the epoch with the lowest validation loss."""

    def on_train_begin(self, logs=None):
        self.best, self.epoch, self.weights = np.inf, 0, None

    def on_epoch_end(self, epoch, logs=None):
        if logs["val_loss"] < self.best:
            self.best, self.epoch = logs["val_loss"], epoch + 1
            self.weights = self.model.get_weights()


def data():
    (x, y), (xt, yt) = load_mnist()
    (x_fit, y_fit), (x_val, y_val) = validation_split(x, y)
    flat = lambda a: scale(a).reshape(len(a), -1)  # noqa: E731
    return flat(x_fit[:SUBSET]), y_fit[:SUBSET], flat(x_val), y_val, flat(xt), yt


def accuracy(model, x, y):
    return float(np.mean(np.argmax(model.predict(x, batch_size=1000, verbose=0), axis=1) == y))


def curves_chart(histories, epochs):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    x = np.arange(1, epochs + 1)
    for name, h in histories.items():
        line, = axes[0].plot(x, h["loss"], "--", lw=1)
        axes[0].plot(x, h["val_loss"], "-", color=line.get_color(), label=name)
        axes[1].plot(x, h["val_accuracy"], "-", label=name)
        axes[2].plot(x, h["accuracy"], "-", label=name)
    axes[0].set_yscale("log")
    for ax, title, ylabel in zip(axes, ("loss (dashed: training, solid: validation)",
                                        "validation accuracy", "training accuracy"),
                                 ("cross-entropy", "accuracy", "accuracy"), strict=True):
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
    axes[1].set_ylim(0.88, 0.97)
    axes[1].legend(fontsize=8)
    fig.suptitle(f"The homework: 784→500→50→10 on {SUBSET:,} images, Adam, batch {BATCH}")
    fig.tight_layout()
    return fig


def run(quick, out, root=None):
    epochs = 1 if quick else EPOCHS
    x, y, x_val, y_val, x_test, y_test = data()
    if quick:
        x_test, y_test = x_test[:2000], y_test[:2000]
    rows, histories, best_final = [], {}, 0.0
    for name, activation, dropout, batchnorm, l2 in VARIANTS:
        set_seed(0)
        model = build(activation, dropout, batchnorm, l2)
        model.compile(keras.optimizers.Adam(1e-3),
                      keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])
        keep = KeepBest()
        start = time.perf_counter()
        h = model.fit(x, y, epochs=epochs, batch_size=BATCH, validation_data=(x_val, y_val),
                      verbose=0, callbacks=[keep]).history
        seconds = time.perf_counter() - start
        final = accuracy(model, x_test, y_test)
        model.set_weights(keep.weights)
        early = accuracy(model, x_test, y_test)
        best_final = max(best_final, final)
        histories[name] = h
        rows.append([name, f"{model.count_params():,}", f"{h['accuracy'][-1]:.2%}",
                     f"{max(h['val_accuracy']):.2%} (ep {int(np.argmax(h['val_accuracy'])) + 1})",
                     f"{keep.epoch}", f"{h['val_loss'][-1] / keep.best:.1f}×",
                     f"**{final:.2%}**", f"{early:.2%}", f"{seconds:.0f}"])
    curves_chart(histories, epochs).savefig(out / "homework_curves.png", dpi=100)
    header = ["variant", "parameters", "training accuracy, last epoch",
              "best validation accuracy", "epoch of lowest validation loss",
              "last / lowest validation loss", "test accuracy, last epoch",
              "test accuracy, early-stopped weights", "seconds"]
    return "\n\n".join([
        "## 6. The homework: 4,000 images, 100 epochs" + (" (quick: 1 epoch)" if quick else ""),
        f"Unit 8's homework from the source: a dense 784→500→50→10 network trained on only "
        f"{SUBSET:,} MNIST training images (the first of the course's 55,000 training part) for "
        f"{epochs} epochs with Adam (learning rate 1e-3), batch {BATCH}, seed 0, grey levels "
        "scaled to [0, 1]. Per hidden layer: Dense, [batch normalisation], activation, "
        "[dropout]; weight decay is an L2 penalty on every kernel. The 5,000 validation images "
        "are measured after every epoch; the 10,000 test images once after the last epoch, and "
        "once with the weights of the epoch of lowest validation loss (early stopping). "
        f"The source reported a best test accuracy of about {SOURCE_BEST:.0%}.",
        table(header, rows),
        f"Best test accuracy after the last epoch: **{best_final:.2%}** (source: about "
        f"{SOURCE_BEST:.0%}).",
        "![The homework's curves](charts/homework_curves.png)",
    ])
