"""The rocket family: MiniRocket's features against a plain oracle, its ridge, its promises."""

from __future__ import annotations

import io
import itertools

import numpy as np
import pytest
from scipy.special import softmax
from sklearn.linear_model import RidgeClassifierCV, RidgeCV
from sklearn.preprocessing import StandardScaler

import skfam
from skfam import MiniRocketClassifier, MiniRocketRegressor
from skfam.nn.minirocket import fit_dilations, minirocket_features, quantiles

from ._forge import forge

CPU = {"device": "cpu"}


# ---------------------------------------------------------------------- the oracle
def _oracle_feature(x, channels, taps, dilation, bias, inner):
    """MiniRocket's feature written plainly, following the paper.

    The kernel has weight 2 at positions ``taps`` and -1 elsewhere; its output at step t is
    the weighted sum of ``x`` at ``t + (i - 4) * dilation``, i = 0..8, zero outside the
    series, over the combination's channels. The feature is the proportion of outputs
    above ``bias``: over every step, or (``inner``) over the steps whose nine taps all lie
    inside the series.
    """
    length = x.shape[1]
    weights = np.full(9, -1.0)
    weights[list(taps)] = 2.0
    output = np.zeros(length)
    for t in range(length):
        for channel in channels:
            for i in range(9):
                u = t + (i - 4) * dilation
                if 0 <= u < length:
                    output[t] += weights[i] * x[channel, u]
    if inner:
        output = output[4 * dilation : length - 4 * dilation]
    return np.mean(output > bias)


def _oracle_features(series, transform):
    """Every feature of every series (n, C, L) from the fitted transform's draws, plainly."""
    kernels = list(itertools.combinations(range(9), 3))
    counts = transform.channels_per_combination
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    out = np.zeros((len(series), transform.n_features))
    feature = 0
    for j, dilation in enumerate(transform.dilations):
        for k, taps in enumerate(kernels):
            combination = j * 84 + k
            channels = transform.channel_indices[
                starts[combination] : starts[combination] + counts[combination]
            ]
            for _ in range(transform.features_per_dilation[j]):
                bias = float(transform.biases[feature])
                for n, x in enumerate(series):
                    out[n, feature] = _oracle_feature(
                        x, channels, taps, int(dilation), bias, inner=(j + k) % 2 == 1
                    )
                feature += 1
    return out


@pytest.mark.parametrize("channels", [1, 3])
def test_features_equal_the_plain_oracle(channels):
    # Integer-valued series: every sum is exact in float32 and float64 alike, so the
    # oracle's float64 outputs and the transform's float32 ones compare to the biases alike.
    rng = np.random.default_rng(channels)
    X = rng.integers(-20, 21, size=(12, 40, channels)).astype(np.float64)
    y = np.arange(12) % 2
    est = MiniRocketClassifier(variant="fast", random_state=3, **CPU).fit(X, y)
    transform = est.minirocket_
    assert transform.n_features == 840
    assert len(transform.dilations) > 1  # several dilations, both padding kinds
    series = X.transpose(0, 2, 1)
    ours = minirocket_features(series, transform)
    expected = _oracle_features(series, transform)
    np.testing.assert_array_equal(ours, expected.astype(np.float32))
    # Multivariate: some kernels combine several channels.
    assert (transform.channels_per_combination > 1).any() == (channels > 1)


def test_features_on_real_values_match_the_oracle():
    rng = np.random.default_rng(5)
    X = np.cumsum(rng.normal(size=(6, 30, 2)), axis=1)
    est = MiniRocketRegressor(variant="fast", random_state=0, **CPU).fit(X, rng.normal(size=6))
    series = X.transpose(0, 2, 1)
    ours = minirocket_features(series, est.minirocket_)
    expected = _oracle_features(series, est.minirocket_)
    # float64 sums round differently from float32 ones only for outputs within rounding of
    # a bias; such a flip moves a proportion by one position (of at least 30 - 8 * 3).
    assert np.mean(ours == expected.astype(np.float32)) > 0.999
    assert np.abs(ours - expected).max() <= 1 / 6 + 1e-6


