"""Defaults that learn on small data: budget, schedule, split, degenerate models, layout."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import skfam
from skfam import DegenerateModelWarning, InputLayoutWarning, make_sequences
from skfam._split import resolve_split_kind, windows_overlap

from ._forge import forge
from ._strategies import HYBRID_SEQUENCE_SHAPE, estimator_cases, fast_params

CPU = {"device": "cpu"}


def _random_walk(n: int, seed: int, drift: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.cumsum(drift + rng.normal(size=n))


def _series_set(n: int = 60, length: int = 30, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Independent labelled series, sorted by class as archives often are."""
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1], n // 2)
    t = np.linspace(0, 1, length)
    X = rng.normal(scale=0.3, size=(n, length, 1))
    X[:, :, 0] += np.where(y[:, None] == 1, np.sin(6 * t), np.cos(6 * t))
    return X, y


# ------------------------------------------------------------------ windows and the split
def test_windows_cut_from_one_series_overlap():
    series = _random_walk(300, seed=0)[:, None]
    X, _ = make_sequences(series, 12, target=series[:, 0])
    assert windows_overlap(X)
    X2, _ = make_sequences(series, 12, target=series[:, 0], step=5)
    assert windows_overlap(X2)
    # NaN in the series (forward-filled later by the estimator) still overlap.
    with_gap = series.copy()
    with_gap[100:103] = np.nan
    assert windows_overlap(make_sequences(with_gap, 12, target=with_gap[:, 0])[0])


def test_independent_or_shuffled_windows_do_not_overlap():
    X, _ = _series_set()
    assert not windows_overlap(X)
    series = _random_walk(300, seed=1)[:, None]
    windows, _ = make_sequences(series, 12, target=series[:, 0])
    order = np.random.default_rng(0).permutation(len(windows))
    assert not windows_overlap(windows[order])


def test_split_kind_follows_the_data_unless_set():
    assert resolve_split_kind("auto", sequence=True, classes=True) == "time"
    assert resolve_split_kind("auto", sequence=False, classes=True) == "stratified"
    assert resolve_split_kind("auto", sequence=False, classes=False) == "shuffle"
    assert resolve_split_kind("shuffle", sequence=True, classes=True) == "shuffle"


def test_independent_series_get_a_stratified_split():
    X, y = _series_set(n=60)
    est = skfam.CNN1DClassifier(variant="fast", early_stopping=True, **CPU).fit(X, y)
    assert est.params_["validation_split"] == "stratified"
    # A time-ordered split of this class-sorted set would hold out class 1 only.
    forced = skfam.CNN1DClassifier(
        variant="fast", early_stopping=True, validation_split="time", **CPU
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateModelWarning)
        forced.fit(X, y)
    assert forced.params_["validation_split"] == "time"


# A random walk's change is noise: early stopping rightly keeps an early model.
@pytest.mark.filterwarnings("ignore::skfam.DegenerateModelWarning")
def test_windows_of_one_series_get_the_time_split():
    series = _random_walk(400, seed=2)[:, None]
    X, y = make_sequences(series, 10, target=series[:, 0])
    est = skfam.LSTMRegressor(variant="fast", early_stopping=True, **CPU).fit(X, y)
    assert est.params_["validation_split"] == "time"
    shuffled = skfam.LSTMRegressor(
        variant="fast", early_stopping=True, validation_split="shuffle", **CPU
    ).fit(X, y)
    assert shuffled.params_["validation_split"] == "shuffle"


