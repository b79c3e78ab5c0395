"""Reading the single source of truth (SST): the YAML files under ``configs/``.

Every file is read with ``yaml.safe_load`` from the shipped package data
(``skfam.configs``) and, when the ``config_dir`` setting (or ``SKFAM_CONFIG_DIR``) names a
folder, the file of the same relative path there is deep-merged over the shipped one.
Every call returns a fresh dict, so callers can never mutate the configuration in place.
"""

from __future__ import annotations

import copy
import functools
import importlib.resources
from pathlib import Path
from typing import Any

import yaml

from ._settings import get_config

__all__ = ["ConfigError", "deep_merge", "load_defaults", "load_yaml", "shipped_family_keys"]

_SECTIONS = ("hyperparameters", "variants", "metadata")
_METADATA_TYPES = {
    "description": str,
    "complexity": str,
    "gpu_capable": bool,
    "input_mode": str,
    "tasks": list,
}
_INPUT_MODES = ("features", "sequence", "hybrid")
_TASKS = ("regression", "classification")

_cache: dict[tuple[str, int, int], Any] = {}


class ConfigError(ValueError):
    """A configuration file or value of the SST is invalid; the message names file and key."""


def _read(path: Path | importlib.resources.abc.Traversable, label: str) -> Any:
    """Parse one YAML file with the safe loader, cached on (path, mtime, size)."""
    key = None
    if isinstance(path, Path):
        stat = path.stat()
        key = (str(path), stat.st_mtime_ns, stat.st_size)
        if key in _cache:
            return copy.deepcopy(_cache[key])
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{label}: not valid YAML: {exc}") from exc
    if key is not None:
        _cache[key] = data
    return copy.deepcopy(data)


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


def load_yaml(relpath: str, *, required: bool = True) -> dict[str, Any]:
    """Load ``configs/<relpath>`` merged with the user's ``config_dir`` copy, if any.

    Parameters
    ----------
    relpath : str
        Path relative to the configuration root, e.g. ``"models/lightgbm.yaml"``.
    required : bool, default=True
        Raise when neither the shipped nor the user's folder has the file.

    Returns
    -------
    data : dict
        A fresh dict (empty when the file is absent and ``required`` is False).
    """
    shipped = _shipped_root().joinpath(*relpath.split("/"))
    user_dir = get_config()["config_dir"]
    user = Path(user_dir, relpath) if user_dir is not None else None
    data: dict[str, Any] = {}
    found = False
    for source, label in ((shipped, f"configs/{relpath}"), (user, str(user))):
        if source is None or not source.is_file():
            continue
        found = True
        content = _read(source, label)
        if content is None:
            continue
        if not isinstance(content, dict):
            raise ConfigError(
                f"{label}: the top level must be a mapping, got {type(content).__name__}."
            )
        data = deep_merge(data, content)
    if required and not found:
        raise ConfigError(f"configs/{relpath}: no such configuration file.")
    return data


def shipped_family_keys() -> list[str]:
    """Keys of every ``models/<key>.yaml`` (shipped or in ``config_dir``), sorted."""
    keys = {
        entry.name[: -len(".yaml")]
        for entry in _shipped_root().joinpath("models").iterdir()
        if entry.name.endswith(".yaml")
    }
    user_dir = get_config()["config_dir"]
    if user_dir is not None and Path(user_dir, "models").is_dir():
        keys.update(p.stem for p in Path(user_dir, "models").glob("*.yaml"))
    return sorted(keys)


def _expect(value: Any, kind: type | tuple[type, ...], where: str, what: str) -> Any:
    if isinstance(value, bool) and kind in (int, float, (int, float)):
        raise ConfigError(f"{where}: {what} must be {_name(kind)}, got a bool.")
    if not isinstance(value, kind):
        raise ConfigError(f"{where}: {what} must be {_name(kind)}, got {value!r}.")
    return value


def _name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(k.__name__ for k in kinds)


