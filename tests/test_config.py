"""The SST: loading, precedence, variants, errors, global settings and overrides."""

from __future__ import annotations

import re
import textwrap
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

import skfam
from skfam import ConfigError, LightGBMRegressor, load_model_config
from skfam._sst import load_callbacks, load_defaults
from skfam._threads import resolve_n_jobs


def _write(folder: Path, relpath: str, text: str) -> None:
    path = folder / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))


@contextmanager
def _refused(tmp_path, relpath, text, match=None):
    """Write ``relpath`` of the user's folder; the block, run with it, must raise ConfigError."""
    _write(tmp_path, relpath, text)
    with (
        skfam.config_context(config_dir=tmp_path),
        pytest.raises(ConfigError, match=match) as caught,
    ):
        yield caught


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
    text = "hyperparameters:\n  num_leafs: 31\n"
    with _refused(tmp_path, "models/lightgbm.yaml", text, r"hyperparameters\.num_leafs is not"):
        load_model_config("lightgbm")


def test_key_in_a_variant_that_is_not_a_parameter_names_the_variant(tmp_path):
    text = "variants:\n  fast:\n    epochs: 3\n"
    with _refused(tmp_path, "models/mlp.yaml", text, r"mlp\.yaml: variants\.fast\.epochs is not"):
        load_model_config("mlp", "fast")


def test_wrong_type_names_file_and_key(tmp_path):
    text = "hyperparameters:\n  num_leaves: many\n"
    match = r"lightgbm\.yaml: hyperparameters\.num_leaves"
    with _refused(tmp_path, "models/lightgbm.yaml", text, match):
        load_model_config("lightgbm")


def test_wrong_type_in_defaults_names_the_key(tmp_path):
    text = "validation:\n  fraction: 2.0\n"
    with _refused(tmp_path, "defaults.yaml", text, r"defaults\.yaml: validation\.fraction"):
        load_model_config("lightgbm")


def test_yaml_is_read_with_a_safe_loader(tmp_path):
    marker = tmp_path / "ran"
    text = f"hyperparameters: !!python/object/apply:os.system ['touch {marker}']\n"
    with _refused(tmp_path, "models/lightgbm.yaml", text, "not valid YAML"):
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
    text, match = "hyperparameters: [1, 2]\n", r"mlp\.yaml: hyperparameters must be dict"
    with _refused(tmp_path, "models/mlp.yaml", text, match):
        load_model_config("mlp")
    with _refused(tmp_path, "models/mlp.yaml", "hyperparams: {}\n", "unknown top-level key"):
        load_model_config("mlp")


def test_cpu_kernels_default_comes_from_defaults_yaml(tmp_path):
    assert load_model_config("lstm")["cpu_kernels"] == "portable"
    assert "cpu_kernels" not in load_model_config("cnn1d")  # only the LSTM has the choice
    _write(tmp_path, "defaults.yaml", "torch:\n  cpu_kernels: onednn\n")
    with skfam.config_context(config_dir=tmp_path):
        assert load_model_config("lstm")["cpu_kernels"] == "onednn"
        assert load_model_config("hybrid")["cpu_kernels"] == "onednn"
    text = "torch:\n  cpu_kernels: mkl\n"
    match = r"torch\.cpu_kernels must be one of \['portable', 'onednn'\]"
    with _refused(tmp_path, "defaults.yaml", text, match):
        load_model_config("lstm")


