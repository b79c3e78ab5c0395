"""Reading the single source of truth (SST): the YAML files under ``configs/``.

Every file is read with ``yaml.safe_load`` from the shipped package data
(``skfam.configs``) and, when the ``config_dir`` setting (or ``SKFAM_CONFIG_DIR``) names a
folder, the file of the same relative path there is deep-merged over the shipped one.
Each file (each *layer*) is validated on its own before the merge, so an error names the file
that holds the bad key or value: the shipped one or the user's override.
Every call returns a fresh dict, so callers can never mutate the configuration in place.
"""

from __future__ import annotations

import copy
import functools
import importlib.resources
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ._settings import MAX_THREADS, active_config_dir, explicit_settings

__all__ = [
    "ConfigError",
    "Layer",
    "deep_merge",
    "family_layers",
    "load_callbacks",
    "load_defaults",
    "load_families",
    "load_family_file",
    "load_layers",
    "origin",
    "shipped_family_keys",
]

_SECTIONS = ("hyperparameters", "variants", "metadata")
_INPUT_MODES = ("features", "sequence", "hybrid")
_TASKS = ("regression", "classification")
_COMPLEXITIES = ("low", "medium", "high")
_DEVICES = ("auto", "cpu", "cuda")
#: The methods a family may offer beyond fit/predict(/predict_proba/score), named in its
#: metadata.offers; the common tests check that a class has exactly those it declares.
OFFERS = (
    "partial_fit",
    "transform",
    "decision_function",
    "predict_dist",
    "predict_interval",
    "predict_quantiles",
    "predict_regime",
    "predict_regime_proba",
    "sample",
)

#: One file of a configuration: its label (the path shown in messages) and its content.
Layer = tuple[str, dict[str, Any]]

_cache: dict[tuple[str, int, int], Any] = {}


class ConfigError(ValueError):
    """A configuration file or value of the SST is invalid; the message names file and key."""


def _read(path: Path | importlib.resources.abc.Traversable, label: str) -> Any:
    """Parse one YAML file with the safe loader, cached on (path, mtime, size).

    The result is shared with the cache: callers must not change it (merging copies it).
    """
    key = None
    if isinstance(path, Path):
        stat = path.stat()
        key = (str(path), stat.st_mtime_ns, stat.st_size)
        if key in _cache:
            return _cache[key]
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{label}: not valid YAML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{label}: not UTF-8 text: {exc}") from exc
    if key is not None:
        _cache[key] = data
    return data


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Return a new dict: ``override`` merged into ``base``, recursing into nested dicts.

    Lists and scalars of ``override`` replace those of ``base``; neither input is changed.
    """
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


@functools.cache
def _shipped_root() -> importlib.resources.abc.Traversable:
    return importlib.resources.files("skfam.configs")


def load_layers(relpath: str) -> list[Layer]:
    """Read ``configs/<relpath>`` and the user's ``config_dir`` copy, each on its own.

    Parameters
    ----------
    relpath : str
        Path relative to the configuration root, e.g. ``"models/lightgbm.yaml"``.

    Returns
    -------
    layers : list of (str, dict)
        ``(label, content)`` in merge order (shipped first), never empty; the label is the
        path named in error messages. An empty file gives an empty dict. The contents are
        read-only (shared with the cache of parsed files); merging them gives a fresh copy.

    Raises
    ------
    ConfigError
        Neither the shipped nor the user's folder has the file, or one is not a YAML mapping.
    """
    shipped = _shipped_root().joinpath(*relpath.split("/"))
    user_dir = active_config_dir()
    user = Path(user_dir, relpath) if user_dir is not None else None
    layers: list[Layer] = []
    for source, label in ((shipped, f"configs/{relpath}"), (user, str(user))):
        if source is None or not source.is_file():
            continue
        content = _read(source, label)
        if content is None:
            content = {}
        if not isinstance(content, dict):
            raise ConfigError(
                f"{label}: the top level must be a mapping, got {type(content).__name__}."
            )
        layers.append((label, content))
    if not layers:
        raise ConfigError(f"configs/{relpath}: no such configuration file.")
    return layers


def _merge(layers: list[Layer]) -> dict[str, Any]:
    """Return a fresh dict: the layers' contents deep-merged in order (the last one wins)."""
    data: dict[str, Any] = {}
    for _, content in layers:
        data = deep_merge(data, content)
    return data


