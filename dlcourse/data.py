"""MNIST for the course: one loader, a few shared preprocessing steps.

``load_mnist()`` looks for ``mnist.npz`` (the Keras layout) in this order:

1. the ``path`` argument (a file, or a folder holding ``mnist.npz``);
2. the environment variable ``DLCOURSE_DATA`` (same two forms);
3. the Keras cache, ``~/.keras/datasets/mnist.npz``;
4. the Keras download (needs the internet).

Every file is checked (keys, shapes, dtypes, label range) before use, and a
bad one raises :class:`MnistDataError` naming the file and the fix.

For an offline workshop, stage the file beforehand::

    python -m dlcourse.data fetch --dest ~/course-data            # download
    python -m dlcourse.data fetch --dest ~/course-data --source /media/usb/mnist.npz
    export DLCOURSE_DATA=~/course-data
"""

import argparse
import os
import shutil
import sys
import zipfile
from pathlib import Path

import numpy as np

ENV_VAR = "DLCOURSE_DATA"
FILENAME = "mnist.npz"
EXPECTED = {
    "x_train": ((60000, 28, 28), np.uint8),
    "y_train": ((60000,), np.uint8),
    "x_test": ((10000, 28, 28), np.uint8),
    "y_test": ((10000,), np.uint8),
}
FIX = (
    f"Fix: set {ENV_VAR} to a complete copy of mnist.npz (or its folder), or stage one with "
    f"`python -m dlcourse.data fetch --dest DIR` and point {ENV_VAR} at DIR."
)

_cache = {}


class MnistDataError(RuntimeError):
    """The MNIST file is missing, incomplete or not MNIST."""


def keras_cache():
    """Where Keras keeps its downloaded copy: ``~/.keras/datasets/mnist.npz``."""
    return Path("~/.keras/datasets").expanduser() / FILENAME


def _as_file(path):
    path = Path(path).expanduser()
    return path / FILENAME if path.is_dir() else path


def find_mnist(path=None):
    """Return the path of the ``mnist.npz`` to use, or None to download it.

    An explicit ``path`` or ``$DLCOURSE_DATA`` that does not exist is an error
    (a typo must not silently trigger a download).
    """
    for given, origin in ((path, "the path argument"), (os.environ.get(ENV_VAR), ENV_VAR)):
        if given:
            candidate = _as_file(given)
            if not candidate.is_file():
                raise MnistDataError(f"No MNIST file at {candidate} (from {origin}). {FIX}")
            return candidate
    if keras_cache().is_file():
        return keras_cache()
    return None


