"""The vae family: the supervised VAE's loss, latent transform, decoder and bad input.

The common suites (check_estimator with its transformer checks, determinism properties,
model files, sample weights, the offered ``transform``) pick the family up from the
registry; this file adds the known-answer test of issue #12 and what is the family's own:
the loss and its KL warm-up, the latent means as Pipeline features, ``inverse_transform``,
model files of the transform and thread counts at the SST's widths.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skfam
from skfam.models.vae import VAENet
from skfam.nn.vae import VAEModule

FAST = {"variant": "fast", "device": "cpu"}


def _factors(seed: int, n: int = 300, n_features: int = 8, noise: float = 0.3):
    """Rows of ``n_features`` features made from 3 latent factors plus noise, and a target."""
    rng = np.random.default_rng(seed)
    factors = rng.normal(size=(n, 3))
    loading = rng.normal(size=(3, n_features))
    X = factors @ loading + noise * rng.normal(size=(n, n_features))
    y = np.tanh(factors[:, 0]) + 0.5 * factors[:, 1] * factors[:, 2] + factors[:, 2]
    return X, y + 0.1 * rng.normal(size=n)


# ------------------------------------------------------------------ known answer (issue #12)
@pytest.mark.slow
def test_reconstruction_near_pca_and_prediction_near_mlp():
    X, y = _factors(0, n=2000, n_features=20, noise=0.5)
    X_train, y_train, X_test, y_test = X[:1500], y[:1500], X[1500:], y[1500:]
    scaler = StandardScaler().fit(X_train)
    test = scaler.transform(X_test)
    pca = PCA(3).fit(scaler.transform(X_train))
    pca_error = np.mean((pca.inverse_transform(pca.transform(test)) - test) ** 2)

    vae = skfam.VAERegressor(latent_dim=3, device="cpu", random_state=0).fit(X_train, y_train)
    decoded = scaler.transform(vae.inverse_transform(vae.transform(X_test)))
    vae_error = np.mean((decoded - test) ** 2)
    assert vae_error <= 1.25 * pca_error

    mlp = skfam.MLPRegressor(device="cpu", random_state=0).fit(X_train, y_train)
    mse_mlp = np.mean((mlp.predict(X_test) - y_test) ** 2)
    mse_vae = np.mean((vae.predict(X_test) - y_test) ** 2)
    assert mse_vae <= 1.10 * mse_mlp


# ------------------------------------------------------------------ the module and its loss
def test_module_samples_only_in_training_mode():
    module = VAEModule(5, 1, 3, [8], [8], [4])
    X = torch.randn(6, 5, generator=torch.Generator().manual_seed(0))
    module.eval()
    y_hat, x_hat, mu, logvar = module(X)
    assert (y_hat.shape, x_hat.shape, mu.shape, logvar.shape) == ((6, 1), (6, 5), (6, 3), (6, 3))
    assert torch.equal(y_hat, module.predict_target(X))
    assert torch.equal(x_hat, module.decode(mu))
    module.train()
    state = torch.random.get_rng_state()
    with torch.random.fork_rng():
        noisy = module(X)[0]
    assert torch.equal(torch.random.get_rng_state(), state)
    assert not torch.equal(noisy, y_hat)


def test_module_without_hidden_layers_is_linear_throughout():
    module = VAEModule(4, 2, 3, [], [], [])
    assert [type(m) for m in module.decoder] == [torch.nn.Linear]
    assert module.mean.in_features == 4 and module.head[0].in_features == 3


def _net(beta: float, warmup: int, unit: bool) -> VAENet:
    net = VAENet(
        module=VAEModule,
        module__n_in=4,
        module__n_out=1,
        module__latent_dim=2,
        module__encoder_sizes=[6],
        module__decoder_sizes=[6],
        criterion=torch.nn.MSELoss,
        criterion__reduction="none",
        beta=beta,
        reconstruction_weight=0.5,
        target_weight=2.0,
        kl_warmup_epochs=warmup,
    )
    net.initialize()
    net.unit_weights = unit
    return net


@pytest.mark.parametrize("unit", [True, False])
def test_loss_is_the_weighted_mean_of_each_rows_terms(unit):
    gen = torch.Generator().manual_seed(3)
    X = torch.randn(5, 4, generator=gen)
    target = torch.randn(5, 1, generator=gen)
    weight = torch.ones(5) if unit else torch.tensor([1.0, 0.0, 2.0, 0.5, 3.0])
    y_hat, x_hat = torch.randn(5, 1, generator=gen), torch.randn(5, 4, generator=gen)
    mu, logvar = torch.randn(5, 2, generator=gen), torch.randn(5, 2, generator=gen)
    net = _net(beta=0.3, warmup=0, unit=unit)
    loss = net.get_loss((y_hat, x_hat, mu, logvar), (target, weight), X=X, training=True)
    rows = []
    for i in range(5):
        kl = sum(
            0.5 * (mu[i, k] ** 2 + torch.exp(logvar[i, k]) - 1 - logvar[i, k]) for k in range(2)
        )
        rows.append(
            2.0 * (y_hat[i, 0] - target[i, 0]) ** 2
            + 0.5 * ((x_hat[i] - X[i]) ** 2).mean()
            + 0.3 * kl
        )
    expected = (torch.stack(rows) * weight).sum() / weight.sum()
    torch.testing.assert_close(loss, expected)


def test_kl_warmup_ramps_the_training_loss_only():
    net = _net(beta=0.8, warmup=4, unit=True)
    for epoch in range(1, 7):
        net.history.new_epoch()
        assert net._kl_weight(training=True) == pytest.approx(0.8 * min(1.0, epoch / 4))
        assert net._kl_weight(training=False) == 0.8


def test_early_stopping_runs_on_the_validation_loss():
    X, y = _factors(9, n=400)
    params = {"early_stopping": True, "max_epochs": 300, "kl_warmup_epochs": 5}
    vae = skfam.VAERegressor(**FAST, **params, random_state=0).fit(X, y)
    valid = vae.net_.history[:, "valid_loss"]
    assert vae.n_iter_ < 300 and np.isfinite(valid).all()
    best = dict(vae.net_.callbacks_)["early_stopping"].best_epoch_
    assert best < vae.n_iter_
    # Without the target term the validation loss still measures the reconstruction and KL.
    no_target = skfam.VAERegressor(**FAST, **params, target_weight=0.0, random_state=0)
    assert min(no_target.fit(X, y).net_.history[:, "valid_loss"]) > 0


# ------------------------------------------------------------------ predict and transform
def test_predict_and_transform_draw_nothing_and_leave_the_global_rng_alone():
    X, y = _factors(1)
    state = torch.random.get_rng_state()
    vae = skfam.VAERegressor(**FAST, latent_dim=3, random_state=0).fit(X, y)
    first = vae.predict(X), vae.transform(X)
    second = vae.predict(X), vae.transform(X)
    assert torch.equal(torch.random.get_rng_state(), state)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    # predict is the head on the latent mean that transform returns.
    module = vae.net_.module_
    head = module.head(torch.tensor(first[1], dtype=torch.float32)).detach().numpy()[:, 0]
    np.testing.assert_allclose(
        first[0], head * vae.target_scale_ + vae.target_mean_, rtol=1e-5, atol=1e-5
    )
    assert vae.score(X, y) > 0.8


def test_transform_gives_latent_means_named_by_class_prefix():
    X, y = _factors(2)
    vae = skfam.VAERegressor(**FAST, latent_dim=3, random_state=0)
    with pytest.raises(NotFittedError):
        vae.get_feature_names_out()
    Z = vae.fit(X, y).transform(X)
    assert Z.shape == (len(X), 3) and Z.dtype == np.float64
    assert vae.get_feature_names_out().tolist() == [f"vaeregressor{i}" for i in range(3)]
    np.testing.assert_array_equal(vae.fit_transform(X, y), Z)
    # A row's latent does not depend on the rows sent with it.
    np.testing.assert_array_equal(vae.transform(X[7:8]), Z[7:8])


def test_latent_features_feed_a_pipeline_as_a_pandas_step():
    X, y = _factors(3)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    pipe = make_pipeline(skfam.VAERegressor(**FAST, latent_dim=3, random_state=0), Ridge())
    pipe.set_output(transform="pandas").fit(frame, y)
    features = pipe[:-1].transform(frame)
    assert isinstance(features, pd.DataFrame)
    assert features.columns.tolist() == ["vaeregressor0", "vaeregressor1", "vaeregressor2"]
    assert pipe[-1].feature_names_in_.tolist() == features.columns.tolist()
    np.testing.assert_array_equal(pipe.predict(frame), pipe[-1].predict(features))
    assert pipe.score(frame, y) > 0.5


def test_inverse_transform_decodes_to_the_original_scale():
    X, y = _factors(4, noise=0.05)
    X = X * np.arange(1, X.shape[1] + 1) + 100.0  # far from standardised
    params = {"latent_dim": 3, "beta": 1e-3, "max_epochs": 80, "random_state": 0}
    vae = skfam.VAERegressor(**FAST, **params).fit(X, y)
    decoded = vae.inverse_transform(vae.transform(X))
    assert decoded.shape == X.shape
    # Three factors explain these rows: the reconstruction keeps most of each column.
    explained = 1 - np.mean((decoded - X) ** 2, axis=0) / np.var(X, axis=0)
    assert explained.min() > 0.8
    assert vae.inverse_transform(np.empty((0, 3))).shape == (0, X.shape[1])
    with pytest.raises(ValueError, match="latents of 3 columns"):
        vae.inverse_transform(np.zeros((2, 4)))


def test_model_file_keeps_transform_and_inverse_bit_for_bit(tmp_path):
    X, y = _factors(5)
    X[::9, 2] = np.nan
    vae = skfam.VAERegressor(**FAST, latent_dim=2, dropout=0.2, random_state=4).fit(X, y)
    path = tmp_path / "vae.skfam"
    vae.save_model(path)
    loaded = skfam.load_model(path)
    Z = vae.transform(X)
    np.testing.assert_array_equal(loaded.transform(X), Z)
    np.testing.assert_array_equal(loaded.predict(X), vae.predict(X))
    np.testing.assert_array_equal(loaded.inverse_transform(Z), vae.inverse_transform(Z))
    assert loaded.get_feature_names_out().tolist() == ["vaeregressor0", "vaeregressor1"]


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"latent_dim": 0}, "'latent_dim' parameter"),
        ({"latent_dim": -2}, "'latent_dim' parameter"),
        ({"beta": -1.0}, "'beta' parameter"),
        ({"decoder_sizes": "reverse"}, "'decoder_sizes' parameter"),
        ({"encoder_sizes": [8, 0]}, r"encoder_sizes must be positive ints"),
        ({"reconstruction_weight": 0.0, "target_weight": 0.0}, "both 0"),
    ],
    ids=["latent-0", "latent-negative", "beta", "decoder", "encoder", "weights"],
)
def test_bad_parameters_are_refused(params, match):
    X, y = _factors(6, n=60)
    vae = skfam.VAERegressor(**FAST, **params)
    with pytest.raises(ValueError, match=match):
        vae.fit(X, y)
    assert not hasattr(vae, "net_")


def test_two_dimensional_y_is_refused():
    X, y = _factors(7, n=60)
    with pytest.raises(ValueError, match="1d array"):
        skfam.VAERegressor(**FAST).fit(X, np.c_[y, y])


def test_thread_count_does_not_change_the_model_at_the_sst_widths():
    # The SST's default encoder, decoder and head train 2 epochs on 5,000 rows with dropout
    # and the KL warm-up on, so the matrix products are big enough to be split.
    X, y = _factors(8, n=5000, n_features=20)
    params = {"max_epochs": 2, "dropout": 0.2, "device": "cpu", "random_state": 5}
    one = skfam.VAERegressor(n_jobs=1, **params).fit(X, y)
    two = skfam.VAERegressor(n_jobs=2, **params).fit(X, y)
    sst = skfam.load_model_config("vae")
    assert one.params_["encoder_sizes"] == sst["encoder_sizes"]
    assert one.params_["kl_warmup_epochs"] > 0
    expected = one.predict(X), one.transform(X), one.inverse_transform(one.transform(X))
    for model in (two, one.set_params(n_jobs=2)):  # trained, or predicting, at 2 threads
        np.testing.assert_array_equal(model.predict(X), expected[0])
        np.testing.assert_array_equal(model.transform(X), expected[1])
        np.testing.assert_array_equal(model.inverse_transform(expected[1]), expected[2])
