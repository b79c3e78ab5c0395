"""The family contract: what each family declares it offers holds, and the contract is open.

- ``metadata.offers`` / ``fit_data`` of every family's YAML say exactly which methods and fit
  arguments its classes have, and every offered method survives a model file bit for bit.
- Extra fit data (the ensemble's ``groups``) travels through scikit-learn's metadata routing.
- A user's subclass with a parameter of its own fits, saves and loads; resolving its
  parameters does not go back through the registry.
- A dict parameter given by the user merges over the SST's dict key by key.
"""

from __future__ import annotations

import inspect
import textwrap
from numbers import Real

import numpy as np
import pytest
import sklearn
from sklearn.model_selection import (
    GridSearchCV,
    GroupKFold,
    cross_validate,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import Interval

import skfam
from skfam import ConfigError, EnsembleClassifier, EnsembleRegressor
from skfam._sst import OFFERS

from ._strategies import FAMILIES, HYBRID_SEQUENCE_SHAPE, estimator_cases, fast_params

CASES = estimator_cases()
IDS = [cls.__name__ for _, _, cls in CASES]


def _data(task: str, input_mode: str, n: int = 120, seed: int = 0):
    """Small learnable data of the family's input mode (NaN in a few cells)."""
    rng = np.random.default_rng(seed)
    if input_mode == "sequence":
        X = rng.normal(size=(n, 8, 2))
        signal = X[:, -3:, 0].mean(axis=1)
    elif input_mode == "hybrid":
        steps, channels = HYBRID_SEQUENCE_SHAPE
        X = rng.normal(size=(n, 2 + steps * channels))
        signal = X[:, 0] + X[:, -1]
    else:
        X = rng.normal(size=(n, 4))
        signal = X[:, 0] - 0.5 * X[:, 1]
    X[rng.random(X.shape) < 0.02] = np.nan
    if task == "classification":
        return X, np.where(signal > 0, "up", "down")
    return X, signal + rng.normal(scale=0.1, size=n)


# ------------------------------------------------------------------ what families declare
@pytest.mark.parametrize(("key", "task", "cls"), CASES, ids=IDS)
def test_offered_methods_are_exactly_those_the_class_has(key, task, cls):
    declared = set(FAMILIES[key].offers[task])
    has = {name for name in OFFERS if callable(getattr(cls, name, None))}
    assert has == declared, f"configs/models/{key}.yaml metadata.offers.{task}"


@pytest.mark.parametrize(("key", "task", "cls"), CASES, ids=IDS)
def test_fit_arguments_are_those_declared_and_can_be_requested(key, task, cls):
    fit_data = FAMILIES[key].fit_data
    names = list(inspect.signature(cls.fit).parameters)
    assert names == ["self", "X", "y", "sample_weight", *fit_data]
    with sklearn.config_context(enable_metadata_routing=True):
        estimator = cls().set_fit_request(**dict.fromkeys(("sample_weight", *fit_data), True))
        requests = estimator.get_metadata_routing().consumes("fit", ["sample_weight", *fit_data])
    assert requests == {"sample_weight", *fit_data}


def test_every_task_has_an_offers_entry():
    for key, info in FAMILIES.items():
        assert set(info.offers) == set(info.tasks), key
        assert info.estimator("regression") is info.regressor


OFFERED = [
    (key, task, cls, method)
    for key, task, cls in CASES
    for method in FAMILIES[key].offers[task]
    if method != "partial_fit"
]


def _same(a, b) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    return np.array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.filterwarnings("ignore::skfam.DegenerateModelWarning")
@pytest.mark.parametrize(
    ("key", "task", "cls", "method"),
    OFFERED,
    ids=[f"{cls.__name__}.{method}" for _, _, cls, method in OFFERED],
)
def test_offered_methods_survive_the_model_file(key, task, cls, method, tmp_path):
    X, y = _data(task, FAMILIES[key].input_mode)
    model = cls(**fast_params(cls), random_state=2).fit(X, y)
    path = tmp_path / "model.skfam"
    model.save_model(path)
    loaded = skfam.load_model(path)
    call = (lambda m: m.sample(X, 5)) if method == "sample" else (lambda m: getattr(m, method)(X))
    assert _same(call(loaded), call(model))


PARTIAL = [
    (key, task, cls) for key, task, cls in CASES if "partial_fit" in FAMILIES[key].offers[task]
]


@pytest.mark.parametrize(("key", "task", "cls"), PARTIAL, ids=[c.__name__ for *_, c in PARTIAL])
def test_a_loaded_online_model_keeps_learning_like_the_saved_one(key, task, cls, tmp_path):
    X, y = _data(task, FAMILIES[key].input_mode, n=240)
    model = cls(**fast_params(cls), random_state=2).fit(X[:120], y[:120])
    model.save_model(tmp_path / "model.skfam")
    loaded = skfam.load_model(tmp_path / "model.skfam")
    for start in (120, 180):
        model.partial_fit(X[start : start + 60], y[start : start + 60])
        loaded.partial_fit(X[start : start + 60], y[start : start + 60])
    assert np.array_equal(loaded.predict(X), model.predict(X))


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("offers:\n    regression: [fly]", "metadata.offers must be"),
        ("offers:\n    classification: [partial_fit]", "names tasks \\['classification'\\]"),
        ("fit_data: [sample_weight]", "metadata.fit_data must be"),
        ("ordered_rows: maybe", "metadata.ordered_rows must be"),
    ],
)
def test_invalid_offers_fit_data_or_ordered_rows_are_refused(tmp_path, text, match):
    path = tmp_path / "models" / "quantile_lightgbm.yaml"
    path.parent.mkdir()
    path.write_text(f"metadata:\n  {text}\n")
    with skfam.config_context(config_dir=tmp_path), pytest.raises(ConfigError, match=match):
        skfam.families()