def test_dilations_and_quantiles_follow_the_reference():
    # Values of aeon 1.6's _fit_dilations and _quantiles (the reference code's).
    dilations, counts = fit_dilations(150, 10_000, 32)
    assert dilations.tolist() == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 15, 16, 18]
    assert counts.tolist() == [30, 15, 12, 12, 4, 8, 8, 4, 4, 4, 3, 3, 3, 3, 3, 3]
    dilations, counts = fit_dilations(40, 840, 8)
    assert (dilations.tolist(), counts.tolist()) == ([1, 2, 3, 4], [6, 1, 2, 1])
    assert fit_dilations(9, 10_000, 32)[0].tolist() == [1]
    reference = [0.6180340051651001, 0.2360679805278778, 0.8541019558906555]
    reference += [0.4721359610557556, 0.09016994386911392]
    np.testing.assert_array_equal(quantiles(5), np.array(reference, dtype=np.float32))


def test_biases_are_quantiles_of_one_training_series():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(15, 50))
    est = MiniRocketRegressor(variant="fast", random_state=1, **CPU).fit(X, rng.normal(size=15))
    t = est.minirocket_
    levels = quantiles(t.n_features)
    series = X[:, None, :]
    f = int(t.features_per_dilation[0])
    for k in (0, 1, 83):  # first dilation, three kernels: the kernel's whole output
        taps = list(itertools.combinations(range(9), 3))[k]
        biases = t.biases[k * f : (k + 1) * f]
        found = False
        for x in series:
            weights = np.full(9, -1.0)
            weights[list(taps)] = 2.0
            padded = np.pad(x[0], 4)
            output = np.array([weights @ padded[i : i + 9] for i in range(50)])
            q = np.quantile(output, levels[k * f : (k + 1) * f].astype(np.float64))
            found |= np.allclose(q, biases, rtol=1e-5, atol=1e-5)
        assert found, k


# ---------------------------------------------------------------------- the ridge
def _series_data(n=80, length=40, channels=1, classes=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, length, channels))
    y = np.arange(n) % classes
    for i in range(n):
        start = rng.integers(0, length - 10)
        X[i, start : start + 10, 0] += (1 + y[i]) * np.sin(np.linspace(0, np.pi * (1 + y[i]), 10))
    return X, y


@pytest.mark.parametrize("classes", [2, 3])
def test_classifier_is_ridge_classifier_cv_on_scaled_features(classes):
    X, y = _series_data(classes=classes)
    weight = np.random.default_rng(1).uniform(0.5, 2.0, len(y))
    est = MiniRocketClassifier(variant="fast", **CPU).fit(X, y, sample_weight=weight)
    train = minirocket_features(X.transpose(0, 2, 1), est.minirocket_).astype(np.float64)
    scaler = StandardScaler(with_mean=False).fit(train)
    ridge = RidgeClassifierCV(alphas=np.logspace(-3, 3, 10)).fit(
        scaler.transform(train), y, sample_weight=weight
    )
    X_new, _ = _series_data(classes=classes, seed=9)
    new = scaler.transform(
        minirocket_features(X_new.transpose(0, 2, 1), est.minirocket_).astype(np.float64)
    )
    assert est.alpha_ == ridge.alpha_
    np.testing.assert_array_equal(est.decision_function(X_new), ridge.decision_function(new))
    np.testing.assert_array_equal(est.predict(X_new), ridge.predict(new))
    scores = ridge.decision_function(new)
    if scores.ndim == 1:
        scores = np.column_stack([-scores, scores])
    np.testing.assert_array_equal(est.predict_proba(X_new), softmax(scores, axis=1))
    np.testing.assert_array_equal(np.argmax(est.predict_proba(X_new), axis=1), est.predict(X_new))