def read_mnist(path):
    """Read and validate one ``mnist.npz``; return the four arrays as a dict."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in EXPECTED if key in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise MnistDataError(
            f"Cannot read {path} as mnist.npz ({type(exc).__name__}: {exc}); "
            f"the file is truncated or corrupt. {FIX}"
        ) from exc
    missing = sorted(set(EXPECTED) - set(arrays))
    if missing:
        raise MnistDataError(f"{path} is not mnist.npz: arrays {missing} are missing. {FIX}")
    for key, (shape, dtype) in EXPECTED.items():
        a = arrays[key]
        if a.shape != shape or a.dtype != dtype:
            raise MnistDataError(
                f"{path}: {key} has shape {a.shape} and dtype {a.dtype}, expected {shape} "
                f"{np.dtype(dtype)}; the file is incomplete or not MNIST. {FIX}"
            )
    for key in ("y_train", "y_test"):
        if arrays[key].max() > 9:
            raise MnistDataError(f"{path}: {key} has labels outside 0..9. {FIX}")
    return arrays


def _download():
    import keras

    try:
        keras.datasets.mnist.load_data()
    except Exception as exc:  # no network, proxy, disk full ...
        raise MnistDataError(
            f"MNIST is not on this machine and the download failed ({exc}). {FIX}"
        ) from exc
    return keras_cache()


def load_mnist(path=None):
    """Load MNIST as ``(x_train, y_train), (x_test, y_test)``, like Keras.

    ``x_*`` are uint8 arrays of shape (N, 28, 28) with grey levels 0..255,
    ``y_*`` uint8 labels 0..9; N is 60000 for training and 10000 for test.
    The file is read once per process; later calls return the same arrays
    (treat them as read-only).
    """
    file = find_mnist(path) or _download()
    key = str(Path(file).resolve())
    if key not in _cache:
        arrays = read_mnist(file)
        for a in arrays.values():
            a.setflags(write=False)
        _cache[key] = arrays
    a = _cache[key]
    return (a["x_train"], a["y_train"]), (a["x_test"], a["y_test"])


def fetch(dest, source=None):
    """Stage a verified ``mnist.npz`` in the folder ``dest`` and return its path.

    With ``source`` the file is copied from there, otherwise it is downloaded
    through Keras. The copy is verified before it is kept.
    """
    dest = Path(dest).expanduser()
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / FILENAME
    origin = _as_file(source) if source else _download()
    if not origin.is_file():
        raise MnistDataError(f"No MNIST file at {origin} to copy. {FIX}")
    read_mnist(origin)
    partial = target.with_suffix(".part")
    shutil.copyfile(origin, partial)
    read_mnist(partial)
    partial.replace(target)
    return target


# --- preprocessing shared by the notebooks -------------------------------------


def scale(x):
    """Grey levels 0..255 -> float32 in [0, 1]."""
    return np.asarray(x, dtype=np.float32) / 255.0


def pad_to_32(x):
    """Zero-pad (N, 28, 28[, C]) images by 2 pixels on each side -> (N, 32, 32[, C])."""
    x = np.asarray(x)
    pad = [(0, 0), (2, 2), (2, 2)] + [(0, 0)] * (x.ndim - 3)
    return np.pad(x, pad)


def standardize(x_train, *others, eps=1e-7):
    """Standardise every pixel with the mean and std of the *training* set.

    Returns ``(x_train_std, *others_std, (mean, std))``: the test set is
    transformed with the training statistics, never its own. A pixel whose
    training std is below ``eps`` (MNIST has 67 that are always 0 in training)
    gets std 1: it is only centred, so a test image that lights it up does not
    explode to ~1e6.
    """
    x_train = np.asarray(x_train, dtype=np.float32)
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0)
    std = np.where(std < eps, np.float32(1), std)
    out = [(np.asarray(x, dtype=np.float32) - mean) / std for x in (x_train, *others)]
    return (*out, (mean, std))


VALIDATION_SIZE = 5000


def validation_split(x, y, n_validation=VALIDATION_SIZE, seed=0):
    """Hold out ``n_validation`` training examples for validation (the course's rule).

    Returns ``(x_train, y_train), (x_val, y_val)``: a fixed random permutation of
    the training set (the same for the same ``seed``) split into 55,000 / 5,000
    for MNIST. Models are chosen on the validation part; the test set is touched
    once, at the end.
    """
    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} examples but y has {len(y)}: pass matching arrays")
    if not 0 < n_validation < len(x):
        raise ValueError(
            f"n_validation={n_validation} must be between 1 and {len(x) - 1} "
            f"(the training set has {len(x)} examples)"
        )
    order = np.random.default_rng(seed).permutation(len(x))
    val, train = order[:n_validation], order[n_validation:]
    return (x[train], y[train]), (x[val], y[val])


def one_hot(y, num_classes=10):
    """Labels (N,) -> float32 one-hot rows (N, num_classes)."""
    return np.eye(num_classes, dtype=np.float32)[np.asarray(y)]


def main(argv=None):
    """Command line: ``python -m dlcourse.data fetch --dest DIR [--source FILE]``."""
    parser = argparse.ArgumentParser(prog="python -m dlcourse.data", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    f = sub.add_parser("fetch", help="stage a verified mnist.npz for offline use")
    f.add_argument("--dest", required=True, help="folder to put mnist.npz in")
    f.add_argument("--source", help="copy this mnist.npz (or its folder) instead of downloading")
    sub.add_parser("check", help="find and verify the mnist.npz the course would use")
    args = parser.parse_args(argv)
    try:
        if args.command == "fetch":
            target = fetch(args.dest, args.source)
            print(f"MNIST verified and staged at {target}")
            print(f"Now: export {ENV_VAR}={target.parent}")
        else:
            (x_train, _), (x_test, _) = load_mnist()
            print(f"OK: {find_mnist() or keras_cache()} ({len(x_train)} train, {len(x_test)} test)")
    except MnistDataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
