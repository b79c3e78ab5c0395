"""Crafted model files of the torch families: refused with ModelFileError, nothing built.

Each file is edited as an attacker would: the manifest or a member changed, and every
integrity field the format has (member checksums and sizes, the manifest's checksum)
recomputed, so only the checks of the content itself can refuse it.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

import skfam
from skfam.model_file import ModelFileError

from ._forge import forge

FAST = {"variant": "fast", "device": "cpu", "max_epochs": 2}


def _windows(n: int = 80, length: int = 6, channels: int = 2):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, length, channels))
    return X, X[:, -1, 0] + rng.normal(scale=0.1, size=n)


@pytest.fixture(scope="module")
def lstm_file(tmp_path_factory):
    X, y = _windows()
    path = tmp_path_factory.mktemp("torch") / "lstm.skfam"
    skfam.LSTMRegressor(**FAST).fit(X, y).save_model(path)
    return path


def _family(manifest: dict) -> dict:
    return manifest["fitted"]["family"]


@pytest.fixture
def no_real_build(monkeypatch):
    """Make building an LSTM module anywhere but on the "meta" device (no memory) fail."""
    init = skfam.nn.LSTMModule.__init__

    def spy(self, *args, **kwargs):
        if torch.get_default_device().type != "meta":
            raise AssertionError("a module of a crafted file was built for real")
        init(self, *args, **kwargs)

    monkeypatch.setattr(skfam.nn.LSTMModule, "__init__", spy)


def test_the_crafting_itself_keeps_a_file_loadable(lstm_file, tmp_path):
    forge(lstm_file, tmp_path / "same.skfam")
    X, _ = _windows()
    loaded, original = skfam.load_model(tmp_path / "same.skfam"), skfam.load_model(lstm_file)
    np.testing.assert_array_equal(loaded.predict(X), original.predict(X))


def test_other_layer_sizes_are_refused_naming_the_difference(lstm_file, tmp_path, no_real_build):
    def edit(manifest):
        _family(manifest)["module_kwargs"]["hidden_size"] = 16  # the weights have 8

    forge(lstm_file, tmp_path / "wider.skfam", edit_manifest=edit)
    with pytest.raises(
        ModelFileError, match=r"do not fit a LSTMModule.*weight_ih_l0 is \(32, 2\)"
    ):
        skfam.load_model(tmp_path / "wider.skfam")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("hidden_size", 10**9, "hidden_size = 1000000000 does not fit weights of"),
        ("num_layers", 10**6, "num_layers = 1000000 does not fit"),
        ("dropout", 7.5, r"dropout = 7.5 is not a rate"),
        ("n_in", 3, r"n_in=3 \(the data says 2\)"),
        ("bidirectional", None, "bidirectional = None is not a valid module argument"),
        ("forget_bias", 1e300, r"forget_bias = 1e\+300 is not None or a float in \[-10, 10\]"),
        ("forget_bias", "1", "forget_bias = '1' is not None or a float"),
        ("readout", "mean", r"module_kwargs .* do not build"),
    ],
)
def test_absurd_module_arguments_are_refused_before_building(
    lstm_file, tmp_path, no_real_build, key, value, message
):
    def edit(manifest):
        _family(manifest)["module_kwargs"][key] = value

    forge(lstm_file, tmp_path / "absurd.skfam", edit_manifest=edit)
    with pytest.raises(ModelFileError, match=message):
        skfam.load_model(tmp_path / "absurd.skfam")


def test_garbage_safetensors_are_refused(lstm_file, tmp_path, no_real_build):
    garbage = b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}" * 3
    forge(lstm_file, tmp_path / "garbage.skfam", replace={"blobs/module.safetensors": garbage})
    with pytest.raises(ModelFileError, match="'module.safetensors' is not valid safetensors"):
        skfam.load_model(tmp_path / "garbage.skfam")


def test_weights_of_another_dtype_are_refused(lstm_file, tmp_path, no_real_build):
    from safetensors.torch import load, save

    def edit(data):
        return save({k: v.double() for k, v in load(data).items()})

    forge(lstm_file, tmp_path / "double.skfam", replace={"blobs/module.safetensors": edit})
    with pytest.raises(ModelFileError, match=r"torch.float64, not \(32, 2\) torch.float32"):
        skfam.load_model(tmp_path / "double.skfam")


def _npz(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (_npz(mean=np.zeros(3), scale=np.ones(3)), r"float64 of shape \(3,\), not .*\(2,\)"),
        (_npz(mean=np.zeros(2), scale=np.array([1.0, np.nan])), "'scale' is not finite"),
        (_npz(mean=np.zeros(2), scale=np.array([1.0, 0.0])), "scales that are not positive"),
        (_npz(mean=np.zeros(2)), r"holds \['mean'\], not \['mean', 'scale'\]"),
        (b"PK\x03\x04 not an archive", "not a valid archive|cannot be read safely"),
    ],
)
def test_channel_scaling_of_the_wrong_shape_or_value_is_refused(
    lstm_file, tmp_path, blob, message
):
    forge(lstm_file, tmp_path / "scaling.skfam", replace={"blobs/channel_scaling.npz": blob})
    with pytest.raises(ModelFileError, match=message):
        skfam.load_model(tmp_path / "scaling.skfam")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("device", "mps", "device = 'mps' is not"),
        ("device", 5, "device = 5 is not"),
        ("target_scale", -1.0, "not a finite mean and a positive scale"),
        ("target_mean", float("nan"), "not a finite mean and a positive scale"),
        ("n_iter", -2, "n_iter = -2 is not a valid value"),
        ("n_channels", 3, "6 steps of 3 channels are not the 12 features"),
    ],
)
def test_invalid_fitted_scalars_are_refused(lstm_file, tmp_path, field, value, message):
    def edit(manifest):
        _family(manifest)[field] = value

    forge(lstm_file, tmp_path / "scalar.skfam", edit_manifest=edit)
    with pytest.raises(ModelFileError, match=message):
        skfam.load_model(tmp_path / "scalar.skfam")


def test_a_huge_sequence_length_is_refused_before_its_tables_are_built(tmp_path):
    # The sinusoidal positions of a transformer are not stored: a file claiming windows of
    # 10**8 steps would make the loader build a table of 10**8 x d_model values.
    X, y = _windows()
    path = tmp_path / "transformer.skfam"
    skfam.TransformerRegressor(**FAST).fit(X, y).save_model(path)
    steps = 10**8

    def edit(manifest):
        manifest["fitted"]["n_features_in_"] = steps * 2
        _family(manifest).update(n_timesteps=steps)
        _family(manifest)["module_kwargs"]["seq_len"] = steps

    forge(path, tmp_path / "long.skfam", edit_manifest=edit)
    with pytest.raises(ModelFileError, match="tables of 800000000 values"):
        skfam.load_model(tmp_path / "long.skfam")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda kw, fam: kw.update(n_features=4), r"n_features=4 \(the data says 3\)"),
        (lambda kw, fam: kw.update(encoder="gru"), "do not build a HybridModule"),
        (
            lambda kw, fam: kw["encoder_kwargs"].update(hidden_size=10**12),
            "hidden_size = 1000000000000 does not fit",
        ),
        (lambda kw, fam: fam.update(sequence_shape=[6, 3]), "are not the 15 features"),
        (
            lambda kw, fam: fam.update(sequence_shape=[4, 3], n_tabular_features=3),
            r"params_ \(\(6, 2\)\) is not the fitted one \(4, 3\)",
        ),
    ],
)
def test_hybrid_files_are_checked_too(tmp_path, edit, message):
    rng = np.random.default_rng(0)
    X = skfam.make_hybrid(rng.normal(size=(80, 3)), rng.normal(size=(80, 6, 2)))
    path = tmp_path / "hybrid.skfam"
    skfam.HybridRegressor(sequence_shape=(6, 2), **FAST).fit(X, X[:, 0]).save_model(path)

    def change(manifest):
        family = _family(manifest)
        edit(family["module_kwargs"], family)

    forge(path, tmp_path / "crafted.skfam", edit_manifest=change)
    with pytest.raises(ModelFileError, match=message):
        skfam.load_model(tmp_path / "crafted.skfam")


def test_mlp_files_check_their_scaler_and_layers(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 4))
    path = tmp_path / "mlp.skfam"
    skfam.MLPRegressor(**FAST).fit(X, X[:, 0]).save_model(path)

    def edit(manifest):
        _family(manifest)["module_kwargs"]["hidden_sizes"] = [33]

    forge(path, tmp_path / "mlp2.skfam", edit_manifest=edit)
    with pytest.raises(ModelFileError, match=r"do not fit a MLPModule.*is \(32, 4\)"):
        skfam.load_model(tmp_path / "mlp2.skfam")


def test_lstm_files_keep_a_forget_bias_of_one_and_of_none(tmp_path):
    X, y = _windows()
    for value in (1.0, "torch"):
        est = skfam.LSTMRegressor(**FAST, forget_bias=value).fit(X, y)
        est.save_model(tmp_path / "lstm.skfam")
        loaded = skfam.load_model(tmp_path / "lstm.skfam")
        assert np.array_equal(loaded.predict(X), est.predict(X))
