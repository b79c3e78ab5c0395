"""The SST: loading, precedence, variants, errors, global settings and overrides."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

import skfam
from skfam import ConfigError, LightGBMRegressor, load_model_config
from skfam._threads import resolve_n_jobs


def _write(folder: Path, relpath: str, text: str) -> None:
    path = folder / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))


def _xy(n=120):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 4))
    return X, X[:, 0] + rng.normal(scale=0.1, size=n)


def test_load_model_config_returns_a_fresh_dict_each_call():
    first = load_model_config("mlp")
    first["hidden_sizes"].append(999)
    first["dropout"] = -1
    second = load_model_config("mlp")
    assert second["hidden_sizes"] == [256, 128, 64]
    assert second["dropout"] == 0.1


def test_variant_is_deep_merged_over_family_defaults():
    base = load_model_config("lightgbm")
    fast = load_model_config("lightgbm", "fast")
    assert base["n_estimators"] == 2000 and fast["n_estimators"] == 20
    # Keys the variant does not name keep the family value.
    assert fast["reg_lambda"] == base["reg_lambda"] == 1.0
    # The defaults.yaml layer supplies what neither names.
    assert fast["validation_fraction"] == 0.2


def test_precedence_explicit_over_variant_over_family_over_defaults(tmp_path):
    _write(tmp_path, "defaults.yaml", "validation:\n  fraction: 0.3\n")
    _write(
        tmp_path,
        "models/lightgbm.yaml",
        """\
        hyperparameters:
          n_estimators: 7
          learning_rate: 0.3
        variants:
          fast:
            learning_rate: 0.25
    """,
    )
    X, y = _xy()
    with skfam.config_context(config_dir=tmp_path):
        family = LightGBMRegressor().fit(X, y).params_
        variant = LightGBMRegressor(variant="fast").fit(X, y).params_
        explicit = LightGBMRegressor(variant="fast", learning_rate=0.5).fit(X, y).params_
    assert family["validation_fraction"] == 0.3  # defaults.yaml (user override)
    assert family["n_estimators"] == 7 and family["learning_rate"] == 0.3  # family YAML
    assert variant["learning_rate"] == 0.25  # variant over family
    assert variant["n_estimators"] == 20  # shipped fast variant still applies
    assert explicit["learning_rate"] == 0.5  # explicit over everything
    # Outside the context the shipped values are back.
    assert load_model_config("lightgbm")["n_estimators"] == 2000


def test_params_are_what_the_model_really_used():
    X, y = _xy()
    reg = LightGBMRegressor(variant="fast", num_leaves=5).fit(X, y)
    assert reg.params_["num_leaves"] == 5
    assert reg.booster_.params["num_leaves"] == 5
    assert reg.booster_.params["learning_rate"] == reg.params_["learning_rate"] == 0.2
    assert reg.get_params()["learning_rate"] is None  # the constructor argument is untouched


def test_unknown_family_lists_the_known_ones():
    with pytest.raises(ConfigError, match=r"Unknown family 'nope'.*lightgbm.*mlp"):
        load_model_config("nope")


def test_unknown_variant_lists_the_variants():
    with pytest.raises(ConfigError, match=r"lightgbm\.yaml.*unknown variant 'huge'.*small_data"):
        load_model_config("lightgbm", "huge")
    with pytest.raises(ConfigError, match="unknown variant"):
        LightGBMRegressor(variant="huge").fit(*_xy())


def test_key_that_is_not_a_parameter_names_file_and_key(tmp_path):
    _write(tmp_path, "models/lightgbm.yaml", "hyperparameters:\n  num_leafs: 31\n")
    with skfam.config_context(config_dir=tmp_path):
        with pytest.raises(ConfigError, match=r"hyperparameters\.num_leafs is not"):
            load_model_config("lightgbm")


def test_key_in_a_variant_that_is_not_a_parameter_names_the_variant(tmp_path):
    _write(tmp_path, "models/mlp.yaml", "variants:\n  fast:\n    epochs: 3\n")
    with skfam.config_context(config_dir=tmp_path):
        with pytest.raises(ConfigError, match=r"mlp\.yaml: variants\.fast\.epochs is not"):
            load_model_config("mlp", "fast")


def test_wrong_type_names_file_and_key(tmp_path):
    _write(tmp_path, "models/lightgbm.yaml", "hyperparameters:\n  num_leaves: many\n")
    with skfam.config_context(config_dir=tmp_path):
        with pytest.raises(ConfigError, match=r"lightgbm\.yaml: num_leaves"):
            load_model_config("lightgbm")


def test_wrong_type_in_defaults_names_the_key(tmp_path):
    _write(tmp_path, "defaults.yaml", "validation:\n  fraction: 2.0\n")
    with skfam.config_context(config_dir=tmp_path):
        with pytest.raises(ConfigError, match=r"defaults\.yaml: validation\.fraction"):
            load_model_config("lightgbm")


def test_yaml_is_read_with_a_safe_loader(tmp_path):
    marker = tmp_path / "ran"
    _write(
        tmp_path,
        "models/lightgbm.yaml",
        f"hyperparameters: !!python/object/apply:os.system ['touch {marker}']\n",
    )
    with skfam.config_context(config_dir=tmp_path):
        with pytest.raises(ConfigError, match="not valid YAML"):
            load_model_config("lightgbm")
    assert not marker.exists()


def test_config_context_sets_and_restores():
    before = skfam.get_config()
    with skfam.config_context(base_seed=3, n_jobs=1, device="cpu"):
        inside = skfam.get_config()
        assert (inside["base_seed"], inside["n_jobs"], inside["device"]) == (3, 1, "cpu")
    assert skfam.get_config() == before


def test_set_config_validates():
    with pytest.raises(ValueError, match="base_seed"):
        skfam.set_config(base_seed=-1)
    with pytest.raises(ValueError, match="n_jobs"):
        skfam.set_config(n_jobs=0)
    with pytest.raises(ValueError, match="device"):
        skfam.set_config(device="tpu")
    with pytest.raises(ValueError, match="not a directory"):
        skfam.set_config(config_dir="/does/not/exist")
    with pytest.raises(TypeError, match="Unknown skfam setting"):
        with skfam.config_context(seed=1):
            pass


def test_environment_variable_sets_config_dir(tmp_path, monkeypatch):
    _write(tmp_path, "models/lightgbm.yaml", "hyperparameters:\n  n_estimators: 11\n")
    monkeypatch.setenv("SKFAM_CONFIG_DIR", str(tmp_path))
    assert skfam.get_config()["config_dir"] == tmp_path
    assert load_model_config("lightgbm")["n_estimators"] == 11
    # An explicit setting wins over the environment.
    with skfam.config_context(config_dir=tmp_path.parent):
        assert load_model_config("lightgbm")["n_estimators"] == 2000


def test_base_seed_from_user_defaults(tmp_path):
    _write(tmp_path, "defaults.yaml", "base_seed: 1234\n")
    with skfam.config_context(config_dir=tmp_path):
        assert LightGBMRegressor(variant="fast").fit(*_xy()).random_state_ == 1234


def test_n_jobs_resolution(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert resolve_n_jobs(None) == 3
    assert resolve_n_jobs(2) == 2
    with skfam.config_context(n_jobs=1):
        assert resolve_n_jobs(None) == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "three")
    with pytest.raises(ValueError, match="OMP_NUM_THREADS"):
        resolve_n_jobs(None)
    with pytest.raises(ValueError, match="n_jobs"):
        resolve_n_jobs(0)


def test_malformed_family_file(tmp_path):
    _write(tmp_path, "models/mlp.yaml", "hyperparameters: [1, 2]\n")
    with skfam.config_context(config_dir=tmp_path):
        with pytest.raises(ConfigError, match=r"mlp\.yaml: hyperparameters must be dict"):
            load_model_config("mlp")
    _write(tmp_path, "models/mlp.yaml", "hyperparams: {}\n")
    with skfam.config_context(config_dir=tmp_path):
        with pytest.raises(ConfigError, match="unknown top-level key"):
            load_model_config("mlp")


def test_cpu_kernels_default_comes_from_defaults_yaml(tmp_path):
    assert load_model_config("lstm")["cpu_kernels"] == "portable"
    assert "cpu_kernels" not in load_model_config("cnn1d")  # only the LSTM has the choice
    _write(tmp_path, "defaults.yaml", "torch:\n  cpu_kernels: onednn\n")
    with skfam.config_context(config_dir=tmp_path):
        assert load_model_config("lstm")["cpu_kernels"] == "onednn"
        assert load_model_config("hybrid")["cpu_kernels"] == "onednn"
    _write(tmp_path, "defaults.yaml", "torch:\n  cpu_kernels: mkl\n")
    with skfam.config_context(config_dir=tmp_path):
        with pytest.raises(ConfigError, match=r"torch\.cpu_kernels must be portable or onednn"):
            load_model_config("lstm")
