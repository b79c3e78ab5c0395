"""The tabular nets (tab_transformer, tab_cnn, tab_lstm): learning, categories, threads, files.

The common suites (check_estimator, the Hypothesis determinism properties, model files,
sample weights, training defaults) pick these families up from the registry; this file adds
what is theirs: that they learn (at the SST's defaults, never on pinned scores), the
FT-Transformer's categorical columns, and the same model for any thread count at the SST's
widths on thousands of rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.datasets import load_diabetes, load_digits
from sklearn.model_selection import train_test_split

import skfam
from skfam.model_file import ModelFileError, npy_bytes
from skfam.models._tabular import encode_categories, fit_categories
from skfam.nn.lstm import LSTMEncoder
from skfam.nn.tab_cnn import ChannelBatchNorm, SameConv1d, TabCNNModule
from skfam.nn.tab_transformer import FeatureTokenizer, TabTransformerModule
from skfam.nn.transformer import EncoderLayer

from ._forge import forge

REGRESSORS = [skfam.TabTransformerRegressor, skfam.TabCNNRegressor, skfam.TabLSTMRegressor]
CLASSIFIERS = [skfam.TabTransformerClassifier, skfam.TabCNNClassifier, skfam.TabLSTMClassifier]
CPU = {"device": "cpu"}
FAST = {"variant": "fast", **CPU}
SPLIT_SEED = 0


def _name(cls: type) -> str:
    return cls.__name__


def _n_parameters(estimator) -> int:
    return sum(p.numel() for p in estimator.net_.module_.parameters())


# ------------------------------------------------------------------ learning (SST defaults)
@pytest.mark.slow
@pytest.mark.parametrize("cls", CLASSIFIERS, ids=_name)
def test_classifiers_reach_95_percent_on_digits(cls):
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=SPLIT_SEED
    )
    clf = cls(**CPU).fit(X_train, y_train)
    assert clf.score(X_test, y_test) >= 0.95


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=SPLIT_SEED
    )
    mlp = skfam.MLPRegressor(**CPU).fit(X_train, y_train)
    return X_train, X_test, y_train, y_test, mlp.score(X_test, y_test)


@pytest.mark.slow
@pytest.mark.parametrize("cls", REGRESSORS, ids=_name)
def test_regressors_are_within_005_of_the_mlp_on_diabetes(cls, diabetes):
    X_train, X_test, y_train, y_test, mlp_r2 = diabetes
    reg = cls(**CPU).fit(X_train, y_train)
    assert reg.score(X_test, y_test) >= mlp_r2 - 0.05


def _mlp_of_about(n_params: int, n_in: int) -> list[int]:
    """Two hidden layers of one width h, the first h whose MLP has n_params or more."""
    width = 1
    while (n_in + 1) * width + (width + 1) * width + width + 1 < n_params:
        width += 1
    return [width, width]


@pytest.mark.slow
def test_ft_transformer_beats_an_mlp_of_the_same_size_on_a_feature_interaction():
    # y is the product of two of 22 standard normal features (20 of them noise).
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 22))
    y = X[:, 3] * X[:, 17] + 0.1 * rng.normal(size=3000)
    X_train, y_train, X_test, y_test = X[:1000], y[:1000], X[1000:], y[1000:]
    ft = skfam.TabTransformerRegressor(**CPU).fit(X_train, y_train)
    hidden = _mlp_of_about(_n_parameters(ft), X.shape[1])
    mlp = skfam.MLPRegressor(hidden_sizes=hidden, **CPU).fit(X_train, y_train)
    assert 1.0 <= _n_parameters(mlp) / _n_parameters(ft) <= 1.05
    ft_r2, mlp_r2 = ft.score(X_test, y_test), mlp.score(X_test, y_test)
    assert ft_r2 > mlp_r2
    assert ft_r2 > 0.9  # it found the interaction, not only a better constant


# ------------------------------------------------------------------ categorical columns
def _categorical_data(n: int = 400, seed: int = 0):
    """Two numeric columns and a categorical one with arbitrary float labels and NaN."""
    rng = np.random.default_rng(seed)
    labels = np.array([-7.5, 0.25, 3.0, 1e3])
    effect = np.array([2.0, -1.0, 0.5, -2.0])
    which = rng.integers(0, 4, size=n)
    X = np.column_stack([rng.normal(size=n), labels[which], rng.normal(size=n)])
    X[::9, 1] = np.nan
    y = X[:, 0] + np.where(np.isnan(X[:, 1]), 4.0, effect[which]) + 0.1 * rng.normal(size=n)
    return X, y


def test_categories_are_encoded_from_fit_and_unknown_or_missing_share_code_0():
    X, _ = _categorical_data()
    mask = np.array([False, True, False])
    categories = fit_categories(X, mask)
    np.testing.assert_array_equal(categories[0], [-7.5, 0.25, 3.0, 1e3])
    codes = encode_categories(
        np.array([[0, 3.0, 0], [0, np.nan, 0], [0, 4.0, 0]]), mask, categories
    )
    np.testing.assert_array_equal(codes[:, 0], [3, 0, 0])
    # A column all NaN in fit has no categories: everything is code 0.
    assert encode_categories(np.array([[1.0]]), np.array([True]), [np.zeros(0)]).item() == 0


def test_categorical_columns_are_not_imputed_and_learn_their_categories():
    X, y = _categorical_data()
    reg = skfam.TabTransformerRegressor(
        categorical_features=[1], variant="fast", max_epochs=60, random_state=0, **CPU
    ).fit(X, y)
    np.testing.assert_array_equal(reg.is_categorical_, [False, True, False])
    assert reg.imputer_.statistics_[1] == 0.0
    assert np.isnan(reg.imputer_.transform(X[:1])).any()  # row 0 holds a NaN label
    # The labels' effects are not monotone in their values; NaN is a category of its own.
    assert reg.score(X, y) > 0.9


def test_an_unseen_category_predicts_like_a_missing_one():
    X, y = _categorical_data()
    reg = skfam.TabTransformerClassifier(categorical_features=[1], **FAST, max_epochs=5).fit(
        X, y > 0
    )
    unseen, missing = X[:20].copy(), X[:20].copy()
    unseen[:, 1], missing[:, 1] = 42.0, np.nan
    np.testing.assert_array_equal(reg.predict_proba(unseen), reg.predict_proba(missing))


def test_categorical_features_by_index_name_or_mask_give_the_same_model():
    X, y = _categorical_data(n=120)
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    params = {**FAST, "max_epochs": 3, "random_state": 1}
    ways = [([1], X), (["b"], frame), ([False, True, False], X), ((1,), frame)]
    outputs = [
        skfam.TabTransformerRegressor(categorical_features=spec, **params)
        .fit(data, y)
        .predict(data)
        for spec, data in ways
    ]
    for out in outputs[1:]:
        np.testing.assert_array_equal(out, outputs[0])
    numeric = skfam.TabTransformerRegressor(**params).fit(X, y)
    assert not numeric.is_categorical_.any() and numeric.categories_ == []


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ([3], r"indices \[3\] are not columns of X, which has 3 feature"),
        ([-1], r"indices \[-1\] are not columns"),
        ([1, 1], "names a column twice"),
        ([True, False], "one entry per feature \\(3\\), got 2"),
        ([1, "b"], "only column indices"),
        ([1.0], "only column indices"),
        ([np.True_, False, False], "only column indices"),
        (["b"], "X has no column names"),
    ],
)
def test_bad_categorical_features_are_refused_clearly(spec, message):
    X, y = _categorical_data(n=40)
    with pytest.raises(ValueError, match=message):
        skfam.TabTransformerRegressor(categorical_features=spec, **FAST).fit(X, y)


def test_categorical_features_must_be_a_list_or_tuple():
    X, y = _categorical_data(n=40)
    with pytest.raises(ValueError, match="categorical_features.*must be an instance of"):
        skfam.TabTransformerRegressor(categorical_features=np.array([1]), **FAST).fit(X, y)
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    with pytest.raises(ValueError, match=r"\['z'\] are not columns of X"):
        skfam.TabTransformerRegressor(categorical_features=["z"], **FAST).fit(frame, y)


def test_a_table_of_categorical_columns_only_fits_and_round_trips(tmp_path):
    rng = np.random.default_rng(2)
    X = rng.integers(0, 5, size=(150, 2)).astype(float)
    y = np.where(X[:, 0] == X[:, 1], "same", "other")
    clf = skfam.TabTransformerClassifier(categorical_features=[0, 1], **FAST).fit(X, y)
    assert clf.scaler_ is None
    clf.save_model(tmp_path / "m.skfam")
    loaded = skfam.load_model(tmp_path / "m.skfam")
    assert loaded.scaler_ is None
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


@pytest.fixture(scope="module")
def saved_categorical(tmp_path_factory):
    X, y = _categorical_data(n=150)
    reg = skfam.TabTransformerRegressor(
        categorical_features=[1], **FAST, max_epochs=3, random_state=4
    ).fit(X, y)
    path = tmp_path_factory.mktemp("m") / "cat.skfam"
    reg.save_model(path)
    return reg, path, X


def test_model_file_keeps_the_categories_and_the_imputer(saved_categorical):
    reg, path, X = saved_categorical
    loaded = skfam.load_model(path)
    np.testing.assert_array_equal(loaded.is_categorical_, reg.is_categorical_)
    np.testing.assert_array_equal(loaded.categories_[0], reg.categories_[0])
    probe = X[:30].copy()
    probe[::3, 1] = 42.0  # unseen categories
    probe[1::3, 0] = np.nan  # a numeric NaN: imputed with the training median
    np.testing.assert_array_equal(loaded.imputer_.transform(probe), reg.imputer_.transform(probe))
    np.testing.assert_array_equal(loaded.predict(probe), reg.predict(probe))


def _ints(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.int64)


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ({"categories.values": np.array([3.0, 0.25, -7.5, 1e3])}, "sorted distinct"),
        ({"categories.values": np.array([-7.5, 0.25, np.inf, 1e3])}, "sorted distinct"),
        ({"categories.counts": _ints(3)}, "do not split"),
        ({"categories.counts": _ints(4, 0)}, "has 2 entries, not 1"),
        ({"is_categorical": np.array([True, True, False])}, "has 1 entries, not 2"),
        (
            {"categories.values": np.array([-7.5, 0.25, 3.0]), "categories.counts": _ints(3)},
            r"cardinalities=\[5\] \(the data says \[4\]\)",
        ),
    ],
)
def test_crafted_categories_are_refused(saved_categorical, tmp_path, members, message):
    _, path, _ = saved_categorical
    forged = tmp_path / "forged.skfam"
    forge(path, forged, replace={f"arrays/{k}.npy": npy_bytes(v) for k, v in members.items()})
    with pytest.raises(ModelFileError, match=message):
        skfam.load_model(forged)


# ------------------------------------------------------------------ modules
def test_tokenizer_reserves_a_zero_embedding_for_missing_or_unknown():
    tokenizer = FeatureTokenizer(2, 4, cardinalities=[3, 5])
    for embedding in tokenizer.embeddings:
        assert not embedding.weight[0].any() and embedding.weight[1:].abs().sum() > 0
    X = torch.tensor([[1.0, 2.0, 0.0, 4.0]])
    tokens = tokenizer(X)
    assert tokens.shape == (1, 4, 4)
    torch.testing.assert_close(tokens[0, 2], tokenizer.bias[2])  # code 0: the bias alone
    torch.testing.assert_close(tokens[0, 1], 2.0 * tokenizer.weight[1] + tokenizer.bias[1])
    with pytest.raises(ValueError, match="at least one feature"):
        FeatureTokenizer(0, 4)


def test_a_layer_computing_its_first_position_alone_matches_the_full_layer():
    generator = torch.Generator().manual_seed(0)
    layer = EncoderLayer(16, 4, 32).eval()
    X = torch.randn(8, 10, 16, generator=generator)
    torch.testing.assert_close(layer(X, queries=1), layer(X)[:, :1])
    torch.testing.assert_close(layer(X, queries=3), layer(X)[:, :3])


@pytest.mark.parametrize("kernel_size", [1, 3, 4, 5])
def test_same_conv_is_a_zero_padded_convolution(kernel_size):
    generator = torch.Generator().manual_seed(kernel_size)
    conv = SameConv1d(3, 5, kernel_size)
    X = torch.randn(4, 9, 3, generator=generator)
    left = (kernel_size - 1) // 2
    weight = conv.linear.weight.reshape(5, 3, kernel_size)  # (out, in, k), as unfold orders
    padded = torch.nn.functional.pad(X.transpose(1, 2), (left, kernel_size - 1 - left))
    expected = torch.nn.functional.conv1d(padded, weight, conv.linear.bias).transpose(1, 2)
    torch.testing.assert_close(conv(X), expected)


def test_channel_batch_norm_is_batch_norm_over_batch_and_steps():
    generator = torch.Generator().manual_seed(1)
    X = torch.randn(6, 8, 3, generator=generator)
    ours, torchs = ChannelBatchNorm(3), torch.nn.BatchNorm1d(3)
    torch.testing.assert_close(ours(X), torchs(X.transpose(1, 2)).transpose(1, 2))
    torch.testing.assert_close(ours.running_var, torchs.running_var)


def test_module_arguments_are_checked():
    with pytest.raises(ValueError, match="multiple of 4"):
        TabCNNModule(3, 1, signal_length=6)
    with pytest.raises(ValueError, match="multiple of n_heads"):
        TabTransformerModule(3, 1, d_token=10, n_heads=4)
    X, y = _categorical_data(n=60)
    with pytest.raises(ValueError, match="multiple of 4"):
        skfam.TabCNNRegressor(**FAST, signal_length=10).fit(X[:, [0, 2]], y)
    with pytest.raises(ValueError, match="multiple of n_heads"):
        skfam.TabTransformerRegressor(**FAST, d_token=6, n_heads=4).fit(X[:, [0, 2]], y)


def test_tab_cnn_says_why_one_training_row_is_not_enough():
    X = np.arange(6.0).reshape(2, 3)
    with pytest.raises(ValueError, match="batch normalisation, which needs 2 or more"):
        skfam.TabCNNRegressor(**FAST, early_stopping=True).fit(X, [1.0, 2.0])


def test_tab_lstm_runs_the_lstm_with_the_kernels_asked_for(monkeypatch):
    seen = []
    forward = LSTMEncoder.forward

    def spy(self, X):
        seen.append(torch.backends.mkldnn.enabled)
        return forward(self, X)

    monkeypatch.setattr(LSTMEncoder, "forward", spy)
    X, y = _categorical_data(n=80)
    X = X[:, [0, 2]]
    for choice, expected in (("portable", False), ("onednn", True)):
        seen.clear()
        reg = skfam.TabLSTMRegressor(**FAST, max_epochs=2, cpu_kernels=choice).fit(X, y)
        reg.predict(X)
        assert seen and set(seen) == {expected}
    assert skfam.TabLSTMRegressor(**FAST, max_epochs=2).fit(X, y).params_["cpu_kernels"] == (
        "portable"
    )


# ------------------------------------------------------------------ threads, at SST widths
def _wide_data(classes: bool):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 40))
    X[:, 5] = rng.integers(0, 12, size=3000)  # a categorical column for the transformer
    X[rng.random(X.shape) < 0.02] = np.nan
    y = np.nan_to_num(X[:, 0]) + np.nan_to_num(X[:, 2] * X[:, 3]) + rng.normal(size=3000)
    return X, (np.where(y > np.median(y), "up", "down") if classes else y)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("cls", "params"),
    [
        (skfam.TabTransformerRegressor, {"categorical_features": [5]}),
        (skfam.TabTransformerClassifier, {}),
        (skfam.TabCNNRegressor, {}),
        (skfam.TabCNNClassifier, {}),
        (skfam.TabLSTMRegressor, {"cpu_kernels": "portable"}),
        (skfam.TabLSTMClassifier, {"bidirectional": False, "num_layers": 2}),
    ],
    ids=lambda v: v.__name__ if isinstance(v, type) else ",".join(v) or "sst",
)
def test_training_is_the_same_for_any_thread_count_at_sst_widths(cls, params):
    # The SST's widths (not the tiny "fast" variant) on 3,000 rows of 40 features with
    # dropout on: big enough for torch to split matrix products, reductions and the
    # embedding and batch-norm backward between threads.
    X, y = _wide_data("Classifier" in cls.__name__)
    common = {**params, **CPU, "dropout": 0.2, "max_epochs": 2}
    one = cls(**common, n_jobs=1).fit(X, y)
    two = cls(**common, n_jobs=2).fit(X, y)
    out = "predict_proba" if hasattr(one, "predict_proba") else "predict"
    rows = X[:1024]
    np.testing.assert_array_equal(getattr(one, out)(rows), getattr(two, out)(rows))
    one.set_params(n_jobs=2)
    np.testing.assert_array_equal(getattr(one, out)(rows), getattr(two, out)(rows))


def test_a_row_alone_predicts_like_inside_a_batch():
    X, y = _categorical_data(n=200)
    reg = skfam.TabTransformerRegressor(categorical_features=[1], **FAST, max_epochs=3).fit(X, y)
    together = reg.predict(X[:40])
    alone = np.array([reg.predict(X[i : i + 1])[0] for i in range(40)])
    np.testing.assert_array_equal(alone, together)


@pytest.mark.parametrize("cls", REGRESSORS + CLASSIFIERS, ids=_name)
def test_fit_predict_and_defaults(cls):
    X, y = _categorical_data(n=90)
    target = y if "Regressor" in cls.__name__ else np.where(y > 0, "up", "down")
    est = cls(**FAST).fit(X, target)
    assert est.predict(X).shape == (90,)
    assert est.n_features_in_ == 3
    assert skfam.load_model_config(est._family)["early_stopping"] is True
    assert est.params_["early_stopping"] == "auto"  # the fast variant's
