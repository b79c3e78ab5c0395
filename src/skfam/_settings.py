"""Global settings of skfam: ``get_config``, ``set_config``, ``config_context``.

The settings are process-wide and thread-local, in the style of scikit-learn's own
``sklearn.get_config``. A setting left at ``None`` means "take it from the shipped SST"
(``configs/defaults.yaml``, possibly overridden by ``config_dir``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_KEYS = ("base_seed", "n_jobs", "device", "config_dir")
_DEVICES = ("auto", "cpu", "cuda")

_global: dict[str, Any] = {key: None for key in _KEYS}
_local = threading.local()


def _state() -> dict[str, Any]:
    if not hasattr(_local, "config"):
        _local.config = dict(_global)
    return _local.config


def _check(key: str, value: Any) -> Any:
    if value is None:
        return None
    if key == "base_seed":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**32:
            raise ValueError(f"base_seed must be an int in [0, 2**32), got {value!r}.")
    elif key == "n_jobs":
        if isinstance(value, bool) or not isinstance(value, int) or value == 0:
            raise ValueError(f"n_jobs must be a non-zero int or None, got {value!r}.")
    elif key == "device":
        if not isinstance(value, str) or not (value in _DEVICES or value.startswith("cuda:")):
            raise ValueError(f"device must be one of {_DEVICES} or 'cuda:N', got {value!r}.")
    elif key == "config_dir":
        if not isinstance(value, (str, os.PathLike)):
            raise TypeError(f"config_dir must be a path, got {type(value).__name__}.")
        path = Path(value)
        if not path.is_dir():
            raise ValueError(f"config_dir {str(path)!r} is not a directory.")
        return path
    return value


def get_config() -> dict[str, Any]:
    """Return the current global settings.

    Returns
    -------
    config : dict
        Keys ``base_seed``, ``n_jobs``, ``device`` and ``config_dir``. ``None`` means the
        value comes from the SST (``configs/defaults.yaml``); ``config_dir`` falls back to
        the environment variable ``SKFAM_CONFIG_DIR``.

    Examples
    --------
    >>> import skfam
    >>> sorted(skfam.get_config())
    ['base_seed', 'config_dir', 'device', 'n_jobs']
    """
    config = dict(_state())
    if config["config_dir"] is None and os.environ.get("SKFAM_CONFIG_DIR"):
        config["config_dir"] = _check("config_dir", os.environ["SKFAM_CONFIG_DIR"])
    return config


def set_config(
    base_seed: int | None = None,
    n_jobs: int | None = None,
    device: str | None = None,
    config_dir: str | os.PathLike | None = None,
) -> None:
    """Set global settings; an argument left at ``None`` keeps its current value.

    Parameters
    ----------
    base_seed : int, default=None
        Seed used by estimators whose ``random_state`` is None (overrides the SST value).
    n_jobs : int, default=None
        Thread count for estimators whose ``n_jobs`` is None; negative values count back
        from the number of cores as in scikit-learn (-1 = all).
    device : {"auto", "cpu", "cuda"} or "cuda:N", default=None
        Device of the torch families whose ``device`` is None.
    config_dir : path, default=None
        A folder whose YAML files (same layout as the shipped ``configs/``) are deep-merged
        over the shipped ones.

    Examples
    --------
    >>> import skfam
    >>> with skfam.config_context(base_seed=7):
    ...     skfam.get_config()["base_seed"]
    7
    """
    state = _state()
    for key, value in zip(_KEYS, (base_seed, n_jobs, device, config_dir), strict=True):
        if value is not None:
            state[key] = _check(key, value)


@contextmanager
def config_context(**settings: Any) -> Iterator[None]:
    """Change global settings inside a ``with`` block and restore them afterwards.

    Parameters
    ----------
    **settings
        Any of the keyword arguments of :func:`set_config`.

    Examples
    --------
    >>> import skfam
    >>> with skfam.config_context(n_jobs=1):
    ...     skfam.get_config()["n_jobs"]
    1
    """
    unknown = set(settings) - set(_KEYS)
    if unknown:
        raise TypeError(f"Unknown skfam setting(s) {sorted(unknown)}; known: {list(_KEYS)}.")
    old = dict(_state())
    set_config(**settings)
    try:
        yield
    finally:
        _state().clear()
        _state().update(old)
