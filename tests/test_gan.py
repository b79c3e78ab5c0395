"""The gan family: calibrated predictive draws, the adversarial step, determinism, bad input.

The common suites (check_estimator, determinism properties, model files, sample weights,
the offered methods through model files) pick the family up from the registry; this file
adds the known-answer test of issue #12 and what is the family's own: the two networks'
updates, the shared noise of ``sample``, ``predict`` / ``predict_quantiles`` from the draws.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

import skfam
from skfam.nn.gan import ConditionalGAN, energy_score

FAST = {"variant": "fast", "device": "cpu"}


def _heteroscedastic(seed: int, n: int):
    """y = 2 x0 + s(x0) * noise with s rising in x0, and two nuisance features."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(size=(n, 3))
    scale = 0.1 + 0.9 * X[:, 0]
    return X, 2 * X[:, 0] + scale * rng.normal(size=n), scale


@pytest.fixture(scope="module")
def fitted():
    X, y, _ = _heteroscedastic(0, 300)
    return skfam.ConditionalGANRegressor(**FAST, random_state=4).fit(X, y), X


# ------------------------------------------------------------------ known answer (issue #12)
@pytest.mark.slow
def test_predictive_interval_is_calibrated_and_widens_with_the_noise():
    X, y, _ = _heteroscedastic(0, 3000)
    X_test, y_test, scale = _heteroscedastic(1, 2000)
    reg = skfam.ConditionalGANRegressor(device="cpu", random_state=0).fit(X, y)
    assert reg.params_["supervised_weight"] == 0  # a pure GAN at the SST's defaults
    low, high = reg.predict_quantiles(X_test, [0.1, 0.9]).T
    coverage = np.mean((y_test >= low) & (y_test <= high))
    assert 0.70 <= coverage <= 0.90
    assert spearmanr(high - low, scale).statistic >= 0.5


# ------------------------------------------------------------------ the networks and the step
def test_energy_score_is_the_fair_crps_estimate():
    rng = np.random.default_rng(2)
    samples = torch.tensor(rng.normal(size=(5, 7)), dtype=torch.float64)
    target = torch.tensor(rng.normal(size=5), dtype=torch.float64)
    pairs = (samples[:, :, None] - samples[:, None, :]).abs().sum(dim=(1, 2))
    expected = (samples - target[:, None]).abs().mean(dim=1) - pairs / (2 * 7 * 6)
    torch.testing.assert_close(energy_score(samples, target), expected)


def test_module_holds_a_generator_and_a_discriminator():
    gan = ConditionalGAN(3, noise_dim=2, generator_sizes=[8, 4], discriminator_sizes=[5])
    assert gan.generator[0].in_features == 3 + 2
    assert gan.discriminator[0].in_features == 3 + 1
    X = torch.randn(4, 3, generator=torch.Generator().manual_seed(0))
    noise = torch.randn(6, 2, generator=torch.Generator().manual_seed(1))
    draws = gan.sample(X, noise)
    assert draws.shape == (4, 6, 1)
    # Draw j of row i is the generator at (x_i, z_j).
    torch.testing.assert_close(draws[2, 5], gan(X[2:3], noise[5:6])[0])


def test_each_network_is_updated_only_by_its_own_loss(monkeypatch):
    X, y, _ = _heteroscedastic(0, 100)
    reg = skfam.ConditionalGANRegressor(**FAST, random_state=0, max_epochs=1).fit(X, y)
    net = reg.net_
    gan = net.module_
    names = {id(p): n for n, p in gan.named_parameters()}
    steps = []
    original = net.optimizer_.step

    def recording_step(*args, **kwargs):
        before = {n: p.detach().clone() for n, p in gan.named_parameters()}
        with_grad = {names[id(p)] for p in gan.parameters() if p.grad is not None}
        out = original(*args, **kwargs)
        changed = {n for n, p in gan.named_parameters() if not torch.equal(before[n], p)}
        steps.append((with_grad, changed))
        return out

    monkeypatch.setattr(net.optimizer_, "step", recording_step)
    inputs = torch.as_tensor(reg.scaler_.transform(X[:64]), dtype=torch.float32)
    target = torch.zeros((64, 1))
    with torch.random.fork_rng():
        torch.manual_seed(0)
        step = net.train_step((inputs, (target, torch.ones(64))))
    assert torch.isfinite(step["loss"])
    generator = {n for n, _ in gan.named_parameters() if n.startswith("generator.")}
    discriminator = {n for n, _ in gan.named_parameters() if n.startswith("discriminator.")}
    assert generator and discriminator
    (d_grad, d_changed), (g_grad, g_changed) = steps
    assert d_grad == d_changed == discriminator
    assert g_grad == g_changed == generator


