"""The one registry of families, generated from ``configs/`` and the estimator classes.

``configs/families.yaml`` names each family's module and classes; ``configs/models/<key>.yaml``
holds its hyperparameters, variants and metadata. This module joins the two and is the only
place that does; the CLI, the tests, the docs and :func:`get_estimator` all ask it.
:func:`estimator_class` and :func:`get_estimator` import only the requested family's module;
:func:`families` and :func:`all_estimators` import every one.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from sklearn.utils._param_validation import InvalidParameterError, validate_parameter_constraints

from ._sst import (
    ConfigError,
    Layer,
    deep_merge,
    family_layers,
    load_callbacks,
    load_defaults,
    load_families,
    load_family_file,
    origin,
)

__all__ = [
    "FamilyInfo",
    "all_estimators",
    "check_config",
    "estimator_class",
    "estimator_names",
    "families",
    "family_keys",
    "get_estimator",
    "load_model_config",
]

_TASKS = ("regression", "classification")

# Constructor parameters whose last-resort default is a key of configs/defaults.yaml...
_DEFAULTS_LAYER = {
    "validation_fraction": ("validation", "fraction"),
    "validation_split": ("validation", "split"),
    "cpu_kernels": ("torch", "cpu_kernels"),
    "min_steps": ("torch", "min_steps"),
    "delta_channel": ("torch", "delta_channel"),
}
# ...or of configs/callbacks.yaml (as load_callbacks gives it for the family).
_CALLBACKS_LAYER = ("patience", "lr_schedule", "lr_patience")


@dataclass(frozen=True)
class FamilyInfo:
    """What the registry knows about one family.

    Attributes
    ----------
    key : str
        The family key, e.g. ``"lightgbm"``.
    regressor : type
        The regression estimator class.
    classifier : type or None
        The classification estimator class (None when the algorithm has none).
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
    extra : str or None
        The pip extra of skfam that installs the family's optional dependencies.
    offers : dict of str to tuple of str
        Per task, the methods the family's estimator has beyond ``fit``, ``predict``,
        ``predict_proba`` and ``score`` (e.g. ``{"regression": ("partial_fit",)}``); every
        task of ``tasks`` is a key, with an empty tuple where it offers nothing more.
    fit_data : tuple of str
        Keyword arguments of ``fit`` beyond ``sample_weight`` (e.g. ``("groups",)``); they
        are requested with ``set_fit_request`` under scikit-learn's metadata routing.
    ordered_rows : bool
        Whether ``fit`` reads the training rows as one series in their given order (a
        change-point detector does); ``skfam train`` then keeps the rows in file order.
    """

    key: str
    regressor: type
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
    extra: str | None = None
    offers: dict[str, tuple[str, ...]] = field(default_factory=dict, hash=False)
    fit_data: tuple[str, ...] = ()
    ordered_rows: bool = False

    def estimator(self, task: str) -> type | None:
        """Return the class of ``task`` ("regression" or "classification"), or None."""
        if task not in _TASKS:
            raise ValueError(f"task must be one of {_TASKS}, got {task!r}.")
        return self.regressor if task == "regression" else self.classifier


def _entries() -> dict[str, dict[str, Any]]:
    return load_families()[0]


def _import_module(key: str, entry: dict[str, Any], layers: list[Layer]) -> ModuleType:
    """Import the family's module; a module that does not exist is a ConfigError."""
    name = entry["module"]
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is None or not (name == exc.name or name.startswith(f"{exc.name}.")):
            raise  # the module exists but needs something that is missing: not a config error
        where = origin(layers, "families", key, "module")
        raise ConfigError(f"{where}: families.{key}.module: no module named {name!r}.") from exc


def _class(
    module: ModuleType, key: str, role: str, entry: dict[str, Any], layers: list[Layer]
) -> type:
    name = entry[role]
    cls = getattr(module, name, None)
    if not isinstance(cls, type):
        where = origin(layers, "families", key, role)
        raise ConfigError(
            f"{where}: families.{key}.{role}: module {module.__name__!r} has no class {name!r}."
        )
    return cls


def _extra(entry: dict[str, Any]) -> str | None:
    """Return the pip extra of a family with optional dependencies (default: the first)."""
    requires = entry.get("requires") or []
    return entry.get("extra") or (requires[0] if requires else None)