def load_defaults() -> dict[str, Any]:
    """Return ``defaults.yaml`` (validated), with the global settings applied on top."""
    where = "configs/defaults.yaml"
    data = load_yaml("defaults.yaml")
    settings = get_config()
    for key in ("base_seed", "n_jobs", "device"):
        if settings[key] is not None:
            data[key] = settings[key]
    seed = _expect(data.get("base_seed"), int, where, "base_seed")
    if not 0 <= seed < 2**32:
        raise ConfigError(f"{where}: base_seed must lie in [0, 2**32), got {seed}.")
    if data.get("n_jobs") is not None:
        _expect(data["n_jobs"], int, where, "n_jobs")
    _expect(data.get("device"), str, where, "device")
    imputation = _expect(data.get("imputation"), dict, where, "imputation")
    if imputation.get("strategy") not in ("mean", "median", "most_frequent"):
        raise ConfigError(
            f"{where}: imputation.strategy must be mean, median or "
            f"most_frequent, got {imputation.get('strategy')!r}."
        )
    validation = _expect(data.get("validation"), dict, where, "validation")
    fraction = _expect(validation.get("fraction"), float, where, "validation.fraction")
    if not 0.0 < fraction < 1.0:
        raise ConfigError(f"{where}: validation.fraction must lie in (0, 1), got {fraction}.")
    if validation.get("split") not in ("auto", "time", "shuffle", "stratified"):
        raise ConfigError(
            f"{where}: validation.split must be auto, time, shuffle or "
            f"stratified, got {validation.get('split')!r}."
        )
    stopping = _expect(data.get("early_stopping"), dict, where, "early_stopping")
    _expect(stopping.get("threshold"), (int, float), where, "early_stopping.threshold")
    _expect(stopping.get("auto_min_samples"), int, where, "early_stopping.auto_min_samples")
    torch_settings = _expect(data.get("torch"), dict, where, "torch")
    if torch_settings.get("cpu_kernels") not in ("portable", "onednn"):
        raise ConfigError(
            f"{where}: torch.cpu_kernels must be portable or onednn, got "
            f"{torch_settings.get('cpu_kernels')!r}."
        )
    return data


def load_callbacks(family: str) -> dict[str, Any]:
    """Return the torch training callbacks for ``family`` from ``callbacks.yaml``.

    Returns
    -------
    callbacks : dict
        ``patience`` (early stopping), ``lr_patience``, ``lr_factor`` and ``min_lr``.
    """
    where = "configs/callbacks.yaml"
    data = load_yaml("callbacks.yaml")
    stopping = _expect(data.get("early_stopping"), dict, where, "early_stopping")
    plateau = _expect(data.get("lr_on_plateau"), dict, where, "lr_on_plateau")
    per_family = stopping.get("per_family") or {}
    _expect(per_family, dict, where, "early_stopping.per_family")
    patience = per_family.get(family, stopping.get("patience"))
    out = {
        "patience": _expect(patience, int, where, f"early_stopping patience of {family!r}"),
        "lr_patience": _expect(plateau.get("patience"), int, where, "lr_on_plateau.patience"),
        "lr_factor": _expect(plateau.get("factor"), float, where, "lr_on_plateau.factor"),
        "min_lr": _expect(plateau.get("min_lr"), (int, float), where, "lr_on_plateau.min_lr"),
    }
    if not 0.0 < out["lr_factor"] < 1.0:
        raise ConfigError(f"{where}: lr_on_plateau.factor must lie in (0, 1).")
    if out["patience"] < 1 or out["lr_patience"] < 1:
        raise ConfigError(f"{where}: patience values must be >= 1.")
    return out


def load_family_file(family: str) -> dict[str, Any]:
    """Return ``models/<family>.yaml`` with its three blocks checked for shape."""
    where = f"configs/models/{family}.yaml"
    data = load_yaml(f"models/{family}.yaml")
    unknown = set(data) - set(_SECTIONS)
    if unknown:
        raise ConfigError(
            f"{where}: unknown top-level key(s) {sorted(unknown)}; expected {list(_SECTIONS)}."
        )
    hyper = data.get("hyperparameters") or {}
    _expect(hyper, dict, where, "hyperparameters")
    variants = data.get("variants") or {}
    _expect(variants, dict, where, "variants")
    for name, block in variants.items():
        _expect(block, dict, where, f"variants.{name}")
    metadata = data.get("metadata") or {}
    _expect(metadata, dict, where, "metadata")
    for key, kind in _METADATA_TYPES.items():
        if key not in metadata:
            raise ConfigError(f"{where}: metadata.{key} is missing.")
        _expect(metadata[key], kind, where, f"metadata.{key}")
    demo = metadata.get("demo_variant")
    if demo is not None and demo not in variants:
        raise ConfigError(
            f"{where}: metadata.demo_variant {demo!r} is not one of the "
            f"variants {sorted(variants)}."
        )
    if metadata["input_mode"] not in _INPUT_MODES:
        raise ConfigError(
            f"{where}: metadata.input_mode must be one of {_INPUT_MODES}, got "
            f"{metadata['input_mode']!r}."
        )
    bad_tasks = set(metadata["tasks"]) - set(_TASKS)
    if bad_tasks or not metadata["tasks"]:
        raise ConfigError(
            f"{where}: metadata.tasks must be a non-empty list drawn from "
            f"{_TASKS}, got {metadata['tasks']!r}."
        )
    return {"hyperparameters": hyper, "variants": variants, "metadata": metadata}
