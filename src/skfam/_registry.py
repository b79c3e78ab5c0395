"""The one registry of families, generated from ``configs/`` and the estimator classes.

``configs/families.yaml`` names each family's module and classes; ``configs/models/<key>.yaml``
holds its hyperparameters, variants and metadata. This module joins the two and is the only
place that does; the CLI, the tests, the docs and :func:`get_estimator` all ask it.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass, field
from typing import Any

from sklearn.utils._param_validation import InvalidParameterError, validate_parameter_constraints

from ._sst import ConfigError, deep_merge, load_defaults, load_family_file, load_yaml

__all__ = [
    "FamilyInfo",
    "all_estimators",
    "families",
    "get_estimator",
    "load_model_config",
]

_TASKS = ("regression", "classification")

# Constructor parameters whose last-resort default is a key of configs/defaults.yaml.
_DEFAULTS_LAYER = {
    "validation_fraction": ("validation", "fraction"),
    "cpu_kernels": ("torch", "cpu_kernels"),
}


@dataclass(frozen=True)
class FamilyInfo:
    """What the registry knows about one family.

    Attributes
    ----------
    key : str
        The family key, e.g. ``"lightgbm"``.
    regressor, classifier : type or None
        The estimator classes (None when not importable, or no classifier exists).
    description, complexity : str
        From the family's YAML metadata.
    gpu_capable : bool
        Whether the family can train on CUDA.
    input_mode : {"features", "sequence", "hybrid"}
        The input the family expects.
    tasks : tuple of str
        ``"regression"`` and, where the algorithm allows, ``"classification"``.
    enabled : bool
        Whether ``skfam train`` trains it by default.
    available : bool
        False when an optional dependency is missing; ``install_hint`` then says what to do.
    install_hint : str or None
        How to install the missing dependency.
    variants : tuple of str
        Named variants of the family's YAML.
    demo_variant : str or None
        The variant ``skfam train`` uses on the small demo data (None: the defaults).
    """

    key: str
    regressor: type | None
    classifier: type | None
    description: str
    complexity: str
    gpu_capable: bool
    input_mode: str
    tasks: tuple[str, ...]
    enabled: bool
    available: bool
    install_hint: str | None
    variants: tuple[str, ...]
    demo_variant: str | None = None
    module: str = field(repr=False, default="")


def _entries() -> dict[str, dict[str, Any]]:
    where = "configs/families.yaml"
    data = load_yaml("families.yaml").get("families")
    if not isinstance(data, dict) or not data:
        raise ConfigError(f"{where}: 'families' must be a non-empty mapping.")
    for key, entry in data.items():
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: families.{key} must be a mapping.")
        for name in ("enabled", "module", "regressor"):
            if name not in entry:
                raise ConfigError(f"{where}: families.{key}.{name} is missing.")
        if not isinstance(entry["enabled"], bool):
            raise ConfigError(f"{where}: families.{key}.enabled must be true or false.")
    return data


def _import_classes(
    key: str, entry: dict[str, Any]
) -> tuple[type | None, type | None, str | None]:
    """Import the family's classes; a missing optional dependency gives an install hint."""
    requires = entry.get("requires") or []
    for package in requires:
        try:
            importlib.import_module(package)
        except ImportError:
            extra = entry.get("extra", package)
            hint = f"pip install 'skfam[{extra}]'  (the {key!r} family needs {package!r})"
            module = importlib.import_module(entry["module"])
            return (
                getattr(module, entry["regressor"]),
                getattr(module, entry["classifier"]) if entry.get("classifier") else None,
                hint,
            )
    module = importlib.import_module(entry["module"])
    try:
        regressor = getattr(module, entry["regressor"])
        classifier = getattr(module, entry["classifier"]) if entry.get("classifier") else None
    except AttributeError as exc:
        raise ConfigError(f"configs/families.yaml: family {key!r}: {exc}") from exc
    return regressor, classifier, None


def families() -> dict[str, FamilyInfo]:
    """Return every registered family, keyed by family key.

    Returns
    -------
    families : dict of str to FamilyInfo

    Examples
    --------
    >>> import skfam
    >>> info = skfam.families()["lightgbm"]
    >>> info.regressor.__name__, info.input_mode, "fast" in info.variants
    ('LightGBMRegressor', 'features', True)
    """
    out = {}
    for key, entry in _entries().items():
        spec = load_family_file(key)
        regressor, classifier, hint = _import_classes(key, entry)
        meta = spec["metadata"]
        out[key] = FamilyInfo(
            key=key,
            regressor=regressor,
            classifier=classifier,
            description=meta["description"],
            complexity=meta["complexity"],
            gpu_capable=meta["gpu_capable"],
            input_mode=meta["input_mode"],
            tasks=tuple(meta["tasks"]),
            enabled=entry["enabled"],
            available=hint is None,
            install_hint=hint,
            variants=tuple(spec["variants"]),
            demo_variant=meta.get("demo_variant"),
            module=entry["module"],
        )
    return out