def test_supervised_term_is_optional_and_changes_the_fit():
    X, y, _ = _heteroscedastic(3, 200)
    pure = skfam.ConditionalGANRegressor(**FAST, random_state=1, max_epochs=5).fit(X, y)
    mixed = skfam.ConditionalGANRegressor(
        **FAST, random_state=1, max_epochs=5, supervised_weight=1.0
    ).fit(X, y)
    assert pure.params_["supervised_weight"] == 0
    assert not np.array_equal(pure.predict(X), mixed.predict(X))


# ------------------------------------------------------------------ predictions from the draws
def test_predict_and_quantiles_come_from_the_estimators_draws(fitted):
    reg, X = fitted
    n = reg.params_["n_predict_samples"]
    draws = reg.sample(X, n)
    assert draws.shape == (len(X), n) and draws.dtype == np.float64
    assert np.array_equal(reg.predict(X), draws.mean(axis=1))
    levels = [0.9, 0.25, 0.5]
    assert np.array_equal(reg.predict_quantiles(X, levels), np.quantile(draws, levels, axis=1).T)
    default = reg.predict_quantiles(X)
    assert default.shape == (len(X), len(reg.params_["quantiles"]))
    assert np.all(np.diff(default, axis=1) >= 0)
    _, y, _ = _heteroscedastic(0, 300)
    median = skfam.ConditionalGANRegressor(**FAST, random_state=4, point="median").fit(X, y)
    assert np.array_equal(median.predict(X), np.median(median.sample(X, n), axis=1))


def test_draws_vary_within_a_row_and_follow_random_state(fitted):
    reg, X = fitted
    draws = reg.sample(X[:20], 50)
    assert (draws.std(axis=1) > 0).all()
    assert np.array_equal(reg.sample(X, 30), reg.sample(X, 30))
    assert np.array_equal(reg.sample(X, 30, random_state=reg.random_state_), reg.sample(X, 30))
    seeded = reg.sample(X, 30, random_state=11)
    assert np.array_equal(seeded, reg.sample(X, 30, random_state=11))
    assert not np.array_equal(seeded, reg.sample(X, 30))


def test_a_rows_draws_ignore_its_neighbours_and_the_number_of_draws(fitted):
    reg, X = fitted
    X = np.vstack([X, X, X])  # 900 rows: two prediction passes
    everything = reg.sample(X, 70)
    for row in (0, 5, 511, 512, 899):
        assert np.array_equal(reg.sample(X[row : row + 1], 70)[0], everything[row])
    assert np.array_equal(reg.sample(X, 5), everything[:, :5])
    assert np.array_equal(reg.sample(X[::-1], 70), everything[::-1])


def test_sample_leaves_the_global_torch_rng_alone(fitted):
    reg, X = fitted
    state = torch.random.get_rng_state()
    reg.sample(X, 10, random_state=3)
    reg.predict_quantiles(X)
    assert torch.equal(state, torch.random.get_rng_state())


def test_same_seed_same_model_and_model_file_round_trip(fitted, tmp_path):
    reg, X = fitted
    X_fit, y, _ = _heteroscedastic(0, 300)
    again = skfam.ConditionalGANRegressor(**FAST, random_state=4).fit(X_fit, y)
    assert np.array_equal(again.predict(X), reg.predict(X))
    assert np.array_equal(again.sample(X, 40), reg.sample(X, 40))
    path = tmp_path / "gan.skfam"
    reg.save_model(path)
    loaded = skfam.load_model(path)
    assert np.array_equal(loaded.sample(X, 40), reg.sample(X, 40))
    assert np.array_equal(loaded.sample(X, 40, random_state=8), reg.sample(X, 40, random_state=8))
    assert np.array_equal(loaded.predict_quantiles(X), reg.predict_quantiles(X))
    assert np.array_equal(loaded.predict(X), reg.predict(X))


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [
        ("n_predict_samples", 0, "n_predict_samples"),
        ("point", "mode", "point"),
        ("quantiles", [0.5, 2.0], "quantile levels"),
    ],
)
def test_a_model_file_with_bad_prediction_settings_is_refused(fitted, tmp_path, key, value, match):
    reg, _ = fitted
    bad = copy.deepcopy(reg)
    bad.params_[key] = value
    bad.save_model(tmp_path / "bad.skfam")
    with pytest.raises(skfam.ModelFileError, match=match):
        skfam.load_model(tmp_path / "bad.skfam")


