"""The sequence families (lstm, cnn1d, transformer): input, imputation, split, learning."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

import skfam
from skfam import make_sequences
from skfam._impute_seq import SequenceImputer, forward_fill
from skfam._split import validation_split

# Most tests here train a few epochs to check input handling, files and threads, not
# learning; a model that learned nothing then warns (DegenerateModelWarning, tested in
# tests/test_training_defaults.py), which is beside the point of these tests.
pytestmark = pytest.mark.filterwarnings("ignore::skfam.DegenerateModelWarning")

REGRESSORS = [skfam.LSTMRegressor, skfam.CNN1DRegressor, skfam.TransformerRegressor]
CLASSIFIERS = [skfam.LSTMClassifier, skfam.CNN1DClassifier, skfam.TransformerClassifier]
ALL = REGRESSORS + CLASSIFIERS
FAST = {"variant": "fast", "device": "cpu", "max_epochs": 5}


def _windows(n: int = 60, length: int = 6, channels: int = 2, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, length, channels))
    return X, X[:, -1, 0] + rng.normal(scale=0.1, size=n)


def _target(cls, y):
    return y if "Regressor" in cls.__name__ else np.where(y > 0, "up", "down")


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_fitted_shapes_and_attributes(cls):
    X, y = _windows()
    est = cls(**FAST).fit(X, _target(cls, y))
    assert (est.n_timesteps_in_, est.n_channels_in_, est.n_features_in_) == (6, 2, 12)
    out = est.predict(X[:7])
    assert out.shape == (7,)
    assert est.params_["impute_forward_fill"] is True
    tags = est.__sklearn_tags__()
    assert tags.input_tags.three_d_array and tags.input_tags.two_d_array
    assert tags.input_tags.allow_nan


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_2d_input_is_a_univariate_sequence(cls):
    X, y = _windows(channels=1)
    y = _target(cls, y)
    flat = cls(**FAST, random_state=3).fit(X[:, :, 0], y)
    cube = cls(**FAST, random_state=3).fit(X, y)
    assert flat.n_channels_in_ == 1 and flat.n_timesteps_in_ == 6
    np.testing.assert_array_equal(flat.predict(X[:, :, 0]), cube.predict(X))
    np.testing.assert_array_equal(flat.predict(X), cube.predict(X[:, :, 0]))


@pytest.mark.parametrize("cls", [skfam.LSTMRegressor, skfam.TransformerClassifier])
def test_other_length_or_channels_at_predict_raise(cls):
    X, y = _windows()
    est = cls(**FAST).fit(X, _target(cls, y))
    with pytest.raises(ValueError, match="length 5 with 2 channel"):
        est.predict(X[:, :5])
    with pytest.raises(ValueError, match="length 6 with 1 channel"):
        est.predict(X[:, :, :1])
    with pytest.raises(ValueError, match="fitted on 2 channels; 2-D input"):
        est.predict(X[:, :, 0])


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_all_nan_channel_trains_and_predicts(cls):
    X, y = _windows()
    X[:, :, 1] = np.nan
    X[::7, 2, 0] = np.nan
    est = cls(**FAST).fit(X, _target(cls, y))
    assert est.imputer_.empty_features_.tolist() == [False, True]
    assert est.imputer_.statistics_[1] == 0.0
    X_new = X.copy()
    X_new[:, :, 1] = 5.0  # whatever arrives in an empty training channel is ignored
    np.testing.assert_array_equal(est.predict(X_new), est.predict(X))
    if "Regressor" in cls.__name__:
        assert np.isfinite(est.predict(X)).all()
    else:
        proba = est.predict_proba(X)
        assert proba.shape == (len(X), 2) and np.isfinite(proba).all()
        assert ((proba >= 0) & (proba <= 1)).all()
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)
        np.testing.assert_array_equal(est.predict(X), est.classes_[proba.argmax(axis=1)])


def test_sequence_imputer_forward_fill_and_statistics():
    X = np.array(
        [
            [[np.nan, 1.0], [2.0, np.nan], [np.nan, np.nan]],
            [[4.0, np.nan], [np.nan, 3.0], [8.0, np.nan]],
        ]
    )
    plain = SequenceImputer(strategy="mean").fit(X)
    np.testing.assert_allclose(plain.statistics_, [14 / 3, 2.0])
    filled = SequenceImputer(strategy="mean", forward_fill=True).fit_transform(X)
    np.testing.assert_allclose(
        filled,
        [
            [[14 / 3, 1.0], [2.0, 1.0], [2.0, 1.0]],  # leading NaN: the statistic
            [[4.0, 2.0], [4.0, 3.0], [8.0, 3.0]],
        ],
    )
    # Forward fill never uses a later step or another window.
    assert np.isnan(forward_fill(X)[0, 0, 0]) and np.isnan(forward_fill(X)[1, 0, 1])


def test_forward_fill_option_changes_the_imputation():
    X, y = _windows()
    X[5:, 3, 0] = np.nan
    ff = skfam.LSTMRegressor(**FAST, impute_forward_fill=True).fit(X, y)
    stat = skfam.LSTMRegressor(**FAST, impute_forward_fill=False).fit(X, y)
    assert ff.imputer_.forward_fill and not stat.imputer_.forward_fill
    np.testing.assert_array_equal(ff.imputer_.transform(X)[5:, 3, 0], X[5:, 2, 0])
    np.testing.assert_array_equal(
        stat.imputer_.transform(X)[5:, 3, 0], stat.imputer_.statistics_[0]
    )


def test_internal_validation_split_is_time_ordered_with_a_purge_gap(monkeypatch):
    calls = []

    def spy(*args, **kwargs):
        calls.append((args, kwargs))
        return validation_split(*args, **kwargs)

    monkeypatch.setattr(skfam.base, "validation_split", spy)
    series = np.random.default_rng(0).normal(size=(208, 2)).cumsum(axis=0)
    X, y = make_sequences(series, 8, target=series[:, 0])  # 200 overlapping windows
    est = skfam.CNN1DRegressor(**FAST, early_stopping=True, validation_fraction=0.25).fit(X, y)
    ((args, kwargs),) = calls
    assert kwargs["kind"] == "time" == est.params_["validation_split"]
    assert kwargs["gap"] == 8 == est._split_gap()
    train, valid = validation_split(*args, **kwargs)
    assert valid.tolist() == list(range(150, 200))  # the last quarter, in time order
    assert train.tolist() == list(range(0, 150 - 8))
    # With make_sequences windows (window i covers rows i .. i+7, its target is row i+8), the
    # last training window's rows and target row lie before the first validation window.
    assert train[-1] + 8 < valid[0]


def _ar2(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.zeros(n + 100)
    noise = rng.normal(size=n + 100)
    for t in range(2, n + 100):
        x[t] = 0.6 * x[t - 1] - 0.5 * x[t - 2] + noise[t]
    return x[100:]


_LEARN = {
    skfam.LSTMRegressor: {"hidden_size": 16, "num_layers": 1},
    skfam.CNN1DRegressor: {"channels": [16], "kernel_size": 3, "pooling": "last"},
    skfam.TransformerRegressor: {
        "d_model": 16,
        "n_heads": 2,
        "num_layers": 1,
        "dim_feedforward": 32,
        "pooling": "last",
    },
}


@pytest.mark.parametrize("cls", REGRESSORS, ids=lambda c: c.__name__)
def test_regressor_learns_an_ar2_process(cls):
    series = _ar2(3000, seed=1)
    X, y = make_sequences(series, 8, target=series)
    split = 2400
    est = cls(
        **_LEARN[cls],
        dropout=0.0,
        learning_rate=0.005,
        batch_size=128,
        max_epochs=15,
        early_stopping=False,
        device="cpu",
        random_state=0,
    ).fit(X[:split], y[:split])
    mse = np.mean((est.predict(X[split:]) - y[split:]) ** 2)
    last_value = np.mean((X[split:, -1, 0] - y[split:]) ** 2)
    assert mse < 1.3  # the noise variance is 1
    assert mse < 0.6 * last_value


@pytest.mark.parametrize("cls", CLASSIFIERS, ids=lambda c: c.__name__)
def test_classifier_beats_the_majority_class(cls):
    # Random-walk windows: "up" when the walk ends above where it started.
    rng = np.random.default_rng(2)
    X = np.cumsum(rng.normal(size=(1500, 10, 2)), axis=1)
    y = np.where(X[:, -1, 0] > X[:, 0, 0], "up", "down")
    params = {k: v for k, v in _LEARN[REGRESSORS[CLASSIFIERS.index(cls)]].items()}
    est = cls(
        **params,
        dropout=0.0,
        learning_rate=0.005,
        batch_size=128,
        max_epochs=15,
        early_stopping=False,
        device="cpu",
        random_state=0,
    ).fit(X[:1200], y[:1200])
    majority = max(np.mean(y[1200:] == "up"), np.mean(y[1200:] == "down"))
    assert est.score(X[1200:], y[1200:]) > majority + 0.15


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_model_file_round_trip(cls, tmp_path):
    X, y = _windows()
    X[::5, 1, 1] = np.nan
    est = cls(**FAST, impute_forward_fill=False).fit(X, _target(cls, y))
    path = tmp_path / "model.skfam"
    est.save_model(path)
    loaded = skfam.load_model(path)
    assert (loaded.n_timesteps_in_, loaded.n_channels_in_) == (6, 2)
    assert loaded.imputer_.forward_fill is False
    np.testing.assert_array_equal(loaded.channel_mean_, est.channel_mean_)
    if hasattr(est, "predict_proba"):
        np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
    with pytest.raises(ValueError, match="length"):
        loaded.predict(X[:, :4])


@pytest.mark.parametrize("cls", [skfam.LSTMRegressor, skfam.CNN1DClassifier])
def test_4d_input_says_3d_windows_are_expected(cls):
    X, y = _windows()
    with pytest.raises(ValueError, match=r"expects 3-D input \(n_samples, sequence_length, chan"):
        cls(**FAST).fit(X[..., None], _target(cls, y))
    est = cls(**FAST).fit(X, _target(cls, y))
    with pytest.raises(ValueError, match=r"expects 3-D input.*got 4-D input of shape"):
        est.predict(X[..., None])


def test_transformer_options_and_bad_heads():
    X, y = _windows()
    for encoding in ("sinusoidal", "learned"):
        for pooling in ("mean", "last", "cls"):
            est = skfam.TransformerRegressor(
                **FAST, positional_encoding=encoding, pooling=pooling
            ).fit(X, y)
            assert np.isfinite(est.predict(X)).all()
    with pytest.raises(ValueError, match="multiple of n_heads"):
        skfam.TransformerRegressor(**FAST, d_model=6, n_heads=4).fit(X, y)


def test_cnn_and_lstm_options():
    X, y = _windows()
    for pooling in ("mean", "max", "last"):
        skfam.CNN1DRegressor(**FAST, pooling=pooling, channels=[4, 4], kernel_size=5).fit(X, y)
    for readout, width in (("last", 2 * 8), ("pool", 3 * 2 * 8)):
        est = skfam.LSTMRegressor(
            **FAST, bidirectional=True, num_layers=2, dropout=0.1, readout=readout
        ).fit(X, y)
        assert est.net_.module_.encoder.out_features == width
        assert est.net_.module_.head.in_features == width
    with pytest.raises(ValueError, match="channels must be a non-empty list"):
        skfam.CNN1DRegressor(**FAST, channels=[]).fit(X, y)


def test_a_cuda_model_file_loads_where_cuda_is_absent(tmp_path, monkeypatch):
    # A model file records the training device; a file that says "cuda:0" loads on CPU
    # where CUDA is not available (weights are always stored on CPU, as safetensors). On a
    # machine with CUDA its absence is simulated, so the test is the same everywhere.
    X, y = _windows()
    est = skfam.LSTMRegressor(**FAST).fit(X, y)
    est.device_ = "cuda:0"  # as if trained on a GPU
    path = tmp_path / "model.skfam"
    est.save_model(path)
    with monkeypatch.context() as patch:
        patch.setattr(torch.cuda, "is_available", lambda: False)
        loaded = skfam.load_model(path)
    assert loaded.device_ == "cpu"
    assert str(next(loaded.net_.module_.parameters()).device) == "cpu"
    # The same weights on the same device: the same bits.
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
    if torch.cuda.is_available():
        # Where CUDA is present the file loads onto it; float32 kernels on a GPU (cuDNN's
        # LSTM uses TF32) round otherwise than the CPU's, hence the loose tolerance.
        on_gpu = skfam.load_model(path)
        assert on_gpu.device_ == "cuda:0"
        np.testing.assert_allclose(on_gpu.predict(X), est.predict(X), rtol=1e-2, atol=1e-2)


@pytest.mark.parametrize(
    ("cls", "params"),
    [
        (skfam.LSTMRegressor, {"bidirectional": True}),
        (skfam.CNN1DRegressor, {}),
        (skfam.TransformerRegressor, {}),
        (skfam.TransformerClassifier, {"pooling": "cls"}),
        (skfam.HybridRegressor, {"encoder": "transformer", "sequence_shape": (20, 3)}),
        (skfam.HybridRegressor, {"encoder": "lstm", "sequence_shape": (20, 3)}),
    ],
    ids=lambda v: v.__name__ if isinstance(v, type) else str(v.get("encoder", "")),
)
def test_training_with_dropout_is_the_same_for_any_thread_count(cls, params):
    # The SST's default sizes (not the tiny "fast" variant): torch's kernels only split
    # work between threads above a size threshold. With dropout, attention takes the
    # unfused path, whose native softmax backward sums in a thread-dependent order.
    rng = np.random.default_rng(3)
    X = rng.normal(size=(400, 20, 3))
    y = X[:, -1, 0] + rng.normal(scale=0.1, size=400)
    if "Classifier" in cls.__name__:
        y = np.where(y > 0, "up", "down")
    if "Hybrid" in cls.__name__:
        X = X.reshape(400, -1)
    common = {**params, "device": "cpu", "dropout": 0.3, "max_epochs": 2, "batch_size": 64}
    one = cls(**common, n_jobs=1).fit(X, y)
    two = cls(**common, n_jobs=2).fit(X, y)
    out = "predict_proba" if hasattr(one, "predict_proba") else "predict"
    np.testing.assert_array_equal(getattr(one, out)(X), getattr(two, out)(X))


def test_cpu_kernels_switch_onednn_during_fit_and_predict_only(monkeypatch):
    seen = []
    forward = skfam.nn.LSTMModule.forward

    def spy(self, X):
        seen.append(torch.backends.mkldnn.enabled)
        return forward(self, X)

    monkeypatch.setattr(skfam.nn.LSTMModule, "forward", spy)
    X, y = _windows(n=80)
    before = torch.backends.mkldnn.enabled
    for choice, expected in (("portable", False), ("onednn", True)):
        seen.clear()
        reg = skfam.LSTMRegressor(**FAST, cpu_kernels=choice).fit(X, y)
        assert seen and set(seen) == {expected}
        seen.clear()
        reg.predict(X)
        assert seen and set(seen) == {expected}
        assert torch.backends.mkldnn.enabled == before  # restored
    assert skfam.LSTMRegressor(**FAST).fit(X, y).params_["cpu_kernels"] == "portable"


@pytest.mark.parametrize(
    "cls", [skfam.LSTMRegressor, skfam.HybridClassifier], ids=lambda c: c.__name__
)
def test_onednn_kernels_repeat_bit_for_bit_for_the_same_n_jobs(cls, tmp_path):
    # The SST's default sizes, so that oneDNN splits work between the 2 threads.
    rng = np.random.default_rng(5)
    X = rng.normal(size=(400, 20, 3))
    y = X[:, -1, 0] + rng.normal(scale=0.1, size=400)
    if "Hybrid" in cls.__name__:
        X, y = X.reshape(400, -1), np.where(y > 0, "up", "down")
    params = {"cpu_kernels": "onednn", "device": "cpu", "max_epochs": 2, "n_jobs": 2}
    first, second = cls(**params).fit(X, y), cls(**params).fit(X, y)
    out = "predict_proba" if hasattr(first, "predict_proba") else "predict"
    np.testing.assert_array_equal(getattr(first, out)(X), getattr(second, out)(X))
    first.save_model(tmp_path / "m.skfam")
    loaded = skfam.load_model(tmp_path / "m.skfam")
    assert loaded.get_params()["cpu_kernels"] == "onednn"
    np.testing.assert_array_equal(getattr(loaded, out)(X), getattr(first, out)(X))


def test_a_window_alone_predicts_like_inside_a_batch_under_mkl_strict_cnr(tmp_path):
    # Predictions run in fixed passes of 512 rows, so a window's bits do not depend on how
    # many windows come with it. Its *position* in a pass can still matter: MKL's float32
    # GEMM rounds differently at different memory alignments for some shapes (here a CNN
    # layer with 2 x 3 inputs and 8 outputs). MKL's strict conditional numerical
    # reproducibility, which `import skfam` turns on, removes that (docs/determinism.md):
    # the child process starts without MKL_CBWR, so skfam's own default is what is tested.
    assert torch.backends.mkl.is_available()  # the CPU wheel CI installs is built with MKL
    script = textwrap.dedent(f"""
        import numpy as np
        import skfam
        rng = np.random.default_rng(0)
        X = rng.normal(size=(300, 9, 2))
        y = X[:, -1, 0] + rng.normal(scale=0.1, size=300)
        reg = skfam.CNN1DRegressor(variant="fast", device="cpu", max_epochs=3).fit(X, y)
        together = reg.predict(X)
        alone = np.array([reg.predict(X[i : i + 1])[0] for i in range(300)])
        np.savez({str(tmp_path / "out.npz")!r}, together=together, alone=alone)
    """)
    env = {k: v for k, v in os.environ.items() if k != "MKL_CBWR"}
    subprocess.run([sys.executable, "-c", script], check=True, env=env)
    out = np.load(tmp_path / "out.npz")
    np.testing.assert_array_equal(out["alone"], out["together"])


@pytest.mark.parametrize(
    "cls",
    [skfam.LSTMRegressor, skfam.CNN1DRegressor, skfam.TransformerRegressor],
    ids=lambda c: c.__name__,
)
def test_memory_layout_of_windows_does_not_change_the_model(cls):
    X, y = _windows(n=80)
    rows = cls(**FAST).fit(X, y)
    columns = cls(**FAST).fit(np.asfortranarray(X), y)
    assert np.array_equal(columns.predict(X), rows.predict(X))
    assert np.array_equal(rows.predict(np.asfortranarray(X)), rows.predict(X))