def test_regressor_is_ridge_cv_on_scaled_features():
    X, y = _series_data()
    target = y + np.random.default_rng(2).normal(scale=0.1, size=len(y))
    est = MiniRocketRegressor(variant="fast", **CPU).fit(X, target)
    train = minirocket_features(X.transpose(0, 2, 1), est.minirocket_).astype(np.float64)
    scaler = StandardScaler(with_mean=False).fit(train)
    ridge = RidgeCV(alphas=np.logspace(-3, 3, 10)).fit(scaler.transform(train), target)
    np.testing.assert_array_equal(est.predict(X), ridge.predict(scaler.transform(train)))


def test_ridge_cv_folds_are_contiguous_kfold():
    from sklearn.model_selection import KFold

    X, y = _series_data(n=60, classes=3)
    est = MiniRocketClassifier(variant="fast", ridge_cv=4, alpha_max=1e6, **CPU).fit(X, y)
    train = minirocket_features(X.transpose(0, 2, 1), est.minirocket_).astype(np.float64)
    scaled = StandardScaler(with_mean=False).fit_transform(train)
    alphas = np.logspace(-3, 6, 10)
    ridge = RidgeClassifierCV(alphas=alphas, cv=KFold(4)).fit(scaled, y)
    assert est.alpha_ == ridge.alpha_
    np.testing.assert_array_equal(est.decision_function(X), ridge.decision_function(scaled))
    assert MiniRocketRegressor(variant="windows").get_params()["ridge_cv"] is None
    windows = MiniRocketRegressor(variant="windows", **CPU).fit(X, y.astype(float))
    assert windows.params_["ridge_cv"] == 5
    assert windows.params_["alpha_max"] == 1e6


def test_auto_ridge_cv_uses_contiguous_folds_on_overlapping_windows_only():
    # Independent series: efficient leave-one-out over aeon's grid.
    X, y = _series_data()
    independent = MiniRocketRegressor(variant="fast", **CPU).fit(X, y)
    assert independent.params_["ridge_cv"] == "loo"
    assert independent.params_["alpha_max"] == 1000.0
    # Overlapping windows of one random-walk series with a target that no window predicts
    # (fresh noise): the best possible forecast is the mean, so a model that fits the noise
    # shows as a test error above the variance. Leave-one-out keeps each held-out window's
    # neighbours in training and picks a weak penalty; contiguous folds do not.
    rng = np.random.default_rng(11)
    level = np.cumsum(rng.normal(size=1300))
    windows = skfam.make_sequences(level[:, None], 40)
    noise = rng.normal(size=len(windows))
    cut = int(0.75 * len(windows))
    errors = {}
    for ridge_cv in ("auto", "loo"):
        est = MiniRocketRegressor(variant="fast", ridge_cv=ridge_cv, **CPU)
        est.fit(windows[:cut], noise[:cut])
        errors[ridge_cv] = np.mean((est.predict(windows[cut:]) - noise[cut:]) ** 2)
        if ridge_cv == "auto":
            assert est.params_["ridge_cv"] == 5 and est.params_["alpha_max"] == 1e6
    assert errors["auto"] < errors["loo"]
    assert errors["auto"] < 1.1 * np.var(noise[cut:])
    # An alpha_max passed by the user is kept.
    kept = MiniRocketRegressor(variant="fast", alpha_max=50.0, **CPU)
    kept.fit(windows[:cut], noise[:cut])
    assert kept.params_["ridge_cv"] == 5 and kept.params_["alpha_max"] == 50.0


