"""The MNIST loader on the real file, and its errors on broken ones."""

import hashlib
import os
import subprocess
import sys

import numpy as np
import pytest

from dlcourse import data
from dlcourse.data import MnistDataError, load_mnist

# Class counts and array digests from ../shared/data/README.md and the SYLLABUS.
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
SHA256_Y_TEST = "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5"
REAL = os.environ.get("DLCOURSE_DATA")


@pytest.fixture
def env(monkeypatch):
    """Clear the loader's per-process cache and let a test set DLCOURSE_DATA."""
    monkeypatch.setattr(data, "_cache", {})
    return monkeypatch


def check_real(arrays):
    (x_train, y_train), (x_test, y_test) = arrays
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert {a.dtype for a in (x_train, y_train, x_test, y_test)} == {np.dtype(np.uint8)}
    assert x_train.min() == 0 and x_train.max() == 255
    assert np.bincount(y_train).tolist() == TRAIN_COUNTS
    assert np.bincount(y_test).tolist() == TEST_COUNTS
    assert hashlib.sha256(y_test.tobytes()).hexdigest() == SHA256_Y_TEST


@pytest.mark.parametrize("form", ["file", "folder"])
def test_loads_real_mnist_through_the_environment_variable(env, form):
    real = data._as_file(REAL)
    env.setenv(data.ENV_VAR, str(real if form == "file" else real.parent))
    check_real(load_mnist())


def test_explicit_path_wins_and_the_file_is_read_once(env, tmp_path):
    env.setenv(data.ENV_VAR, str(tmp_path / "nowhere"))
    first = load_mnist(REAL)
    assert load_mnist(REAL)[0][0] is first[0][0]
    assert not first[0][0].flags.writeable


def test_falls_back_to_the_keras_cache(env, tmp_path):
    cache = tmp_path / ".keras" / "datasets"
    cache.mkdir(parents=True)
    (cache / "mnist.npz").symlink_to(data._as_file(REAL))
    env.setenv("HOME", str(tmp_path))
    env.delenv(data.ENV_VAR)
    assert data.find_mnist() == cache / "mnist.npz"
    check_real(load_mnist())


def bad_file(tmp_path, kind):
    real = data._as_file(REAL)
    path = tmp_path / "mnist.npz"
    if kind == "truncated":
        path.write_bytes(real.read_bytes()[: real.stat().st_size // 2])
    elif kind == "not-npz":
        path.write_text("<html>404 Not Found</html>")
    elif kind == "wrong-content":  # a valid npz, but a 1000-image subset
        (x, y), (xt, yt) = data.load_mnist(real)
        np.savez(path, x_train=x[:1000], y_train=y[:1000], x_test=xt, y_test=yt)
    elif kind == "missing-array":
        np.savez(path, x_train=np.zeros((60000, 28, 28), np.uint8))
    elif kind == "bad-labels":
        (x, y), (xt, yt) = data.load_mnist(real)
        np.savez(path, x_train=x, y_train=y + 1, x_test=xt, y_test=yt)
    return path


@pytest.mark.parametrize(
    "kind", ["missing", "truncated", "not-npz", "wrong-content", "missing-array", "bad-labels"]
)
def test_a_broken_file_gives_one_clear_error(env, tmp_path, kind):
    path = tmp_path / "mnist.npz" if kind == "missing" else bad_file(tmp_path, kind)
    env.setenv(data.ENV_VAR, str(path))
    with pytest.raises(MnistDataError) as err:
        load_mnist()
    message = str(err.value)
    assert str(path) in message, "the error names the file"
    assert "DLCOURSE_DATA" in message and "python -m dlcourse.data fetch" in message


def test_fetch_copies_and_verifies(tmp_path):
    dest = tmp_path / "staged"
    run = subprocess.run(
        [sys.executable, "-m", "dlcourse.data", "fetch", "--dest", str(dest), "--source", REAL],
        capture_output=True, text=True,
    )
    assert run.returncode == 0, run.stderr
    assert (dest / "mnist.npz").read_bytes() == data._as_file(REAL).read_bytes()
    assert f"DLCOURSE_DATA={dest}" in run.stdout


def test_fetch_refuses_a_broken_source(tmp_path):
    source = bad_file(tmp_path, "truncated")
    run = subprocess.run(
        [sys.executable, "-m", "dlcourse.data", "fetch", "--dest", str(tmp_path / "out"),
         "--source", str(source)],
        capture_output=True, text=True,
    )
    assert run.returncode == 1
    assert "truncated or corrupt" in run.stderr and not (tmp_path / "out" / "mnist.npz").exists()


def test_preprocessing_helpers():
    (x, _), (xt, _) = load_mnist(REAL)
    scaled = data.scale(x[:5])
    assert scaled.dtype == np.float32 and scaled.max() == 1.0 and scaled.min() == 0.0
    padded = data.pad_to_32(x[:5])
    assert padded.shape == (5, 32, 32) and padded[:, 2:30, 2:30].tolist() == x[:5].tolist()
    assert data.pad_to_32(x[:2, :, :, None]).shape == (2, 32, 32, 1)
    train, test, (mean, std) = data.standardize(x[:1000], xt[:100])
    assert np.allclose(train.mean(axis=0), 0, atol=1e-4)
    assert np.allclose(test, (xt[:100] - mean) / std)
    assert data.one_hot([6])[0].tolist() == [0, 0, 0, 0, 0, 0, 1, 0, 0, 0]


def test_validation_split_is_deterministic_disjoint_and_complete(env):
    (x, y), _ = load_mnist()
    (x_tr, y_tr), (x_val, y_val) = data.validation_split(x, y)
    assert (len(x_tr), len(x_val)) == (55000, 5000)
    # Split the indices the same way: the two parts never share an example.
    ids = np.arange(len(x))
    (i_tr, _), (i_val, _) = data.validation_split(ids, y)
    assert np.intersect1d(i_tr, i_val).size == 0
    assert np.union1d(i_tr, i_val).size == len(x)
    assert np.array_equal(x_tr, x[i_tr]) and np.array_equal(y_val, y[i_val])
    (_, _), (again, _) = data.validation_split(ids, y)
    (_, _), (other, _) = data.validation_split(ids, y, seed=1)
    assert np.array_equal(again, i_val) and not np.array_equal(other, i_val)
    # Every class is represented in the validation part (a random 5,000 of 60,000).
    assert set(np.unique(y_val)) == set(range(10))


def test_validation_split_refuses_bad_sizes():
    with pytest.raises(ValueError, match="matching arrays"):
        data.validation_split(np.zeros(5), np.zeros(4))
    with pytest.raises(ValueError, match="between 1 and 4"):
        data.validation_split(np.zeros(5), np.zeros(5), n_validation=5)