# ------------------------------------------------------------------ metadata routing
def _grouped(n_groups: int = 24, per_group: int = 10, classes: bool = False):
    """Rows whose target is mostly their group's own offset: groups must not leak."""
    rng = np.random.default_rng(3)
    groups = np.repeat(np.arange(n_groups), per_group)
    offset = rng.normal(scale=3.0, size=n_groups)[groups]
    X = np.column_stack(
        [offset + rng.normal(scale=0.01, size=len(groups)), rng.normal(size=len(groups))]
    )
    y = offset + X[:, 1] + rng.normal(scale=0.1, size=len(groups))
    if classes:
        y = np.where(y > np.median(y), "high", "low")
    return X, y, groups


class _SpyGroupKFold(GroupKFold):
    """A GroupKFold that remembers the groups each split call received."""

    seen: list = []

    def split(self, X, y=None, groups=None):
        type(self).seen.append(None if groups is None else np.asarray(groups).copy())
        return super().split(X, y, groups)


@pytest.mark.parametrize("classes", [False, True])
def test_inner_folds_never_split_a_group(classes):
    X, y, groups = _grouped(classes=classes)
    cls = EnsembleClassifier if classes else EnsembleRegressor
    model = cls(variant="fast", random_state=1).fit(X, y, groups=groups)
    encoded = np.unique(y, return_inverse=True)[1] if classes else y
    folds = model._folds(encoded, groups)
    assert np.array_equal(np.sort(np.concatenate([test for _, test in folds])), np.arange(len(y)))
    for train, test in folds:
        assert not set(groups[train]) & set(groups[test])
    # Without groups the shuffled folds do split groups (so the test above can fail).
    assert any(set(groups[train]) & set(groups[test]) for train, test in model._folds(encoded))


def test_groups_reach_a_splitter_given_as_cv():
    X, y, groups = _grouped()
    _SpyGroupKFold.seen = []
    EnsembleRegressor(variant="fast", cv=_SpyGroupKFold(3)).fit(X, y, groups=groups)
    assert len(_SpyGroupKFold.seen) == 1 and np.array_equal(_SpyGroupKFold.seen[0], groups)


def test_groups_are_routed_through_pipeline_search_and_cross_validate():
    X, y, groups = _grouped()
    with sklearn.config_context(enable_metadata_routing=True):
        _SpyGroupKFold.seen = []
        member = EnsembleRegressor(variant="fast", cv=_SpyGroupKFold(2)).set_fit_request(
            groups=True, sample_weight=False
        )
        pipe = make_pipeline(StandardScaler(), member)
        pipe.fit(X, y, groups=groups)
        assert np.array_equal(_SpyGroupKFold.seen[-1], groups)

        _SpyGroupKFold.seen = []
        cross_validate(pipe, X, y, cv=GroupKFold(3), params={"groups": groups})
        # One inner split per outer fold, on that fold's training rows' groups only.
        assert len(_SpyGroupKFold.seen) == 3
        assert all(len(seen) < len(groups) for seen in _SpyGroupKFold.seen)

        search = GridSearchCV(pipe, {"ensembleregressor__cv": [2, 3]}, cv=GroupKFold(3))
        search.fit(X, y, groups=groups)
        assert search.best_params_["ensembleregressor__cv"] in (2, 3)

        # Not requested: a routed groups is an error that names the estimator.
        plain = make_pipeline(StandardScaler(), EnsembleRegressor(variant="fast"))
        with pytest.raises(sklearn.exceptions.UnsetMetadataPassedError, match="groups"):
            plain.fit(X, y, groups=groups)