def origin(layers: list[Layer], *path: str) -> str:
    """Return the label of the file the value at ``path`` came from (the last layer setting it).

    Parameters
    ----------
    layers : list of (str, dict)
        As returned by :func:`load_layers`.
    *path : str
        Nested keys, e.g. ``"families", "lightgbm", "module"``.

    Returns
    -------
    label : str
        The last layer that holds the key; the first layer's label when none does.
    """
    found = layers[0][0]
    for label, content in layers:
        node: Any = content
        for key in path:
            if not isinstance(node, dict) or key not in node:
                break
            node = node[key]
        else:
            found = label
    return found


def shipped_family_keys() -> list[str]:
    """Keys of every ``models/<key>.yaml`` (shipped or in ``config_dir``), sorted."""
    keys = {
        entry.name[: -len(".yaml")]
        for entry in _shipped_root().joinpath("models").iterdir()
        if entry.name.endswith(".yaml")
    }
    user_dir = active_config_dir()
    if user_dir is not None and Path(user_dir, "models").is_dir():
        keys.update(p.stem for p in Path(user_dir, "models").glob("*.yaml"))
    return sorted(keys)


# ------------------------------------------------------------------------- schemas
@dataclass(frozen=True)
class _Leaf:
    """A value of a schema: ``check`` says whether it is valid, ``expected`` what it must be."""

    check: Callable[[Any], bool]
    expected: str
    required: bool = True


@dataclass(frozen=True)
class _MapOf:
    """A mapping with free keys (or keys drawn from ``keys()``), each value following ``value``."""

    value: Any
    keys: Callable[[], list[str]] | None = None
    what: str = "key"
    required: bool = True


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _one_of(*options: Any) -> _Leaf:
    return _Leaf(lambda v: isinstance(v, str) and v in options, f"one of {list(options)}")


def _positive_int(what: str = "an int >= 1") -> _Leaf:
    return _Leaf(lambda v: _is_int(v) and v >= 1, what)