# ---------------------------------------------------------------- unknown keys are refused
@pytest.mark.parametrize(
    ("text", "key", "known"),
    [
        ("base_sed: 7\n", "base_sed", "base_seed"),
        ("imputation:\n  strategi: mean\n", "imputation.strategi", "strategy"),
        ("validation:\n  fractoin: 0.3\n", "validation.fractoin", "fraction"),
        ("early_stopping:\n  treshold: 0.1\n", "early_stopping.treshold", "threshold"),
        ("torch:\n  cpu_kernel: onednn\n", "torch.cpu_kernel", "cpu_kernels"),
    ],
)
def test_unknown_key_in_defaults_is_refused(tmp_path, text, key, known):
    _write(tmp_path, "defaults.yaml", text)
    user_file = str(tmp_path / "defaults.yaml")
    with skfam.config_context(config_dir=tmp_path):
        with pytest.raises(ConfigError, match=rf"unknown key {key};.*'{known}'") as caught:
            load_defaults()
        with pytest.raises(ConfigError, match=key):
            LightGBMRegressor(variant="fast").fit(*_xy())
    assert str(caught.value).startswith(f"{user_file}: ")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("early_stoping:\n  patience: 3\n", r"unknown key early_stoping;.*'early_stopping'"),
        ("lr_on_plateau:\n  factr: 0.1\n", r"unknown key lr_on_plateau\.factr;.*'factor'"),
        (
            "early_stopping:\n  per_family:\n    mlpp: 3\n",
            r"early_stopping\.per_family\.mlpp is not a known family; known: \[.*'mlp'",
        ),
    ],
)
def test_unknown_key_in_callbacks_is_refused(tmp_path, text, match):
    with _refused(tmp_path, "callbacks.yaml", text, match) as caught:
        load_callbacks("mlp")
    assert str(caught.value).startswith(f"{tmp_path / 'callbacks.yaml'}: ")


def test_unknown_key_in_a_family_entry_or_metadata_is_refused(tmp_path):
    text = "families:\n  lightgbm:\n    enable: false\n"
    with _refused(tmp_path, "families.yaml", text, r"unknown key families\.lightgbm\.enable;"):
        skfam.families()
    (tmp_path / "families.yaml").unlink()
    text, match = "metadata:\n  gpu: true\n", r"unknown key metadata\.gpu;.*'gpu_capable'"
    with _refused(tmp_path, "models/lightgbm.yaml", text, match):
        load_model_config("lightgbm")


# ---------------------------------------------------- errors name the file that holds the value
def test_bad_value_in_an_override_names_the_override_file(tmp_path):
    _write(tmp_path, "defaults.yaml", "validation:\n  fraction: 2.0\n")
    _write(tmp_path, "callbacks.yaml", "lr_on_plateau:\n  factor: 1.5\n")
    _write(tmp_path, "models/mlp.yaml", "variants:\n  fast:\n    dropout: -0.5\n")
    with skfam.config_context(config_dir=tmp_path):
        with pytest.raises(ConfigError) as defaults_error:
            load_defaults()
        with pytest.raises(ConfigError) as callbacks_error:
            load_callbacks("mlp")
        (tmp_path / "defaults.yaml").unlink()
        with pytest.raises(ConfigError) as family_error:
            load_model_config("mlp", "fast")
    assert str(defaults_error.value).startswith(
        f"{tmp_path / 'defaults.yaml'}: validation.fraction must be a number in (0, 1)"
    )
    assert str(callbacks_error.value).startswith(
        f"{tmp_path / 'callbacks.yaml'}: lr_on_plateau.factor must be a number in (0, 1)"
    )
    assert str(family_error.value).startswith(
        f"{tmp_path / 'models' / 'mlp.yaml'}: variants.fast.dropout: "
    )


def test_invalid_value_in_a_variant_that_is_not_chosen_is_refused(tmp_path):
    text = "variants:\n  mine:\n    max_bin: 1\n"
    match = r"lightgbm\.yaml: variants\.mine\.max_bin: "
    with _refused(tmp_path, "models/lightgbm.yaml", text, match):
        load_model_config("lightgbm", "fast")


# ------------------------------------------- invalid values are refused even when overridden
def test_invalid_hyperparameter_is_refused_even_when_the_variant_overrides_it(tmp_path):
    # The fast variant sets learning_rate 0.2, so the merged value would be valid.
    assert load_model_config("lightgbm", "fast")["learning_rate"] == 0.2
    _write(tmp_path, "models/lightgbm.yaml", "hyperparameters:\n  learning_rate: -1.0\n")
    with skfam.config_context(config_dir=tmp_path):
        with pytest.raises(ConfigError, match=r"hyperparameters\.learning_rate: .*Got -1\.0"):
            load_model_config("lightgbm", "fast")
        with pytest.raises(ConfigError, match=r"hyperparameters\.learning_rate"):
            LightGBMRegressor(variant="fast").fit(*_xy())


