"""Global settings of skfam: ``get_config``, ``set_config``, ``reset_config``, ``config_context``.

The settings are process-wide: every thread sees the values last set in the process, so the
workers of joblib's threading backend see those of the code that started them. A setting
that is not set comes from the SST (``configs/defaults.yaml``, possibly overridden by
``config_dir``); ``config_dir`` itself falls back to the environment variable
``SKFAM_CONFIG_DIR``.

Worker processes (joblib's loky and multiprocessing backends, dask.distributed's workers) get
the settings through the estimators sent to them: an estimator pickled while settings are set
carries a snapshot of them (:func:`carry_settings`), and in a worker its ``fit`` and thread
resolution run under exactly those settings (:func:`with_carried_settings`); copies and
clones made there keep the snapshot. A worker is a process started by the pickling one, or a
dask worker or scheduler that received the estimator through dask. Elsewhere, e.g. in another
session that loads the pickle or in a copy made by the same process, the snapshot is dropped
(:func:`receive_settings`).
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

__all__ = [
    "active_config_dir",
    "carry_settings",
    "clone_settings",
    "config_context",
    "explicit_settings",
    "get_config",
    "receive_settings",
    "reset_config",
    "set_config",
    "with_carried_settings",
]

_KEYS = ("base_seed", "n_jobs", "device", "config_dir")
_DEVICES = ("auto", "cpu", "cuda")
#: Key of the carried snapshot in an estimator's pickled state (and ``__dict__``). It must
#: not end with "_": scikit-learn takes such attributes as a sign of being fitted.
CARRIED_KEY = "_skfam_settings"

_lock = threading.RLock()
#: Settings set with set_config / config_context in this process (absent: from the SST).
_explicit: dict[str, Any] = {}
#: Snapshots applied by running methods of estimators that carried them, innermost last;
#: while one is active it replaces ``_explicit`` (see :func:`_applied`).
_carried: list[dict[str, Any]] = []

_Method = TypeVar("_Method", bound=Callable[..., Any])


#: Largest thread count ``n_jobs`` may ask for, either sign: the thread pools take a C int,
#: and a pool of millions of threads is never what a user means.
MAX_THREADS = 1024


def _check(key: str, value: Any) -> Any:
    if key == "base_seed":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**32:
            raise ValueError(f"base_seed must be an int in [0, 2**32), got {value!r}.")
    elif key == "n_jobs":
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or value == 0
            or abs(value) > MAX_THREADS
        ):
            raise ValueError(
                f"n_jobs must be a non-zero int in [-{MAX_THREADS}, {MAX_THREADS}] or None, "
                f"got {value!r}."
            )
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


def _check_keys(keys: Any) -> None:
    unknown = sorted(set(keys) - set(_KEYS))
    if unknown:
        raise TypeError(f"Unknown skfam setting(s) {unknown}; known: {list(_KEYS)}.")


def _view() -> dict[str, Any]:
    """Return the settings in force (lock held): the innermost carried snapshot, else ours."""
    return dict(_carried[-1]) if _carried else dict(_explicit)


def explicit_settings() -> dict[str, Any]:
    """Return the settings that do not come from the SST (private: for ``skfam._sst``).

    Returns
    -------
    settings : dict
        Only the keys that are set (by :func:`set_config`, :func:`config_context` or a
        carried snapshot); ``config_dir`` is not resolved from the environment here.
    """
    with _lock:
        view = _view()
    return {key: value for key, value in view.items() if value is not None}


def _config_dir_setting() -> str | os.PathLike | None:
    """Return the ``config_dir`` in force, not checked: the setting, else the environment."""
    with _lock:
        view = _view()
    if "config_dir" in view:
        # Always so for a carried snapshot: it holds the sender's config_dir, None included.
        return view["config_dir"]
    return os.environ.get("SKFAM_CONFIG_DIR") or None


def active_config_dir() -> Path | None:
    """Return the ``config_dir`` in force: the setting, else ``SKFAM_CONFIG_DIR``, else None.

    Returns
    -------
    config_dir : Path or None
        The folder whose YAML files are merged over the shipped ones.

    Raises
    ------
    ValueError
        The folder (e.g. named by ``SKFAM_CONFIG_DIR``) is not a directory.
    """
    value = _config_dir_setting()
    return None if value is None else _check("config_dir", value)


def get_config() -> dict[str, Any]:
    """Return the settings in force: what is set, else the value of the SST.

    Returns
    -------
    config : dict
        ``base_seed`` (int), ``n_jobs`` (int, or None: the SST's "``OMP_NUM_THREADS`` when it
        is set, else every core"), ``device`` ("auto", "cpu", "cuda" or "cuda:N") and
        ``config_dir`` (a Path: the setting, else the environment variable
        ``SKFAM_CONFIG_DIR``; or None). Values not set come from ``configs/defaults.yaml``
        (with ``config_dir``'s copy merged over it), as an estimator would use them.

    Raises
    ------
    skfam.ConfigError
        ``defaults.yaml`` (shipped or in ``config_dir``) is invalid.

    Examples
    --------
    >>> import skfam
    >>> with skfam.config_context(device="cpu"):
    ...     skfam.get_config()["device"]
    'cpu'
    >>> skfam.get_config()["base_seed"]  # not set: the value of configs/defaults.yaml
    42
    """
    from ._sst import load_defaults  # _sst reads the settings: imported here, not above

    defaults = load_defaults()
    config = {key: defaults[key] for key in ("base_seed", "n_jobs", "device")}
    config["config_dir"] = active_config_dir()
    return config


def set_config(
    base_seed: int | None = None,
    n_jobs: int | None = None,
    device: str | None = None,
    config_dir: str | os.PathLike | None = None,
) -> None:
    """Set global settings for the whole process; an argument left at ``None`` is unchanged.

    Every value is checked before any is set. :func:`reset_config` takes a setting back to
    the SST's value.

    Parameters
    ----------
    base_seed : int, default=None
        Seed used by estimators whose ``random_state`` is None (overrides the SST value).
    n_jobs : int, default=None
        Thread count for estimators whose ``n_jobs`` is None; negative values count back
        from the number of cores as in scikit-learn (-1 = all). Never 0.
    device : {"auto", "cpu", "cuda"} or "cuda:N", default=None
        Device of the torch families whose ``device`` is None.
    config_dir : path, default=None
        A folder whose YAML files (same layout as the shipped ``configs/``) are deep-merged
        over the shipped ones.

    Raises
    ------
    ValueError
        A value out of range (e.g. ``n_jobs=0``, ``base_seed=-1``, ``device="gpu"``) or a
        ``config_dir`` that is not a directory.

    Examples
    --------
    >>> import skfam
    >>> skfam.set_config(base_seed=7)
    >>> skfam.get_config()["base_seed"]
    7
    >>> skfam.reset_config("base_seed")
    >>> skfam.get_config()["base_seed"]
    42
    """
    given = zip(_KEYS, (base_seed, n_jobs, device, config_dir), strict=True)
    checked = {key: _check(key, value) for key, value in given if value is not None}
    with _lock:
        _explicit.update(checked)


def reset_config(*keys: str) -> None:
    """Take settings back to "from the SST" (``config_dir``: from ``SKFAM_CONFIG_DIR``).

    Parameters
    ----------
    *keys : str
        Names of the settings to reset (``"base_seed"``, ``"n_jobs"``, ``"device"``,
        ``"config_dir"``); none given resets every setting.

    Raises
    ------
    TypeError
        An unknown setting name.

    Examples
    --------
    >>> import skfam
    >>> with skfam.config_context(n_jobs=1, device="cpu"):
    ...     skfam.reset_config("n_jobs")
    ...     skfam.get_config()["n_jobs"], skfam.get_config()["device"]
    (None, 'cpu')
    """
    _check_keys(keys)
    with _lock:
        for key in keys or _KEYS:
            _explicit.pop(key, None)


@contextmanager
def config_context(**settings: Any) -> Iterator[None]:
    """Change global settings inside a ``with`` block and restore them exactly afterwards.

    The settings are process-wide: threads running meanwhile see them too, so threads that
    run at the same time must not use different ``config_context`` blocks (as with
    ``torch.set_num_threads`` and threadpoolctl's limits).

    Parameters
    ----------
    **settings
        Any of the keyword arguments of :func:`set_config`.

    Raises
    ------
    TypeError
        An unknown setting name.
    ValueError
        An invalid value, as for :func:`set_config`; nothing is changed then.

    Examples
    --------
    >>> import skfam
    >>> with skfam.config_context(n_jobs=1):
    ...     skfam.get_config()["n_jobs"]
    1
    """
    _check_keys(settings)
    with _lock:
        previous = dict(_explicit)
        set_config(**settings)
    try:
        yield
    finally:
        with _lock:
            _explicit.clear()
            _explicit.update(previous)


# ------------------------------------------------------------------ carrying to workers
def _start_time(pid: int) -> str | None:
    """Return the start time of process ``pid`` (Linux: ticks after boot), else None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Fields after the command name (which may hold spaces): state is field 3, starttime 22.
    return stat.rsplit(")", 1)[1].split()[19]


def _origin(pid: int) -> dict[str, Any]:
    return {"host": socket.gethostname(), "pid": pid, "start": _start_time(pid)}


#: How many frames above the check may lead to dask's ``loads``: the check's callers here,
#: the estimator's ``__setstate__`` chain, the pure-Python unpickler if one is used.
_MAX_FRAMES = 20


def _unpickled_by_dask() -> bool:
    """Return whether dask.distributed's transport is unpickling the caller's estimator.

    dask deserializes what it receives (the task graph on the scheduler; task arguments,
    scattered data and results on the workers) with ``distributed.protocol``, on the event
    loop or an offload thread, not in the thread that runs the task: ``get_worker()`` does
    not answer there, but the caller's stack shows it. A pickle loaded by code (a task's
    ``joblib.load``) has no ``distributed.protocol`` frame in between.
    """
    frame = sys._getframe(1)
    for _ in range(_MAX_FRAMES):
        if frame is None:
            return False
        if frame.f_globals.get("__name__", "").startswith("distributed.protocol"):
            return True
        frame = frame.f_back
    return False


def _runs_dask_server() -> bool:
    """Return whether a dask.distributed worker or scheduler runs in this process.

    dask is never imported here: without ``distributed`` in ``sys.modules`` none runs.
    """
    for module, name in (("distributed.worker", "Worker"), ("distributed.scheduler", "Scheduler")):
        server_class = getattr(sys.modules.get(module), name, None)
        for server in list(getattr(server_class, "_instances", ())):
            status = getattr(getattr(server, "status", None), "name", None)
            if status not in ("closed", "failed"):
                return True
    return False


def _parent_pids() -> set[int]:
    """Return the pids that may have started this process: OS parent, multiprocessing owner."""
    pids = {os.getppid()}
    parent = multiprocessing.parent_process()
    if parent is not None and parent.pid is not None:
        pids.add(parent.pid)
    return pids


def carry_settings(state: dict[str, Any]) -> dict[str, Any]:
    """Return an estimator's pickled ``state`` with a snapshot of the settings it runs under.

    An estimator that received a snapshot passes the same settings on (a copy made in a
    worker keeps them); otherwise the snapshot holds the settings in force here, and is added
    only when a setting (or ``SKFAM_CONFIG_DIR``) is set. The snapshot lists the processes
    that pickled it, each by host, pid and start time.

    Parameters
    ----------
    state : dict
        The estimator's state as ``__getstate__`` gives it; it is not changed.

    Returns
    -------
    state : dict
        A new dict.
    """
    state = dict(state)
    received = state.pop(CARRIED_KEY, None)
    if received is not None:
        origins = [*received["origins"], _origin(os.getpid())]
        state[CARRIED_KEY] = {"origins": origins, "settings": received["settings"]}
        return state
    settings = explicit_settings()
    config_dir = _config_dir_setting()
    if settings or config_dir is not None:
        settings["config_dir"] = None if config_dir is None else os.path.abspath(config_dir)
        state[CARRIED_KEY] = {"origins": [_origin(os.getpid())], "settings": settings}
    return state


def receive_settings(state: dict[str, Any]) -> dict[str, Any]:
    """Return an unpickled ``state``, keeping its snapshot only in a worker of its sender.

    The snapshot is kept when

    - a process that pickled it started this one (on the same host: joblib's workers);
    - dask.distributed's transport unpickles it in a process that runs a dask worker or
      scheduler, and the snapshot was taken in another process (a task, or data, sent to a
      cluster; not a result coming back to a session that runs a ``LocalCluster``);
    - or it is a copy made in this process of an estimator that kept one (a ``deepcopy`` in a
      worker).

    Otherwise (a copy made by the process that took the snapshot, a pickle loaded in another
    session or by a task's own code) it is dropped and the settings of this process apply.

    Parameters
    ----------
    state : dict
        The state handed to ``__setstate__``; it is not changed.

    Returns
    -------
    state : dict
        A new dict.
    """
    state = dict(state)
    carried = state.pop(CARRIED_KEY, None)
    if carried is not None and _keeps(carried["origins"]):
        state[CARRIED_KEY] = carried
    return state


def _keeps(origins: list[dict[str, Any]]) -> bool:
    """Return whether a snapshot pickled by ``origins`` (first: its taker) holds here."""
    parents = _parent_pids()
    if any(o["pid"] in parents and _origin(o["pid"]) == o for o in origins):
        return True
    here = _origin(os.getpid())
    if origins[0] == here:
        return False
    # Taken elsewhere: kept by the process that pickled it last (a copy made here), or
    # received through dask by one of its servers.
    return origins[-1] == here or (_unpickled_by_dask() and _runs_dask_server())


def clone_settings(source: Any, clone: Any) -> Any:
    """Give ``clone`` the snapshot that ``source`` received, if any (see ``__sklearn_clone__``).

    Parameters
    ----------
    source : estimator
        The estimator that was cloned.
    clone : estimator
        Its clone, changed in place.

    Returns
    -------
    clone : estimator
        The same object.
    """
    carried = source.__dict__.get(CARRIED_KEY)
    if carried is not None:
        clone.__dict__[CARRIED_KEY] = carried
    return clone


@contextmanager
def _applied(carried: dict[str, Any]) -> Iterator[None]:
    """Run the block with exactly the carried settings in force (unset ones: the SST's).

    Raises
    ------
    ValueError
        The carried ``config_dir`` is not a directory here (e.g. a path of the client's
        machine, missing on a dask worker's host).
    """
    settings: dict[str, Any] = {"config_dir": None}
    for key, value in carried["settings"].items():
        if value is None:
            continue
        try:
            settings[key] = _check(key, value)
        except ValueError as error:
            if key != "config_dir":  # checked where the snapshot was taken: never here
                raise
            taker = carried["origins"][0]
            raise ValueError(
                f"This estimator carries the skfam settings of the process that sent it "
                f"(pid {taker['pid']} on host {taker['host']!r}), whose config_dir is "
                f"{str(value)!r}; that path is not a directory on this host "
                f"({socket.gethostname()!r}). Make config_dir exist at the same absolute path "
                f"on every machine that fits (e.g. on a shared file system)."
            ) from error
    with _lock:
        _carried.append(settings)
    try:
        yield
    finally:
        with _lock:
            # Remove this block's entry, wherever it is: blocks of other threads may end
            # in another order.
            index = next(i for i, entry in enumerate(_carried) if entry is settings)
            del _carried[index]


def with_carried_settings(method: _Method) -> _Method:
    """Decorate an estimator method to run under the settings the estimator carried.

    Without a carried snapshot (see :func:`receive_settings`) the method runs as it is.

    Parameters
    ----------
    method : callable
        A method whose first argument is the estimator.

    Returns
    -------
    wrapped : callable
        The decorated method.
    """

    @functools.wraps(method)
    def wrapped(self: Any, *args: Any, **kwargs: Any) -> Any:
        carried = self.__dict__.get(CARRIED_KEY)
        if carried is None:
            return method(self, *args, **kwargs)
        with _applied(carried):
            return method(self, *args, **kwargs)

    return wrapped  # type: ignore[return-value]