def _import_classes(
    key: str, entry: dict[str, Any], layers: list[Layer]
) -> tuple[type, type | None, str | None]:
    """Import the family's classes; a missing optional dependency gives an install hint."""
    hint = None
    for package in entry.get("requires") or []:
        try:
            importlib.import_module(package)
        except ImportError:
            extra = _extra(entry)
            hint = f"pip install 'skfam[{extra}]'  (the {key!r} family needs {package!r})"
            break
    module = _import_module(key, entry, layers)
    regressor = _class(module, key, "regressor", entry, layers)
    classifier = (
        _class(module, key, "classifier", entry, layers) if entry.get("classifier") else None
    )
    return regressor, classifier, hint


def family_keys() -> list[str]:
    """Return the keys of every registered family, sorted, importing no family module."""
    return sorted(_entries())


def estimator_names() -> list[str]:
    """Return the names of every estimator class of the registry, sorted, importing nothing.

    Examples
    --------
    >>> import skfam
    >>> "LightGBMRegressor" in skfam.estimator_names()
    True
    """
    names = set()
    for entry in _entries().values():
        names.add(entry["regressor"])
        if entry.get("classifier"):
            names.add(entry["classifier"])
    return sorted(names)


def estimator_class(name: str) -> type:
    """Return the estimator class called ``name``, importing only its family's module.

    Parameters
    ----------
    name : str
        A class name of ``configs/families.yaml``, e.g. ``"LightGBMRegressor"``.

    Returns
    -------
    cls : type
        The estimator class.

    Raises
    ------
    KeyError
        No family of the registry has a class of that name.
    ConfigError
        The registry names a module or class that does not exist.

    Examples
    --------
    >>> import skfam
    >>> skfam.estimator_class("LightGBMRegressor") is skfam.LightGBMRegressor
    True
    """
    entries, layers = load_families()
    if isinstance(name, str):
        for key, entry in entries.items():
            if name in (entry["regressor"], entry.get("classifier")):
                regressor, classifier, _ = _import_classes(key, entry, layers)
                cls = regressor if name == entry["regressor"] else classifier
                if cls is not None:
                    return cls
    raise KeyError(f"no skfam estimator class {name!r}; known: {estimator_names()}")


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
    entries, layers = load_families()
    return {key: _family_info(key, entry, layers) for key, entry in entries.items()}


def _family_info(key: str, entry: dict[str, Any], layers: list[Layer]) -> FamilyInfo:
    spec = load_family_file(key)
    regressor, classifier, hint = _import_classes(key, entry, layers)
    meta = spec["metadata"]
    if ("classification" in meta["tasks"]) != (classifier is not None):
        raise ConfigError(
            f"{origin(layers, 'families', key)}: families.{key}.classifier is "
            f"{entry.get('classifier')!r} but metadata.tasks of configs/models/{key}.yaml is "
            f"{meta['tasks']}: a classifier is named exactly when the tasks hold classification."
        )
    return FamilyInfo(
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
        extra=_extra(entry),
        offers={t: tuple(meta.get("offers", {}).get(t, ())) for t in meta["tasks"]},
        fit_data=tuple(meta.get("fit_data", ())),
        ordered_rows=meta.get("ordered_rows", False),
    )


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


def _family_entry(family: str) -> tuple[dict[str, Any], list[Layer]]:
    entries, layers = load_families()
    if not isinstance(family, str) or family not in entries:
        raise ConfigError(f"Unknown family {family!r}; known families: {sorted(entries)}.")
    return entries[family], layers


def _hyperparameter_classes(family: str) -> list[type]:
    regressor, classifier, _ = _import_classes(family, *_family_entry(family))
    return [cls for cls in (regressor, classifier) if cls is not None]


def _check_block(
    block: dict[str, Any], classes: list[type], accepted: set[str], where: str, name: str
) -> None:
    """Refuse a key of ``block`` that is not a hyperparameter, or a value that is invalid."""
    for key, value in block.items():
        if key not in accepted:
            raise ConfigError(
                f"{where}: {name}.{key} is not a hyperparameter of "
                f"{', '.join(c.__name__ for c in classes)}; accepted: {sorted(accepted)}."
            )
        for cls in classes:
            constraints = getattr(cls, "_parameter_constraints", {})
            if key not in constraints:
                continue
            try:
                validate_parameter_constraints(
                    {key: constraints[key]}, {key: value}, caller_name=cls.__name__
                )
            except InvalidParameterError as exc:
                raise ConfigError(f"{where}: {name}.{key}: {exc}") from exc