# ------------------------------------------------------------------ budget and schedule
def test_min_steps_raises_the_epochs_of_a_small_set():
    X, y = _series_set(n=40)
    est = skfam.CNN1DClassifier(
        variant="fast", batch_size=16, max_epochs=3, min_steps=30, **CPU
    ).fit(X, y)
    # 40 rows in batches of 16: 3 batches per epoch, so 30 steps need 10 epochs.
    assert est.params_["max_epochs"] == 10 == est.n_iter_
    kept = skfam.CNN1DClassifier(
        variant="fast", batch_size=16, max_epochs=12, min_steps=30, **CPU
    ).fit(X, y)
    assert kept.params_["max_epochs"] == 12 == kept.n_iter_
    # An explicit max_epochs without min_steps is the user's budget: kept as given...
    explicit = skfam.CNN1DClassifier(channels=[4], batch_size=16, max_epochs=3, **CPU)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateModelWarning)  # 3 epochs may learn nothing
        assert explicit.fit(X, y).n_iter_ == 3
    # ...while the SST's max_epochs (50) is raised to reach the SST's min_steps.
    sst = skfam.CNN1DClassifier(channels=[4], kernel_size=3, batch_size=16, **CPU).fit(X, y)
    steps = skfam.load_model_config("cnn1d")["min_steps"]
    assert sst.n_iter_ == sst.params_["max_epochs"] == -(-steps // 3)


def test_min_steps_has_an_sst_default_and_fast_turns_it_off():
    assert skfam.load_model_config("lstm")["min_steps"] >= 500
    assert skfam.load_model_config("mlp", "fast")["min_steps"] == 0


def _final_lr(est) -> float:
    return est.net_.optimizer_.param_groups[0]["lr"]


def test_without_validation_the_schedule_is_cosine_to_the_floor():
    X, y = _series_set(n=40)
    est = skfam.CNN1DClassifier(variant="fast", max_epochs=20, **CPU).fit(X, y)
    assert est.params_["lr_schedule"] == "cosine"
    assert _final_lr(est) == pytest.approx(est.params_["min_lr"], abs=1e-9)


def test_the_plateau_schedule_can_be_chosen_and_tuned():
    X, y = _series_set(n=40)
    est = skfam.CNN1DClassifier(
        variant="fast",
        max_epochs=30,
        lr_schedule="plateau",
        lr_patience=1000,
        **CPU,
    ).fit(X, y)
    assert est.params_["lr_schedule"] == "plateau" and est.params_["lr_patience"] == 1000
    assert _final_lr(est) == est.params_["learning_rate"]  # never reduced
    constant = skfam.CNN1DClassifier(
        variant="fast", max_epochs=10, lr_schedule="constant", **CPU
    ).fit(X, y)
    assert _final_lr(constant) == constant.params_["learning_rate"]


def test_with_validation_auto_is_the_plateau_on_the_validation_loss():
    X, y = _series_set(n=80)
    est = skfam.CNN1DClassifier(variant="fast", early_stopping=True, patience=3, **CPU).fit(X, y)
    assert est.params_["lr_schedule"] == "plateau" and est.params_["patience"] == 3
    scheduler = dict(est.net_.callbacks)["lr_plateau"]
    assert scheduler.monitor == "valid_loss"


# ------------------------------------------------------------------ degenerate models
def _uninformative(cls, n: int = 80):
    """X identical in every row (so the best model is a constant) and a varying target."""
    rng = np.random.default_rng(0)
    mode = skfam.families()[next(k for k, t, c in estimator_cases() if c is cls)].input_mode
    if mode == "sequence":
        X = np.ones((n, 8, 1))
    elif mode == "hybrid":
        X = np.ones((n, 2 + int(np.prod(HYBRID_SEQUENCE_SHAPE))))
    else:
        X = np.ones((n, 3))
    y = rng.normal(size=n) if "Regressor" in cls.__name__ else np.tile([0, 1, 1], n)[:n]
    return X, y


@pytest.mark.parametrize("cls", [c for _, _, c in estimator_cases()], ids=lambda c: c.__name__)
def test_a_model_that_can_only_be_constant_warns(cls):
    X, y = _uninformative(cls)
    with pytest.warns(DegenerateModelWarning, match="learned .almost. nothing"):
        cls(**fast_params(cls)).fit(X, y)


def test_the_reference_leaf_size_warns_on_small_data_and_auto_learns():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    y = X[:, 0] + 0.1 * rng.normal(size=300)
    with pytest.warns(DegenerateModelWarning, match="min_child_samples=500"):
        skfam.LightGBMRegressor(variant="reference", n_estimators=50).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DegenerateModelWarning)
        est = skfam.LightGBMRegressor(n_estimators=50).fit(X, y)
    assert est.params_["min_child_samples"] == 10  # 300 x 0.005, raised to the minimum
    assert np.corrcoef(est.predict(X), y)[0, 1] > 0.9


def test_auto_leaf_size_grows_with_the_rows():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(20_000, 2))
    y = X[:, 0] + rng.normal(size=20_000)
    est = skfam.LightGBMRegressor(n_estimators=5, early_stopping=False).fit(X, y)
    assert est.params_["min_child_samples"] == 100


# ------------------------------------------------------------------ forecasting
def test_delta_channel_auto_picks_the_level_channel():
    level = _random_walk(500, seed=3, drift=0.2)
    noise = np.random.default_rng(4).normal(size=500)
    series = np.column_stack([noise, level])
    X, y = make_sequences(series, 8, target=level)
    est = skfam.CNN1DRegressor(variant="fast", **CPU).fit(X, y)
    assert est.delta_channel_ == 1 and est.params_["delta_channel"] == 1
    # A stationary target is not a level: auto leaves it off.
    Xs, ys = make_sequences(series, 8, target=noise)
    stationary = skfam.CNN1DRegressor(variant="fast", **CPU).fit(Xs, ys)
    assert stationary.delta_channel_ is None and stationary.params_["delta_channel"] == "off"