def test_invalid_hyperparameter_is_refused_even_when_the_user_overrides_it(tmp_path):
    # The user's folder fixes num_leaves, but the folder's variant still holds a bad value.
    text = "variants:\n  fast:\n    num_leaves: 1\n  fine:\n    num_leaves: 8\n"
    with _refused(tmp_path, "models/lightgbm.yaml", text, r"variants\.fast\.num_leaves"):
        load_model_config("lightgbm", "fine")


# ------------------------------------------------------------ registry and defaults values
def test_missing_module_in_families_names_file_and_key(tmp_path):
    _write(tmp_path, "families.yaml", "families:\n  lightgbm:\n    module: skfam.models.nope\n")
    with skfam.config_context(config_dir=tmp_path):
        with pytest.raises(ConfigError) as caught:
            skfam.families()
        with pytest.raises(ConfigError, match="families.lightgbm.module"):
            load_model_config("lightgbm")
    assert str(caught.value) == (
        f"{tmp_path / 'families.yaml'}: families.lightgbm.module: "
        "no module named 'skfam.models.nope'."
    )


def test_missing_class_in_families_names_file_and_key(tmp_path):
    text = "families:\n  mlp:\n    classifier: MLPClassifer\n"
    with _refused(tmp_path, "families.yaml", text) as caught:
        skfam.get_estimator("mlp", "classification")
    assert str(caught.value) == (
        f"{tmp_path / 'families.yaml'}: families.mlp.classifier: module 'skfam.models.mlp' "
        "has no class 'MLPClassifer'."
    )


def test_classifier_and_tasks_must_agree(tmp_path):
    text = "families:\n  mlp:\n    classifier: null\n"
    with _refused(tmp_path, "families.yaml", text, r"families\.mlp\.classifier is None.*tasks"):
        skfam.families()


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("n_jobs: 0\n", r"n_jobs must be null or a non-zero int"),
        ("n_jobs: two\n", r"n_jobs must be null or a non-zero int"),
        ("device: gpu\n", r"device must be one of"),
        ("base_seed: -1\n", r"base_seed must be an int in \[0, 2\*\*32\)"),
        ("imputation: null\n", r"imputation must be a mapping"),
        ("early_stopping:\n  threshold: -1\n", r"early_stopping\.threshold must be a number >= 0"),
        ("imputation:\n  native_missing: 1\n", r"imputation\.native_missing must be true or"),
    ],
)
def test_invalid_defaults_value_names_file_and_key(tmp_path, text, match):
    with _refused(tmp_path, "defaults.yaml", text, f"^{re.escape(str(tmp_path))}.*: {match}"):
        load_defaults()


def test_n_jobs_zero_in_defaults_is_refused_at_fit(tmp_path):
    with _refused(tmp_path, "defaults.yaml", "n_jobs: 0\n", "n_jobs"):
        LightGBMRegressor(variant="fast").fit(*_xy())


def test_invalid_yaml_names_the_file(tmp_path):
    text, match = "lr_on_plateau: [unclosed\n", r"(?s)callbacks\.yaml: not valid YAML.*line 1"
    with _refused(tmp_path, "callbacks.yaml", text, match):
        load_callbacks("mlp")


def test_missing_key_names_the_file_that_set_the_block(tmp_path):
    text = "families:\n  mine:\n    enabled: true\n    regressor: X\n"
    with _refused(tmp_path, "families.yaml", text) as caught:
        skfam.families()
    assert str(caught.value) == f"{tmp_path / 'families.yaml'}: families.mine.module is missing."


def test_an_empty_block_in_an_override_changes_nothing(tmp_path):
    shipped = load_model_config("lightgbm", "fast")
    _write(tmp_path, "models/lightgbm.yaml", "hyperparameters:\nvariants:\nmetadata:\n")
    with skfam.config_context(config_dir=tmp_path):
        assert load_model_config("lightgbm", "fast") == shipped
        assert skfam.families()["lightgbm"].demo_variant == "small_data"
        assert load_model_config("lightgbm")["n_estimators"] == 2000
