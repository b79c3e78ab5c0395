"""The hybrid family: [features | flattened sequence] input, encoders, layout errors."""

from __future__ import annotations

import numpy as np
import pytest

import skfam
from skfam import HybridClassifier, HybridRegressor, make_hybrid

FAST = {"variant": "fast", "device": "cpu"}


def _data(n: int = 400, seed: int = 0):
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(n, 3))
    windows = rng.normal(size=(n, 6, 2))
    # The target needs both parts: a feature and the sequence's last step.
    y = 2 * features[:, 0] + 2 * windows[:, -1, 1] + rng.normal(scale=0.1, size=n)
    return make_hybrid(features, windows), y


@pytest.mark.parametrize("encoder", ["lstm", "cnn1d", "transformer"])
def test_each_encoder_fits_and_uses_both_parts(encoder):
    X, y = _data()
    reg = HybridRegressor(sequence_shape=(6, 2), encoder=encoder, **FAST).fit(X[:300], y[:300])
    assert reg.sequence_shape_ == (6, 2) and reg.n_tabular_features_ == 3
    assert reg.net_.module_.encoder.__class__.__name__.lower().startswith(encoder[:4])
    assert reg.score(X[300:], y[300:]) > 0.8  # neither part alone explains half the variance


def test_layout_matches_make_hybrid():
    X, y = _data(n=80)
    reg = HybridRegressor(sequence_shape=(6, 2), **FAST).fit(X, y)
    # The scaled features come first, then the sequence standardised per channel.
    inputs = reg._transform_inputs(X)
    np.testing.assert_allclose(
        inputs[:, :3], (X[:, :3] - X[:, :3].mean(0)) / X[:, :3].std(0), rtol=1e-5, atol=1e-6
    )
    sequence = X[:, 3:].reshape(80, 6, 2)
    np.testing.assert_allclose(reg.channel_mean_, sequence.reshape(-1, 2).mean(0))


def test_sequence_shape_auto_reads_the_row_as_one_sequence():
    X, y = _data(n=60)
    reg = HybridRegressor(**FAST).fit(X, y)
    assert reg.sequence_shape_ == (X.shape[1], 1) and reg.n_tabular_features_ == 0


def test_wrong_widths_raise():
    X, y = _data(n=60)
    with pytest.raises(ValueError, match=r"fewer than the 10 x 2 = 20 of sequence_shape"):
        HybridRegressor(sequence_shape=(10, 2), **FAST).fit(X, y)
    with pytest.raises(ValueError, match=r"sequence_shape must be \(L, C\)"):
        HybridRegressor(sequence_shape=(6, 0), **FAST).fit(X, y)
    reg = HybridRegressor(sequence_shape=(6, 2), **FAST).fit(X, y)
    with pytest.raises(ValueError, match="X has 14 features, but HybridRegressor is expecting 15"):
        reg.predict(X[:, 1:])


def test_transformer_encoder_needs_heads_dividing_width():
    X, y = _data(n=60)
    with pytest.raises(ValueError, match="multiple of n_heads"):
        HybridRegressor(
            sequence_shape=(6, 2), encoder="transformer", hidden_size=6, n_heads=4, **FAST
        ).fit(X, y)


def test_classifier_and_model_file_round_trip(tmp_path):
    X, y = _data()
    labels = np.where(y > 0, "up", "down")
    X[::9, 5] = np.nan
    clf = HybridClassifier(sequence_shape=(6, 2), encoder="cnn1d", **FAST).fit(X, labels)
    assert clf.score(X, labels) > 0.8
    path = tmp_path / "hybrid.skfam"
    clf.save_model(path)
    loaded = skfam.load_model(path)
    assert loaded.sequence_shape_ == (6, 2) and loaded.n_tabular_features_ == 3
    assert loaded.get_params()["sequence_shape"] == (6, 2)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))


def test_sequence_shape_defaults_to_auto_from_the_sst():
    assert skfam.load_model_config("hybrid", "fast")["sequence_shape"] == "auto"
    X, y = _data(n=60)
    reg = HybridRegressor(**FAST).fit(X, y)
    assert reg.params_["sequence_shape"] == "auto"
    reg = HybridRegressor(sequence_shape=(6, 2), **FAST).fit(X, y)
    assert reg.params_["sequence_shape"] == (6, 2)


def test_sequence_part_is_imputed_per_channel_with_forward_fill():
    X, y = _data(n=120)
    X[5, 0] = np.nan  # a feature
    X[7, 3 + 2 * 2 + 1] = np.nan  # channel 1 at step 2: the value at step 1 carries on
    X[9, 3 + 0 * 2 + 0] = np.nan  # channel 0 at step 0: nothing earlier, channel median
    reg = HybridRegressor(sequence_shape=(6, 2), **FAST).fit(X, y)
    assert reg.params_["impute_forward_fill"] is True
    filled = reg.imputer_.transform(X)
    sequence = X[:, 3:].reshape(120, 6, 2)
    assert filled[5, 0] == np.nanmedian(X[:, 0])
    assert filled[7, 3 + 2 * 2 + 1] == X[7, 3 + 1 * 2 + 1]
    assert filled[9, 3] == np.nanmedian(sequence[:, :, 0])
    assert not np.isnan(filled).any()
    # Without forward fill every sequence NaN takes its channel's median over rows and steps.
    plain = HybridRegressor(sequence_shape=(6, 2), impute_forward_fill=False, **FAST).fit(X, y)
    assert plain.imputer_.transform(X)[7, 3 + 2 * 2 + 1] == np.nanmedian(sequence[:, :, 1])


def test_all_nan_channel_trains_predicts_and_round_trips(tmp_path):
    X, y = _data(n=120)
    X[:, 3 + 1 :: 2] = np.nan  # channel 1 of the sequence is never observed
    reg = HybridRegressor(sequence_shape=(6, 2), **FAST).fit(X, y)
    assert reg.imputer_.empty_features_[3 + 1 :: 2].all()
    assert not reg.imputer_.empty_features_[:3].any()
    prediction = reg.predict(X)
    assert np.isfinite(prediction).all()
    reg.save_model(tmp_path / "h.skfam")
    loaded = skfam.load_model(tmp_path / "h.skfam")
    np.testing.assert_array_equal(loaded.predict(X), prediction)


def test_transformer_feedforward_width_comes_from_the_sst():
    # The feed-forward width of the transformer encoder is feedforward_factor x hidden_size,
    # with the factor in configs/models/hybrid.yaml, not in the code.
    X, y = _data(n=60)
    common = {"sequence_shape": (6, 2), "encoder": "transformer", **FAST, "max_epochs": 1}
    sst = skfam.load_model_config("hybrid", "fast")
    reg = HybridRegressor(**common).fit(X, y)
    assert reg.params_["feedforward_factor"] == sst["feedforward_factor"]
    layer = reg.net_.module_.encoder.layers[0]
    assert layer.linear1.out_features == sst["feedforward_factor"] * sst["hidden_size"]
    wider = HybridRegressor(**common, feedforward_factor=3).fit(X, y)
    assert wider.net_.module_.encoder.layers[0].linear1.out_features == 3 * sst["hidden_size"]
    with pytest.raises(ValueError, match="feedforward_factor"):
        HybridRegressor(**common, feedforward_factor=0).fit(X, y)