def _is_device(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    return value in _DEVICES or (value.startswith("cuda:") and value[5:].isdigit())


#: configs/defaults.yaml
_DEFAULTS_SCHEMA: dict[str, Any] = {
    "base_seed": _Leaf(lambda v: _is_int(v) and 0 <= v < 2**32, "an int in [0, 2**32)"),
    "n_jobs": _Leaf(
        lambda v: v is None or (_is_int(v) and v != 0 and abs(v) <= MAX_THREADS),
        f"null or a non-zero int in [-{MAX_THREADS}, {MAX_THREADS}] (negative: count back "
        "from the cores, -1 = all)",
    ),
    "device": _Leaf(_is_device, f"one of {list(_DEVICES)} or 'cuda:N'"),
    "torch": {
        "cpu_kernels": _one_of("portable", "onednn"),
        "min_steps": _Leaf(lambda v: _is_int(v) and v >= 0, "an int >= 0"),
        "delta_channel": _Leaf(
            lambda v: v in ("auto", "off") or (_is_int(v) and v >= 0),
            "'auto', 'off' or a channel index >= 0",
        ),
        "delta_auto_ratio": _Leaf(lambda v: _is_real(v) and v > 0, "a number > 0"),
    },
    "lightgbm": {
        "auto_min_child_samples": {
            "fraction": _Leaf(lambda v: _is_real(v) and 0 <= v <= 1, "a number in [0, 1]"),
            "min": _Leaf(lambda v: _is_int(v) and v >= 0, "an int >= 0"),
            "max": _Leaf(lambda v: _is_int(v) and v >= 0, "an int >= 0"),
        },
    },
    "rocket": {
        "auto_windows": {
            "folds": _Leaf(lambda v: _is_int(v) and v >= 2, "an int >= 2"),
            "alpha_max": _Leaf(lambda v: _is_real(v) and v > 0, "a number > 0"),
        },
    },
    "imputation": {
        "strategy": _one_of("mean", "median", "most_frequent"),
        "native_missing": _Leaf(lambda v: isinstance(v, bool), "true or false"),
    },
    "validation": {
        "fraction": _Leaf(lambda v: _is_real(v) and 0.0 < v < 1.0, "a number in (0, 1)"),
        "split": _one_of("auto", "time", "shuffle", "stratified"),
    },
    "early_stopping": {
        "threshold": _Leaf(lambda v: _is_real(v) and v >= 0, "a number >= 0"),
        "auto_min_samples": _Leaf(lambda v: _is_int(v) and v >= 0, "an int >= 0"),
    },
}

#: configs/callbacks.yaml
_CALLBACKS_SCHEMA: dict[str, Any] = {
    "early_stopping": {
        "patience": _positive_int(),
        "per_family": _MapOf(
            _positive_int(), keys=shipped_family_keys, what="family", required=False
        ),
    },
    "lr_schedule": _one_of("auto", "plateau", "cosine", "constant"),
    "lr_on_plateau": {
        "patience": _positive_int(),
        "factor": _Leaf(lambda v: _is_real(v) and 0.0 < v < 1.0, "a number in (0, 1)"),
        "min_lr": _Leaf(lambda v: _is_real(v) and v >= 0, "a number >= 0"),
    },
}


def _is_module_name(value: Any) -> bool:
    return isinstance(value, str) and all(part.isidentifier() for part in value.split("."))


#: configs/families.yaml
_FAMILIES_SCHEMA: dict[str, Any] = {
    "families": _MapOf(
        {
            "enabled": _Leaf(lambda v: isinstance(v, bool), "true or false"),
            "module": _Leaf(_is_module_name, "a dotted module name, e.g. skfam.models.lightgbm"),
            "regressor": _Leaf(lambda v: isinstance(v, str) and v.isidentifier(), "a class name"),
            "classifier": _Leaf(
                lambda v: v is None or (isinstance(v, str) and v.isidentifier()),
                "a class name or null",
                required=False,
            ),
            "requires": _Leaf(
                lambda v: isinstance(v, list) and all(_is_module_name(p) for p in v),
                "a list of package names",
                required=False,
            ),
            "extra": _Leaf(lambda v: isinstance(v, str), "a pip extra name", required=False),
        },
        what="family",
    ),
}


def _is_tasks(value: Any) -> bool:
    if not isinstance(value, list) or not value:
        return False
    return all(t in _TASKS for t in value) and len(set(value)) == len(value)


def _is_offers(value: Any) -> bool:
    if not isinstance(value, dict) or not set(value) <= set(_TASKS):
        return False
    return all(
        isinstance(v, list) and len(set(v)) == len(v) and all(m in OFFERS for m in v)
        for v in value.values()
    )


def _is_fit_data(value: Any) -> bool:
    if not isinstance(value, list) or len(set(value)) != len(value):
        return False
    taken = ("X", "y", "sample_weight")
    return all(isinstance(v, str) and v.isidentifier() and v not in taken for v in value)


#: The metadata block of configs/models/<key>.yaml
_METADATA_SCHEMA: dict[str, Any] = {
    "description": _Leaf(lambda v: isinstance(v, str) and v.strip() != "", "a non-empty string"),
    "complexity": _one_of(*_COMPLEXITIES),
    "gpu_capable": _Leaf(lambda v: isinstance(v, bool), "true or false"),
    "input_mode": _one_of(*_INPUT_MODES),
    "tasks": _Leaf(_is_tasks, f"a non-empty list of distinct values from {list(_TASKS)}"),
    "demo_variant": _Leaf(lambda v: isinstance(v, str), "a variant name", required=False),
    # Methods beyond fit/predict, per task, e.g. {regression: [partial_fit]}.
    "offers": _Leaf(
        _is_offers,
        f"a mapping of task to a list of distinct methods from {list(OFFERS)}",
        required=False,
    ),
    # Extra keyword arguments of fit (routed by scikit-learn's metadata routing).
    "fit_data": _Leaf(
        _is_fit_data,
        "a list of distinct parameter names of fit other than X, y and sample_weight",
        required=False,
    ),
    # Whether fit reads the training rows as one series in their given order.
    "ordered_rows": _Leaf(lambda v: isinstance(v, bool), "true or false", required=False),
}


def _known(schema: Any) -> list[str]:
    if isinstance(schema, _MapOf):
        return sorted(schema.keys()) if schema.keys is not None else []
    return sorted(schema)


def _check_layer(data: Any, schema: Any, label: str, prefix: str = "") -> None:
    """Refuse unknown keys and invalid values of one file against ``schema``."""
    name = prefix.rstrip(".") or "the top level"
    if isinstance(schema, _Leaf):
        if not schema.check(data):
            raise ConfigError(f"{label}: {name} must be {schema.expected}, got {data!r}.")
        return
    if isinstance(schema, _MapOf) and data is None and not schema.required:
        return
    if not isinstance(data, dict):
        raise ConfigError(f"{label}: {name} must be a mapping, got {data!r}.")
    known = _known(schema)
    for key, value in data.items():
        if isinstance(schema, _MapOf):
            if not isinstance(key, str) or (schema.keys is not None and key not in known):
                raise ConfigError(
                    f"{label}: {prefix}{key} is not a known {schema.what}; known: {known}."
                )
            _check_layer(value, schema.value, label, f"{prefix}{key}.")
        elif key not in schema:
            where = f" of {prefix.rstrip('.')}" if prefix else ""
            raise ConfigError(f"{label}: unknown key {prefix}{key!s}; known keys{where}: {known}.")
        else:
            _check_layer(value, schema[key], label, f"{prefix}{key}.")


def _check_required(
    data: dict[str, Any], schema: Any, layers: list[Layer], path: tuple[str, ...] = ()
) -> None:
    """Refuse a merged configuration that lacks a required key.

    The message names the file that set the block missing the key (the shipped file for a
    top-level key), e.g. the override that added a family entry without its ``module``.
    """
    if isinstance(schema, _MapOf):
        for key, value in (data or {}).items():
            if isinstance(schema.value, (dict, _MapOf)):
                _check_required(value, schema.value, layers, (*path, key))
        return
    for key, spec in schema.items():
        if key not in data:
            if getattr(spec, "required", True):
                label = origin(layers, *path) if path else layers[0][0]
                raise ConfigError(f"{label}: {'.'.join((*path, key))} is missing.")
            continue
        if isinstance(spec, (dict, _MapOf)):
            _check_required(data[key], spec, layers, (*path, key))


def _validated(layers: list[Layer], schema: dict[str, Any]) -> dict[str, Any]:
    """Check every layer on its own, merge them, and check the merge has every required key."""
    for label, content in layers:
        _check_layer(content, schema, label)
    data = _merge(layers)
    _check_required(data, schema, layers)
    return data


# ------------------------------------------------------------------------- the files
def load_defaults() -> dict[str, Any]:
    """Return ``defaults.yaml`` (validated), with the global settings applied on top.

    Returns
    -------
    defaults : dict
        A fresh dict.

    Raises
    ------
    ConfigError
        An unknown key, a missing key or an invalid value; the message names the file that
        holds it (the shipped one or the ``config_dir`` override) and the key.
    """
    data = _validated(load_layers("defaults.yaml"), _DEFAULTS_SCHEMA)
    settings = explicit_settings()
    for key in ("base_seed", "n_jobs", "device"):
        if key in settings:
            data[key] = settings[key]
    return data


def load_callbacks(family: str) -> dict[str, Any]:
    """Return the torch training callbacks for ``family`` from ``callbacks.yaml``.

    Parameters
    ----------
    family : str
        A family key; ``early_stopping.per_family`` may give it its own patience.

    Returns
    -------
    callbacks : dict
        ``patience`` (early stopping), ``lr_schedule``, ``lr_patience``, ``lr_factor`` and
        ``min_lr``.

    Raises
    ------
    ConfigError
        An unknown key (``per_family`` keys must be families), a missing key or an invalid
        value; the message names the file that holds it and the key.
    """
    data = _validated(load_layers("callbacks.yaml"), _CALLBACKS_SCHEMA)
    stopping, plateau = data["early_stopping"], data["lr_on_plateau"]
    per_family = stopping.get("per_family") or {}
    return {
        "patience": per_family.get(family, stopping["patience"]),
        "lr_schedule": data["lr_schedule"],
        "lr_patience": plateau["patience"],
        "lr_factor": plateau["factor"],
        "min_lr": plateau["min_lr"],
    }


def load_families() -> tuple[dict[str, dict[str, Any]], list[Layer]]:
    """Return the validated entries of ``families.yaml`` and the layers they came from.

    Returns
    -------
    entries : dict of str to dict
        Family key to its entry (``enabled``, ``module``, ``regressor``, ...).
    layers : list of (str, dict)
        The files read, for :func:`origin`.
    """
    layers = load_layers("families.yaml")
    data = _validated(layers, _FAMILIES_SCHEMA)
    entries = data["families"]
    if not entries:
        raise ConfigError(f"{origin(layers, 'families')}: 'families' must not be empty.")
    return entries, layers


def family_layers(family: str) -> list[Layer]:
    """Return each file of ``models/<family>.yaml``, checked on its own for shape.

    Every layer has the blocks ``hyperparameters``, ``variants`` and ``metadata`` (mappings,
    empty where the file leaves them out or empty; ``metadata`` checked against its schema).
    The blocks are read-only (shared with the cache of parsed files).
    """
    out = []
    for label, content in load_layers(f"models/{family}.yaml"):
        unknown = set(content) - set(_SECTIONS)
        if unknown:
            raise ConfigError(
                f"{label}: unknown top-level key(s) {sorted(map(str, unknown))}; "
                f"expected {list(_SECTIONS)}."
            )
        layer = dict(content)
        for block in _SECTIONS:  # an empty block changes nothing
            value = layer.get(block)
            layer[block] = {} if value is None else value
            if not isinstance(layer[block], dict):
                raise ConfigError(f"{label}: {block} must be dict, got {value!r}.")
        for name, block in layer["variants"].items():
            if not isinstance(block, dict):
                raise ConfigError(f"{label}: variants.{name} must be dict, got {block!r}.")
        _check_layer(layer["metadata"], _METADATA_SCHEMA, label, "metadata.")
        out.append((label, layer))
    return out


def load_family_file(family: str, layers: list[Layer] | None = None) -> dict[str, Any]:
    """Return ``models/<family>.yaml`` (merged over its layers) with its blocks checked.

    Parameters
    ----------
    family : str
        The family key.
    layers : list of (str, dict), default=None
        The result of :func:`family_layers`, when the caller already has it.

    Returns
    -------
    spec : dict
        ``hyperparameters``, ``variants`` and ``metadata``.
    """
    layers = family_layers(family) if layers is None else layers
    data = _merge(layers)
    metadata = data["metadata"]
    _check_required(metadata, _METADATA_SCHEMA, layers, ("metadata",))
    demo = metadata.get("demo_variant")
    if demo is not None and demo not in data["variants"]:
        raise ConfigError(
            f"{origin(layers, 'metadata', 'demo_variant')}: metadata.demo_variant {demo!r} is "
            f"not one of the variants {sorted(data['variants'])}."
        )
    offered = set(metadata.get("offers", {})) - set(metadata["tasks"])
    if offered:
        raise ConfigError(
            f"{origin(layers, 'metadata', 'offers')}: metadata.offers names tasks "
            f"{sorted(offered)} that are not in metadata.tasks {metadata['tasks']}."
        )
    return {
        "hyperparameters": data["hyperparameters"],
        "variants": data["variants"],
        "metadata": metadata,
    }