#: Constructor parameters every estimator has, and which are not family hyperparameters
#: (not read from the SST, not recorded in ``params_``).
COMMON_PARAMS = ("variant", "random_state", "n_jobs", "device", "verbose")


def resolve_layers(
    family: str, variant: str | None, classes: list[type] | None = None
) -> dict[str, Any]:
    """defaults.yaml layer < family YAML < variant, validated against the family's classes.

    Every block of every file (``hyperparameters`` and each of the ``variants``, shipped and
    override) is checked on its own, so an invalid value is refused even where the chosen
    variant or an override replaces it, and the error names the file that holds it.

    ``classes``: the classes to validate against; None imports the registry's classes of
    the family. An estimator passes its own class, so resolving its parameters never goes
    back through the registry (a user's subclass resolves with its own signature).
    """
    registry = classes is None
    classes = _hyperparameter_classes(family) if registry else list(classes)
    layers = family_layers(family)
    accepted = set.intersection(*(set(inspect.signature(c).parameters) for c in classes))
    accepted -= set(COMMON_PARAMS)
    for label, content in layers:
        _check_block(content["hyperparameters"], classes, accepted, label, "hyperparameters")
        for name, block in content["variants"].items():
            _check_block(block, classes, accepted, label, f"variants.{name}")
    spec = load_family_file(family, layers)
    params = spec["hyperparameters"]
    if variant is not None:
        if not isinstance(variant, str):
            raise ConfigError(f"variant must be a string or None, got {variant!r}.")
        if variant not in spec["variants"]:
            raise ConfigError(
                f"{' + '.join(label for label, _ in layers)}: unknown variant {variant!r} of "
                f"family {family!r}; known variants: {sorted(spec['variants'])}."
            )
        params = deep_merge(params, spec["variants"][variant])
    # A mapping merged key by key from several blocks is checked once more as a whole.
    nested = {key: value for key, value in params.items() if isinstance(value, dict)}
    merged = "hyperparameters" if variant is None else f"hyperparameters + variants.{variant}"
    _check_block(nested, classes, accepted, " + ".join(lb for lb, _ in layers), merged)
    params = {**_last_layer(family, accepted), **params}
    unset = sorted(accepted - set(params))
    if registry and unset:
        # Every hyperparameter of a registered class has its value in the SST.
        raise ConfigError(
            f"{' + '.join(lb for lb, _ in layers)}: no value for {unset} "
            f"({merged}); every hyperparameter of the family needs one."
        )
    return params


def _last_layer(family: str, accepted: set[str]) -> dict[str, Any]:
    """Return the values of defaults.yaml and callbacks.yaml for the family's parameters."""
    defaults = load_defaults()
    layer = {}
    for key, path in _DEFAULTS_LAYER.items():
        if key in accepted:
            value: Any = defaults
            for part in path:
                value = value[part]
            layer[key] = value
    if accepted.intersection(_CALLBACKS_LAYER):
        callbacks = load_callbacks(family)
        layer.update({k: callbacks[k] for k in _CALLBACKS_LAYER if k in accepted})
    return layer


def check_config(keys: list[str] | None = None, variant: str | None = None) -> None:
    """Validate the whole SST, or the parts ``skfam train`` needs, without training anything.

    Parameters
    ----------
    keys : list of str, default=None
        Family keys to check (default: every family).
    variant : str, default=None
        Also resolve this variant for the families that have it.

    Raises
    ------
    ConfigError
        The first problem found; the message names the file and key.
    """
    load_defaults()
    entries, _ = load_families()
    for key in sorted(entries) if keys is None else keys:
        load_callbacks(key)
        resolve_layers(key, None)
        if variant is not None and variant in load_family_file(key)["variants"]:
            resolve_layers(key, variant)


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
    entry, layers = _family_entry(family)
    info = _family_info(family, entry, layers)
    cls = info.estimator(task)
    if cls is None:
        raise ValueError(
            f"Family {family!r} has no estimator for {task}; it supports {list(info.tasks)}."
        )
    return cls(**params)