def test_sample_weight_reaches_the_ridge():
    X, y = _series_data(n=60)
    plain = MiniRocketClassifier(variant="fast", **CPU).fit(X, y)
    ones = MiniRocketClassifier(variant="fast", **CPU).fit(X, y, sample_weight=np.ones(60))
    np.testing.assert_array_equal(plain.decision_function(X), ones.decision_function(X))
    weight = np.where(np.arange(60) < 30, 5.0, 0.2)
    weighted = MiniRocketClassifier(variant="fast", **CPU).fit(X, y, sample_weight=weight)
    assert not np.array_equal(plain.decision_function(X), weighted.decision_function(X))
    # The transform does not depend on the weights.
    np.testing.assert_array_equal(plain.minirocket_.biases, weighted.minirocket_.biases)


# ---------------------------------------------------------------------- it learns
def _shapes(n, length, rng):
    """Three classes: a bump, a box or a ramp at a random position in noise."""
    y = rng.integers(0, 3, n)
    X = rng.normal(scale=0.3, size=(n, length))
    t = np.linspace(0, 1, 16)
    patterns = [np.sin(np.pi * t), ((t > 0.25) & (t < 0.75)).astype(float), t]
    for i in range(n):
        start = rng.integers(0, length - 16)
        X[i, start : start + 16] += 1.5 * patterns[y[i]]
    return X, np.array(["bump", "box", "ramp"])[y]


def test_classifier_learns_pattern_shapes_at_random_positions():
    X, y = _shapes(600, 80, np.random.default_rng(0))
    clf = MiniRocketClassifier(random_state=0, **CPU).fit(X[:300], y[:300])
    assert clf.minirocket_.n_features == 9996
    assert np.mean(clf.predict(X[300:]) == y[300:]) >= 0.95


def test_regressor_learns_the_amplitude_of_a_bump():
    rng = np.random.default_rng(1)
    amplitude = rng.uniform(0.5, 2.0, 600)
    X = rng.normal(scale=0.2, size=(600, 80))
    for i in range(600):
        start = rng.integers(0, 64)
        X[i, start : start + 16] += amplitude[i] * np.sin(np.pi * np.linspace(0, 1, 16))
    reg = MiniRocketRegressor(random_state=0, **CPU).fit(X[:300], amplitude[:300])
    assert reg.score(X[300:], amplitude[300:]) >= 0.9


# ---------------------------------------------------------------------- determinism
def test_same_seed_same_model_other_seed_other_biases():
    X, y = _series_data(channels=3)
    a = MiniRocketClassifier(variant="fast", random_state=7, **CPU).fit(X, y)
    b = MiniRocketClassifier(variant="fast", random_state=7, **CPU).fit(X, y)
    c = MiniRocketClassifier(variant="fast", random_state=8, **CPU).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    np.testing.assert_array_equal(a.minirocket_.biases, b.minirocket_.biases)
    assert not np.array_equal(a.minirocket_.biases, c.minirocket_.biases)
    assert not np.array_equal(a.minirocket_.channel_indices, c.minirocket_.channel_indices)


def test_features_do_not_depend_on_chunking():
    import skfam.nn.minirocket as module

    X, y = _series_data(n=50, channels=2)
    est = MiniRocketRegressor(variant="fast", **CPU).fit(X, y.astype(float))
    series = X.transpose(0, 2, 1)
    whole = minirocket_features(series, est.minirocket_)
    original = module.CHUNK_BYTES
    try:
        module.CHUNK_BYTES = 1  # one series per chunk
        np.testing.assert_array_equal(minirocket_features(series, est.minirocket_), whole)
    finally:
        module.CHUNK_BYTES = original
    # A series transformed alone gives the features it gets in a batch; its prediction
    # goes through BLAS's product, whose last bit can depend on the number of rows.
    np.testing.assert_array_equal(minirocket_features(series[3:4], est.minirocket_), whole[3:4])
    np.testing.assert_allclose(est.predict(X[3:4]), est.predict(X)[3:4], rtol=1e-12)