def test_groups_without_routing_use_the_step_prefix():
    X, y, groups = _grouped()
    _SpyGroupKFold.seen = []
    pipe = make_pipeline(StandardScaler(), EnsembleRegressor(variant="fast", cv=_SpyGroupKFold(2)))
    pipe.fit(X, y, ensembleregressor__groups=groups)
    assert np.array_equal(_SpyGroupKFold.seen[-1], groups)


@pytest.mark.parametrize(
    ("groups", "match"),
    [
        (np.zeros(5), r"groups must hold one value per row of X: shape \(240,\)"),
        (np.zeros((240, 2)), "groups must hold one value per row"),
        (np.zeros(240), "at least 2 groups; got 1"),
    ],
)
def test_bad_groups_are_refused(groups, match):
    X, y, _ = _grouped()
    model = EnsembleRegressor(variant="fast")
    with pytest.raises(ValueError, match=match):
        model.fit(X, y, groups=groups)
    assert not hasattr(model, "members_")


def test_classes_confined_to_one_group_are_refused_with_groups():
    X, y, groups = _grouped(classes=True)
    y = np.where(groups == 0, "rare", y)
    with pytest.raises(ValueError, match="every class in at least 2 groups"):
        EnsembleClassifier(variant="fast").fit(X, y, groups=groups)


# ------------------------------------------------------------------ a user's own subclass
class ClippedEnsemble(EnsembleRegressor):
    """A user's subclass: the ensemble with its predictions clipped to ``[-clip, clip]``."""

    _parameter_constraints = {
        **EnsembleRegressor._parameter_constraints,
        "clip": [Interval(Real, 0, None, closed="neither"), None],
    }

    def __init__(
        self,
        *,
        clip=None,
        members=None,
        member_params=None,
        final_params=None,
        cv=None,
        variant=None,
        random_state=None,
        n_jobs=None,
        verbose=0,
    ):
        super().__init__(
            members=members,
            member_params=member_params,
            final_params=final_params,
            cv=cv,
            variant=variant,
            random_state=random_state,
            n_jobs=n_jobs,
            verbose=verbose,
        )
        self.clip = clip

    def predict(self, X):
        predictions = super().predict(X)
        clip = self.params_["clip"]
        return predictions if clip is None else np.clip(predictions, -clip, clip)


@pytest.mark.parametrize("clip", [None, 0.5])
def test_a_subclass_with_a_parameter_of_its_own_fits_saves_and_loads(clip, tmp_path):
    X, y = _data("regression", "features")
    model = ClippedEnsemble(variant="fast", clip=clip, random_state=4).fit(X, y)
    assert model.params_["clip"] == clip
    predictions = model.predict(X)
    if clip is not None:
        assert (
            np.abs(predictions).max()
            <= clip
            < np.abs(EnsembleRegressor(variant="fast", random_state=4).fit(X, y).predict(X)).max()
        )
    path = tmp_path / "clipped.skfam"
    model.save_model(path)
    # The file names a class outside the registry: it loads only when the caller trusts it.
    with pytest.raises(skfam.ModelFileError, match="classes=\\[YourClass\\]"):
        skfam.load_model(path)
    loaded = skfam.load_model(path, classes=[ClippedEnsemble])
    assert type(loaded) is ClippedEnsemble and loaded.clip == clip
    assert np.array_equal(loaded.predict(X), predictions)


def test_a_subclass_parameter_is_validated():
    X, y = _data("regression", "features")
    with pytest.raises(sklearn.utils._param_validation.InvalidParameterError, match="clip"):
        ClippedEnsemble(variant="fast", clip=-1.0).fit(X, y)


def test_a_class_of_the_same_name_from_elsewhere_is_not_trusted(tmp_path):
    X, y = _data("regression", "features")
    ClippedEnsemble(variant="fast").fit(X, y).save_model(tmp_path / "m.skfam")
    impostor = type("ClippedEnsemble", (EnsembleRegressor,), {"__module__": "elsewhere"})
    with pytest.raises(skfam.ModelFileError, match="unknown estimator class"):
        skfam.load_model(tmp_path / "m.skfam", classes=[impostor])
    with pytest.raises(TypeError, match="subclasses of skfam estimators"):
        skfam.load_model(tmp_path / "m.skfam", classes=[dict])