def test_delta_forecasts_a_trend_beyond_the_training_range():
    # A random walk with drift: its test part lies above everything seen in training, and
    # the last value (the naive forecast) is the best forecast of its next step but the
    # drift. A net of the level cannot extrapolate; one of the change can.
    level = _random_walk(1500, seed=5, drift=0.5)
    X, y = make_sequences(level[:, None], 10, target=level)
    cut = int(0.8 * len(X))
    naive = np.mean((X[cut:, -1, 0] - y[cut:]) ** 2)
    errors = {}
    for setting in ("auto", "off"):
        est = skfam.CNN1DRegressor(variant="fast", delta_channel=setting, **CPU)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DegenerateModelWarning)
            est.fit(X[:cut], y[:cut])
        errors[setting] = np.mean((est.predict(X[cut:]) - y[cut:]) ** 2)
    assert errors["auto"] <= 1.5 * naive
    assert errors["off"] > 10 * naive


def test_delta_channel_is_checked():
    X, y = _series_set(n=40)
    with pytest.raises(ValueError, match="applies to regression"):
        skfam.CNN1DClassifier(variant="fast", delta_channel=0, **CPU).fit(X, y)
    with pytest.raises(ValueError, match="not a channel"):
        skfam.CNN1DRegressor(variant="fast", delta_channel=1, **CPU).fit(X, y.astype(float))


def test_delta_channel_survives_a_model_file(tmp_path):
    level = _random_walk(300, seed=6, drift=0.1)
    X, y = make_sequences(level[:, None], 8, target=level)
    est = skfam.LSTMRegressor(variant="fast", delta_channel=0, **CPU).fit(X, y)
    est.save_model(tmp_path / "m.skfam")
    loaded = skfam.load_model(tmp_path / "m.skfam")
    assert loaded.delta_channel_ == 0
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))