@pytest.mark.slow
def test_thread_count_changes_nothing_at_a_realistic_size():
    # Thousands of series and the default 9996 features: the transform splits its work
    # between torch threads and the ridge's products are large enough for OpenBLAS to
    # split them (which it rounds differently for another thread count: the family runs
    # them on one thread).
    rng = np.random.default_rng(0)
    X, y = _shapes(2000, 60, rng)
    X = np.stack([X, np.cumsum(rng.normal(scale=0.1, size=X.shape), axis=1)], axis=2)
    fits = [MiniRocketClassifier(n_jobs=jobs, **CPU).fit(X, y) for jobs in (1, 2)]
    series = X[:500].transpose(0, 2, 1)
    np.testing.assert_array_equal(
        minirocket_features(series, fits[0].minirocket_),
        minirocket_features(series, fits[1].minirocket_),
    )
    np.testing.assert_array_equal(fits[0].coef_, fits[1].coef_)
    np.testing.assert_array_equal(fits[0].predict_proba(X), fits[1].predict_proba(X))
    fits[0].set_params(n_jobs=2)
    np.testing.assert_array_equal(fits[0].predict_proba(X), fits[1].predict_proba(X))


# ---------------------------------------------------------------------- model files
@pytest.mark.parametrize(
    ("cls", "classes", "channels"),
    [
        (MiniRocketClassifier, 2, 1),
        (MiniRocketClassifier, 3, 2),
        (MiniRocketRegressor, None, 3),
    ],
)
def test_model_file_round_trip_is_bit_for_bit(tmp_path, cls, classes, channels):
    X, y = _series_data(channels=channels, classes=classes or 2)
    X[::7, 3, 0] = np.nan
    target = y if classes else y + 0.5 * X[:, 5, 0]
    est = cls(variant="fast", random_state=11, **CPU).fit(X, target)
    path = tmp_path / "rocket.skfam"
    est.save_model(path)
    loaded = skfam.load_model(path)
    assert type(loaded) is cls
    for method in ("predict", "predict_proba", "decision_function"):
        if hasattr(est, method):
            np.testing.assert_array_equal(getattr(loaded, method)(X), getattr(est, method)(X))
    np.testing.assert_array_equal(loaded.minirocket_.biases, est.minirocket_.biases)
    assert loaded.alpha_ == est.alpha_


def _npy(array):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def saved_classifier(tmp_path_factory):
    X, y = _series_data(channels=3, classes=3)
    est = MiniRocketClassifier(variant="fast", random_state=2, **CPU).fit(X, y)
    path = tmp_path_factory.mktemp("rocket") / "clf.skfam"
    est.save_model(path)
    return path, est


def _stored(path, name):
    import zipfile

    with zipfile.ZipFile(path) as archive:
        return np.load(io.BytesIO(archive.read(f"arrays/{name}.npy")), allow_pickle=False)


@pytest.mark.parametrize(
    ("name", "edit", "match"),
    [
        ("biases", lambda a: a[:-1], "biases"),
        ("biases", lambda a: a.astype(np.float64), "biases"),
        (
            "biases",
            lambda a: np.where(np.arange(len(a)) == 5, np.inf, a).astype(a.dtype),
            "finite",
        ),
        ("dilations", lambda a: a[::-1].copy(), "dilations"),
        ("dilations", lambda a: (a * 100).astype(a.dtype), "dilations"),
        ("dilations", lambda a: a.astype(np.int64), "dilations"),
        ("features_per_dilation", lambda a: a + 1, "n_features"),
        ("features_per_dilation", lambda a: np.zeros_like(a), "below 1"),
        ("channels_per_combination", lambda a: np.full_like(a, 9), "outside"),
        ("channel_indices", lambda a: np.full_like(a, 3), "outside"),
        ("channel_indices", lambda a: np.zeros_like(a), "repeats"),
        ("scale", lambda a: -a, "not positive"),
        ("scale", lambda a: a[:10], "scale"),
        ("coef", lambda a: a.T.copy(), "coef"),
        ("coef", lambda a: np.full_like(a, np.nan), "finite"),
        ("intercept", lambda a: a[:1], "intercept"),
    ],
)
def test_crafted_arrays_are_refused(saved_classifier, tmp_path, name, edit, match):
    path, _ = saved_classifier
    array = _stored(path, name)
    target = tmp_path / "crafted.skfam"
    forge(path, target, replace={f"arrays/{name}.npy": _npy(edit(array))})
    with pytest.raises(skfam.ModelFileError, match=match):
        skfam.load_model(target)


