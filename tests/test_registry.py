"""The one registry: YAML families, classes and their parameters agree."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import subprocess
import sys

import numpy as np
import pytest
import yaml

import skfam
from skfam._registry import family_keys
from skfam._sst import load_family_file, shipped_family_keys
from skfam.base import COMMON_PARAMS, SkfamEstimator

REGISTRY = skfam.families()


def _public_classes_in_family_modules():
    found = {}
    package = importlib.import_module(skfam.all_estimators()[0][1].__module__.rsplit(".", 1)[0])
    for module_info in pkgutil.iter_modules(package.__path__):
        if module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package.__name__}.{module_info.name}")
        for name, obj in vars(module).items():
            if (
                inspect.isclass(obj)
                and issubclass(obj, SkfamEstimator)
                and not name.startswith("_")
                and obj.__module__ == module.__name__
            ):
                found[name] = obj
    return found


def test_every_yaml_family_is_registered_and_has_a_class():
    assert shipped_family_keys() == sorted(REGISTRY)
    for key, info in REGISTRY.items():
        assert info.regressor is not None, key
        assert info.regressor._family == key
        if info.classifier is not None:
            assert info.classifier._family == key
        assert ("classification" in info.tasks) == (info.classifier is not None), key


def test_every_estimator_class_has_a_yaml_family():
    registered = {cls.__name__ for _, cls in skfam.all_estimators()}
    assert set(_public_classes_in_family_modules()) == registered


@pytest.mark.parametrize("key", sorted(REGISTRY))
def test_yaml_keys_are_constructor_parameters(key):
    spec = load_family_file(key)
    info = REGISTRY[key]
    for cls in (info.regressor, info.classifier):
        if cls is None:
            continue
        params = set(cls._get_param_names()) - set(COMMON_PARAMS)
        keys = set(spec["hyperparameters"])
        for variant in spec["variants"].values():
            keys |= set(variant)
        assert keys <= params, f"{cls.__name__}: {sorted(keys - params)}"
        # ...and every constructor hyperparameter has a value in the SST.
        resolved = skfam.load_model_config(key)
        assert params <= set(resolved), f"{cls.__name__}: {sorted(params - set(resolved))}"


@pytest.mark.parametrize("key", sorted(REGISTRY))
def test_every_family_has_a_fast_variant_and_none_defaults(key):
    info = REGISTRY[key]
    assert "fast" in info.variants
    for cls in (info.regressor, info.classifier):
        if cls is None:
            continue
        signature = inspect.signature(cls)
        for name, parameter in signature.parameters.items():
            if name == "verbose":  # not a hyperparameter: silent by default, as sklearn's
                assert parameter.default == 0 and type(parameter.default) is int
            else:
                assert parameter.default is None, f"{cls.__name__}.{name}"
            assert parameter.kind is inspect.Parameter.KEYWORD_ONLY


def test_registry_file_names_only_existing_families():
    text = (importlib.resources.files("skfam.configs") / "families.yaml").read_text()
    entries = yaml.safe_load(text)["families"]
    assert sorted(entries) == shipped_family_keys()


def test_all_estimators_is_sorted_and_public():
    names = [name for name, _ in skfam.all_estimators()]
    assert names == sorted(names)
    assert {"LightGBMRegressor", "LightGBMClassifier", "MLPRegressor", "MLPClassifier"} <= set(
        names
    )
    for name in names:
        assert getattr(skfam, name) is dict(skfam.all_estimators())[name]


def test_get_estimator_builds_by_key():
    est = skfam.get_estimator("mlp", "classification", variant="fast", dropout=0.2)
    assert type(est).__name__ == "MLPClassifier"
    assert est.get_params()["dropout"] == 0.2
    with pytest.raises(ValueError, match="task must be"):
        skfam.get_estimator("mlp", "ranking")
    with pytest.raises(skfam.ConfigError, match="Unknown family"):
        skfam.get_estimator("gbm")


def test_family_info_fields():
    info = REGISTRY["lightgbm"]
    assert info.key == "lightgbm"
    assert info.input_mode == "features"
    assert info.available and info.install_hint is None
    assert info.enabled is True
    assert isinstance(info.description, str) and info.description
    assert info.complexity in {"low", "medium", "high"}
    assert REGISTRY["mlp"].gpu_capable is True


def test_estimator_class_imports_only_its_family():
    assert skfam.estimator_class("LightGBMRegressor") is REGISTRY["lightgbm"].regressor
    assert skfam.estimator_class("MLPClassifier") is REGISTRY["mlp"].classifier
    assert skfam.estimator_names() == [name for name, _ in skfam.all_estimators()]
    assert family_keys() == sorted(REGISTRY)
    for name in ("LightGBMRegresor", "FeatureImputer", "", None, ["LightGBMRegressor"]):
        with pytest.raises(KeyError, match="no skfam estimator class"):
            skfam.estimator_class(name)
    with pytest.raises(AttributeError, match="has no attribute 'LightGBMRegresor'"):
        skfam.LightGBMRegresor  # noqa: B018
    assert "LightGBMRegressor" in dir(skfam)


_HEAVY = ("torch", "skorch", "xgboost", "ngboost")


def test_lightgbm_access_fit_and_load_import_no_torch_or_xgboost(tmp_path):
    path = tmp_path / "lgb.skfam"
    X = np.random.default_rng(0).normal(size=(200, 3))
    model = skfam.LightGBMRegressor(variant="fast").fit(X, X[:, 0])
    model.save_model(path)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "expected.npy", model.predict(X))
    # One fresh interpreter; after each step it records which heavy libraries are imported.
    steps = [
        "import skfam",
        "skfam.LightGBMRegressor; dir(skfam)",
        "import skfam.base, skfam.models.lightgbm, skfam.model_file",
        "skfam.get_estimator('lightgbm', variant='fast')",
        f"X = np.load({str(tmp_path / 'X.npy')!r})\n"
        f"fitted = skfam.load_model({str(path)!r})\n"
        f"assert (fitted.predict(X) == np.load({str(tmp_path / 'expected.npy')!r})).all()",
        # The default ensemble (lightgbm member) looks families up by key only.
        "skfam.EnsembleRegressor(variant='fast').fit(X, X[:, 0])",
        "skfam.MLPRegressor",  # the probe sees torch: a torch family does import it
    ]
    probe = "import sys\nimport numpy as np\nseen = []\n"
    for step in steps:
        probe += f"{step}\nseen.append(sorted(m for m in {_HEAVY!r} if m in sys.modules))\n"
    probe += "print(seen)"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    seen = ast.literal_eval(result.stdout.strip().splitlines()[-1])
    assert seen == [[], [], [], [], [], [], ["skorch", "torch"]]