# ------------------------------------------------------------------ layout
@pytest.mark.filterwarnings("ignore::skfam.DegenerateModelWarning")  # two epochs only
@pytest.mark.parametrize("cls", [skfam.CNN1DClassifier, skfam.LSTMClassifier])
def test_the_channels_first_layout_warns(cls):
    X, y = _series_set(n=40)
    with pytest.warns(InputLayoutWarning, match=r"transpose\(0, 2, 1\)") as record:
        cls(variant="fast", max_epochs=2, **CPU).fit(X.transpose(0, 2, 1), y)
    assert record[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error", InputLayoutWarning)
        cls(variant="fast", max_epochs=2, **CPU).fit(X, y)


def test_series_of_unequal_length_are_refused_clearly():
    rng = np.random.default_rng(0)
    X = [rng.normal(size=(n, 1)) for n in (30, 30, 28, 31)]
    with pytest.raises(ValueError, match=r"equal length.*lengths \[28, 30, 31\]"):
        skfam.CNN1DClassifier(variant="fast", **CPU).fit(X, [0, 1, 0, 1])


def test_a_delta_model_follows_a_shift_of_the_level():
    # With delta_channel on, the net reads the window relative to its last value and adds
    # that value back: the same windows a constant higher forecast exactly that higher.
    level = _random_walk(400, seed=7, drift=0.1)
    X, y = make_sequences(level[:, None], 12, target=level)
    est = skfam.LSTMRegressor(variant="fast", **CPU).fit(X, y)
    assert est.delta_channel_ == 0
    np.testing.assert_allclose(est.predict(X + 1000.0), est.predict(X) + 1000.0, atol=1e-6)


# ------------------------------------------------------------------ linear skip
@pytest.mark.parametrize(
    "cls", [skfam.LSTMRegressor, skfam.CNN1DRegressor, skfam.TransformerRegressor]
)
def test_regressors_add_a_linear_map_of_the_window_and_classifiers_do_not(cls):
    series = _random_walk(300, seed=8)[:, None]
    X, y = make_sequences(series, 10, target=series[:, 0])
    est = cls(variant="fast", **CPU).fit(X, y)
    assert est.params_["linear_skip"] == 10 == est.module_kwargs_["linear_skip"]
    skip = est.net_.module_.skip
    # The map is torch's own linear layer on the flattened window.
    window = torch.as_tensor(est._transform_inputs(X[:5]))
    expected = torch.nn.functional.linear(window.flatten(1), skip.linear.weight, skip.linear.bias)
    torch.testing.assert_close(skip(window), expected, rtol=0, atol=0)
    short = cls(variant="fast", linear_skip=3, **CPU).fit(X, y)
    assert short.net_.module_.skip.linear.in_features == 3
    with pytest.raises(ValueError, match="linear_skip=11 is longer than the windows"):
        cls(variant="fast", linear_skip=11, **CPU).fit(X, y)
    Xc, yc = _series_set(n=40)
    clf = getattr(skfam, cls.__name__.replace("Regressor", "Classifier"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateModelWarning)
        fitted = clf(variant="fast", max_epochs=2, **CPU).fit(Xc, yc)
    assert fitted.params_["linear_skip"] == 0 and fitted.net_.module_.skip is None


def test_minirocket_forecasts_a_level_through_its_change(tmp_path):
    # MiniRocket's kernels sum to zero, so its features hardly see the level: on a trend
    # that leaves the training range, only the change (delta_channel) can be forecast.
    level = _random_walk(1200, seed=9, drift=0.5)
    X, y = make_sequences(level[:, None], 16, target=level)
    cut = int(0.8 * len(X))
    naive = np.mean((X[cut:, -1, 0] - y[cut:]) ** 2)
    auto = skfam.MiniRocketRegressor(variant="fast", **CPU).fit(X[:cut], y[:cut])
    off = skfam.MiniRocketRegressor(variant="fast", delta_channel="off", **CPU)
    off.fit(X[:cut], y[:cut])
    assert auto.delta_channel_ == 0 and off.delta_channel_ is None
    assert np.mean((auto.predict(X[cut:]) - y[cut:]) ** 2) <= 1.5 * naive
    assert np.mean((off.predict(X[cut:]) - y[cut:]) ** 2) > 10 * naive
    auto.save_model(tmp_path / "r.skfam")
    loaded = skfam.load_model(tmp_path / "r.skfam")
    assert loaded.delta_channel_ == 0
    np.testing.assert_array_equal(loaded.predict(X[cut:]), auto.predict(X[cut:]))
    with pytest.raises(ValueError, match="applies to regression"):
        skfam.MiniRocketClassifier(variant="fast", delta_channel=0, **CPU).fit(
            X[:50], np.arange(50) % 2
        )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("linear_skip", 9, "linear_skip = 9 is not a number of steps of the 8-step windows"),
        ("linear_skip", "8", "linear_skip = '8' is not a number of steps"),
        ("delta_channel", 1, "delta_channel = 1 is not null or a channel"),
        ("delta_channel", True, "delta_channel = True is not null or a channel"),
    ],
)
def test_crafted_forecasting_fields_are_refused(tmp_path, field, value, message):
    level = _random_walk(200, seed=10, drift=0.1)
    X, y = make_sequences(level[:, None], 8, target=level)
    path = tmp_path / "m.skfam"
    skfam.CNN1DRegressor(variant="fast", **CPU).fit(X, y).save_model(path)

    def edit(manifest):
        family = manifest["fitted"]["family"]
        target = family["module_kwargs"] if field == "linear_skip" else family
        target[field] = value

    forge(path, tmp_path / "bad.skfam", edit_manifest=edit)
    with pytest.raises(skfam.ModelFileError, match=message):
        skfam.load_model(tmp_path / "bad.skfam")


def test_lstm_defaults_read_whole_series_and_reference_keeps_the_old_net():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(40, 12, 2))
    y_class = np.where(X[:, :, 0].mean(axis=1) > 0, "a", "b")
    y_reg = X[:, -1, 0]
    fast = {"variant": "fast", "max_epochs": 2}
    clf = skfam.LSTMClassifier(**fast).fit(X, y_class)
    reg = skfam.LSTMRegressor(**fast).fit(X, y_reg)
    # SST: bidirectional "auto" = classifiers only, pooled readout, unit forget bias.
    assert clf.params_["bidirectional"] is True and reg.params_["bidirectional"] is False
    for est in (clf, reg):
        assert est.params_["readout"] == "pool" and est.params_["forget_bias"] == 1.0
        encoder = est.net_.module_.encoder
        assert (
            encoder.readout == "pool"
            and encoder.lstm.bidirectional == est.params_["bidirectional"]
        )
    with warnings.catch_warnings():
        # One epoch of the reference's settings learns nothing; only the net is checked.
        warnings.simplefilter("ignore", DegenerateModelWarning)
        old = skfam.LSTMClassifier(variant="reference", max_epochs=1).fit(X, y_class)
    encoder = old.net_.module_.encoder
    assert encoder.readout == "last" and not encoder.lstm.bidirectional
    assert old.module_kwargs_["forget_bias"] is None
    with pytest.raises(ValueError, match="forget_bias"):
        skfam.LSTMRegressor(forget_bias=50.0, **fast).fit(X, y_reg)