def test_crafted_manifest_and_members_are_refused(saved_classifier, tmp_path):
    path, _ = saved_classifier

    def edit(change):
        def apply(manifest):
            change(manifest["fitted"])

        return apply

    cases = [
        (edit(lambda f: f["params_"].update(n_features=9996)), "n_features"),
        (edit(lambda f: f["family"].update(alpha=-1.0)), "alpha"),
        (edit(lambda f: f["family"].update(n_timesteps=10)), "steps"),
        (edit(lambda f: f["family"].update(n_channels=1)), "channel"),
    ]
    for i, (change, match) in enumerate(cases):
        target = tmp_path / f"manifest{i}.skfam"
        forge(path, target, edit_manifest=change)
        with pytest.raises(skfam.ModelFileError, match=match):
            skfam.load_model(target)
    target = tmp_path / "missing.skfam"
    forge(path, target, drop=["arrays/biases.npy"])
    with pytest.raises(skfam.ModelFileError, match="biases"):
        skfam.load_model(target)
    target = tmp_path / "blob.skfam"
    forge(path, target, replace={"blobs/extra.bin": b"x"})
    with pytest.raises(skfam.ModelFileError):
        skfam.load_model(target)


# ---------------------------------------------------------------------- input
def test_short_series_are_zero_padded_to_nine_steps():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 5, 2))
    y = (X[:, 2, 0] > 0).astype(int)
    short = MiniRocketClassifier(variant="fast", random_state=0, **CPU).fit(X, y)
    padded = np.concatenate([X, np.zeros((40, 4, 2))], axis=1)
    explicit = MiniRocketClassifier(variant="fast", random_state=0, **CPU).fit(padded, y)
    np.testing.assert_array_equal(short.decision_function(X), explicit.decision_function(padded))
    assert short.n_timesteps_in_ == 5
    assert short.minirocket_.n_timesteps == 9


def test_ragged_and_mismatched_input_is_refused():
    X, y = _series_data(n=20)
    est = MiniRocketClassifier(variant="fast", **CPU)
    ragged = [np.zeros((30, 1)), np.zeros((40, 1))] * 10
    with pytest.raises(ValueError, match="equal length"):
        est.fit(ragged, y)
    est.fit(X, y)
    with pytest.raises(ValueError, match="length 41"):
        est.predict(np.zeros((3, 41, 1)))
    with pytest.raises(ValueError, match="channel"):
        est.predict(np.zeros((3, 40, 2)))


def test_values_beyond_float32_sums_are_refused():
    X, y = _series_data(n=20)
    X[0, 0, 0] = 1e37
    with pytest.raises(ValueError, match="float32"):
        MiniRocketRegressor(variant="fast", **CPU).fit(X, y.astype(float))


def test_parameter_errors_and_feature_count():
    X, y = _series_data(n=20)
    with pytest.raises(ValueError, match="alpha_min"):
        MiniRocketClassifier(variant="fast", alpha_min=10.0, alpha_max=1.0, **CPU).fit(X, y)
    with pytest.raises(ValueError, match="n_features"):
        MiniRocketClassifier(n_features=83, **CPU).fit(X, y)
    est = MiniRocketClassifier(variant="fast", n_features=200, **CPU).fit(X, y)
    assert est.minirocket_.n_features == 168  # rounded down to a multiple of 84
    assert est.coef_.shape == (168,)