def all_estimators() -> list[tuple[str, type]]:
    """Return every public estimator class of skfam as ``(name, class)``, sorted by name.

    Examples
    --------
    >>> import skfam
    >>> ("LightGBMRegressor", skfam.LightGBMRegressor) in skfam.all_estimators()
    True
    """
    classes = {}
    for info in families().values():
        for cls in (info.regressor, info.classifier):
            if cls is not None:
                classes[cls.__name__] = cls
    return sorted(classes.items())


def _family_entry(family: str) -> dict[str, Any]:
    entries = _entries()
    if family not in entries:
        raise ConfigError(f"Unknown family {family!r}; known families: {sorted(entries)}.")
    return entries[family]


def _hyperparameter_classes(family: str) -> list[type]:
    regressor, classifier, _ = _import_classes(family, _family_entry(family))
    return [cls for cls in (regressor, classifier) if cls is not None]


def resolve_layers(family: str, variant: str | None) -> dict[str, Any]:
    """defaults.yaml layer < family YAML < variant, validated against the family's classes."""
    where = f"configs/models/{family}.yaml"
    classes = _hyperparameter_classes(family)
    spec = load_family_file(family)
    params = spec["hyperparameters"]
    if variant is not None:
        if not isinstance(variant, str):
            raise ConfigError(f"variant must be a string or None, got {variant!r}.")
        if variant not in spec["variants"]:
            raise ConfigError(
                f"{where}: unknown variant {variant!r} of family {family!r}; "
                f"known variants: {sorted(spec['variants'])}."
            )
        params = deep_merge(params, spec["variants"][variant])
    accepted = set.intersection(*(set(inspect.signature(c).parameters) for c in classes))
    common = {"variant", "random_state", "n_jobs", "device"}
    for key in params:
        if key not in accepted or key in common:
            block = (
                f"variants.{variant}"
                if variant and key in spec["variants"][variant]
                else "hyperparameters"
            )
            raise ConfigError(
                f"{where}: {block}.{key} is not a hyperparameter of "
                f"{', '.join(c.__name__ for c in classes)}; accepted: "
                f"{sorted(accepted - common)}."
            )
    defaults = load_defaults()
    layer = {}
    for key, path in _DEFAULTS_LAYER.items():
        if key in accepted:
            value: Any = defaults
            for part in path:
                value = value[part]
            layer[key] = value
    params = {**layer, **params}
    for cls in classes:
        constraints = getattr(cls, "_parameter_constraints", {})
        for key, value in params.items():
            if key not in constraints:
                continue
            try:
                validate_parameter_constraints(
                    {key: constraints[key]}, {key: value}, caller_name=cls.__name__
                )
            except InvalidParameterError as exc:
                raise ConfigError(f"{where}: {key}: {exc}") from exc
    return params


def load_model_config(family: str, variant: str | None = None) -> dict[str, Any]:
    """Return the resolved hyperparameters of a family (and variant) from the SST.

    The layers are merged as ``configs/defaults.yaml`` < ``models/<family>.yaml`` <
    ``variants.<variant>``; explicit estimator arguments come on top at ``fit``.

    Parameters
    ----------
    family : str
        A family key (see :func:`families`).
    variant : str, default=None
        A named variant of the family.

    Returns
    -------
    params : dict
        A fresh dict on every call.

    Raises
    ------
    ConfigError
        Unknown family or variant, a key that is not a parameter of the estimator, or a
        value of the wrong type; the message names the file and key.

    Examples
    --------
    >>> import skfam
    >>> skfam.load_model_config("lightgbm", "fast")["n_estimators"]
    20
    """
    return resolve_layers(family, variant)


def get_estimator(family: str, task: str = "regression", **params: Any) -> Any:
    """Build the estimator of ``family`` for ``task`` with ``params``.

    Parameters
    ----------
    family : str
        A family key.
    task : {"regression", "classification"}, default="regression"
        Which estimator of the family to build.
    **params
        Constructor arguments, e.g. ``variant="fast"``.

    Returns
    -------
    estimator : BaseEstimator
        An unfitted estimator.

    Examples
    --------
    >>> import skfam
    >>> skfam.get_estimator("lightgbm", "classification", variant="fast")
    LightGBMClassifier(variant='fast')
    """
    if task not in _TASKS:
        raise ValueError(f"task must be one of {_TASKS}, got {task!r}.")
    info = families().get(family)
    if info is None:
        raise ConfigError(f"Unknown family {family!r}; known families: {sorted(families())}.")
    cls = info.regressor if task == "regression" else info.classifier
    if cls is None:
        raise ValueError(
            f"Family {family!r} has no estimator for {task}; it supports {list(info.tasks)}."
        )
    return cls(**params)