def test_resolving_parameters_does_not_go_through_the_registry(monkeypatch):
    from skfam import _registry

    def refuse(*args, **kwargs):
        raise AssertionError("an estimator resolved its parameters through the registry")

    monkeypatch.setattr(_registry, "_hyperparameter_classes", refuse)
    X, y = _data("regression", "features")
    assert ClippedEnsemble(variant="fast").fit(X, y).params_["cv"] == 3


def test_every_registered_hyperparameter_needs_a_value_in_the_sst(tmp_path):
    # The shipped YAMLs set every hyperparameter of the registry's classes; a registered class
    # with one the SST leaves unset is named by check_config, before anything trains.
    text = textwrap.dedent(
        """\
        families:
          ensemble:
            module: tests.test_contract
            regressor: KnobEnsemble
            classifier: KnobEnsembleClassifier
        """
    )
    (tmp_path / "families.yaml").write_text(text)
    with skfam.config_context(config_dir=tmp_path):
        with pytest.raises(ConfigError, match=r"no value for \['knob'\]"):
            skfam.load_model_config("ensemble")


def _knob_init(
    self,
    *,
    knob=None,
    members=None,
    member_params=None,
    final_params=None,
    cv=None,
    variant=None,
    random_state=None,
    n_jobs=None,
    verbose=0,
):
    EnsembleRegressor.__init__(
        self,
        members=members,
        member_params=member_params,
        final_params=final_params,
        cv=cv,
        variant=variant,
        random_state=random_state,
        n_jobs=n_jobs,
        verbose=verbose,
    )
    self.knob = knob


KnobEnsemble = type("KnobEnsemble", (EnsembleRegressor,), {"__init__": _knob_init})
KnobEnsembleClassifier = type(
    "KnobEnsembleClassifier", (EnsembleClassifier,), {"__init__": _knob_init}
)


# ------------------------------------------------------------------ dict parameters
def test_a_dict_parameter_merges_over_the_sst_key_by_key():
    X, y = _data("regression", "features")
    given = {"random_forest": {"n_estimators": 7}}
    model = EnsembleRegressor(variant="fast", member_params=given).fit(X, y)
    sst = skfam.load_model_config("ensemble", "fast")["member_params"]
    merged = model.params_["member_params"]
    assert merged["random_forest"] == {**sst["random_forest"], "n_estimators": 7}
    assert merged["hist_gradient_boosting"] == sst["hist_gradient_boosting"]
    forest = dict(model.members_)["random_forest"]
    assert forest.n_estimators == 7
    assert forest.min_samples_leaf == sst["random_forest"]["min_samples_leaf"]
    assert given == {"random_forest": {"n_estimators": 7}}  # the user's dict is not changed
    # A list inside the dict replaces the SST's list.
    alphas = {"ridge_cv": {"alphas": [1.0]}}
    model = EnsembleRegressor(variant="fast", final_params=alphas).fit(X, y)
    assert list(model.final_estimator_.alphas) == [1.0]
    assert (
        model.params_["final_params"]["logistic_regression"] == sst_final()["logistic_regression"]
    )


def sst_final():
    return skfam.load_model_config("ensemble")["final_params"]


# ------------------------------------------------------------------ a torch family's own loss
def test_a_torch_family_with_its_own_loss_learns_what_that_loss_asks():
    # Noise of mean 1 and median ln 2: squared error learns the conditional mean, absolute
    # error the conditional median. A subclass changes the loss through one hook.
    import torch

    class MedianMLP(skfam.MLPRegressor):
        def _criterion(self):
            return torch.nn.L1Loss, {}

    rng = np.random.default_rng(5)
    X = rng.uniform(-1, 1, size=(3000, 1))
    y = 2 * X[:, 0] + rng.exponential(1.0, size=3000)
    grid = np.linspace(-0.9, 0.9, 50)[:, None]
    offsets = {}
    for name, cls in (("mse", skfam.MLPRegressor), ("l1", MedianMLP)):
        model = cls(variant="fast", device="cpu", random_state=0).fit(X, y)
        offsets[name] = float(np.mean(model.predict(grid) - 2 * grid[:, 0]))
    assert abs(offsets["l1"] - np.log(2)) < abs(offsets["l1"] - 1.0)
    assert abs(offsets["mse"] - 1.0) < abs(offsets["mse"] - np.log(2))