def test_early_stopping_monitors_the_crps_of_the_draws():
    X, y, _ = _heteroscedastic(2, 400)
    reg = skfam.ConditionalGANRegressor(
        **FAST, early_stopping=True, max_epochs=6, random_state=0
    ).fit(X, y)
    valid = reg.net_.history[:, "valid_loss"]
    assert len(valid) == reg.n_iter_ and np.isfinite(valid).all()
    # The CRPS of standardised targets: positive, and below that of the constant 0 draw
    # (the mean absolute standardised target, about 0.8 for a normal-ish target).
    assert 0 < min(valid) < np.mean(np.abs((y - y.mean()) / y.std()))
    assert reg.params_["lr_schedule"] == "plateau"


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("n_samples", [0, -3, 2.5, True, "5", None])
def test_bad_sample_counts_are_refused(fitted, n_samples):
    reg, X = fitted
    with pytest.raises(ValueError, match="n_samples must be an int >= 1"):
        reg.sample(X, n_samples)


@pytest.mark.parametrize(
    ("levels", "match"),
    [
        ([0.1, 1.0], r"open interval \(0, 1\)"),
        ([0.0], r"open interval \(0, 1\)"),
        ([0.5, np.nan], r"open interval \(0, 1\)"),
        ([], "non-empty 1-D"),
        ([[0.1, 0.9]], "non-empty 1-D"),
        (0.5, "non-empty 1-D"),
        (["low"], "numbers in"),
    ],
)
def test_bad_quantile_levels_are_refused(fitted, levels, match):
    reg, X = fitted
    with pytest.raises(ValueError, match=match):
        reg.predict_quantiles(X, levels)


def test_bad_parameters_and_targets_are_refused_at_fit():
    X, y, _ = _heteroscedastic(0, 100)
    with pytest.raises(ValueError, match=r"open interval \(0, 1\)"):
        skfam.ConditionalGANRegressor(**FAST, quantiles=[0.5, 1.5]).fit(X, y)
    with pytest.raises(ValueError, match="n_predict_samples"):
        skfam.ConditionalGANRegressor(**FAST, n_predict_samples=0).fit(X, y)
    with pytest.raises(ValueError, match="noise_dim"):
        skfam.ConditionalGANRegressor(**FAST, noise_dim=0).fit(X, y)
    with pytest.raises(ValueError, match="point"):
        skfam.ConditionalGANRegressor(**FAST, point="mode").fit(X, y)
    with pytest.raises(ValueError, match="generator_sizes must be positive ints"):
        skfam.ConditionalGANRegressor(**FAST, generator_sizes=[8, 0]).fit(X, y)
    reg = skfam.ConditionalGANRegressor(**FAST)
    with pytest.raises(ValueError, match="1d array"):
        reg.fit(X, np.c_[y, y])
    assert not hasattr(reg, "net_")


# ------------------------------------------------------------------ threads
def test_thread_count_does_not_change_the_model_at_the_sst_widths():
    # The fast variant's tiny shapes run every kernel on one thread whatever n_jobs says:
    # here the SST's default networks train 2 epochs on 5,000 rows.
    X, y, _ = _heteroscedastic(7, 5000)
    params = {"max_epochs": 2, "device": "cpu", "random_state": 5}
    one = skfam.ConditionalGANRegressor(n_jobs=1, **params).fit(X, y)
    two = skfam.ConditionalGANRegressor(n_jobs=2, **params).fit(X, y)
    config = skfam.load_model_config("gan")
    assert one.params_["generator_sizes"] == config["generator_sizes"]
    assert one.params_["discriminator_sizes"] == config["discriminator_sizes"]
    assert np.array_equal(one.sample(X, 100), two.sample(X, 100))
    assert np.array_equal(one.predict(X), two.predict(X))
