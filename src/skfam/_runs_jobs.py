"""One training job of a run: a picklable top-level function, the same in-process and on dask.

:func:`run_job` takes a job spec (family, task, estimator class, constructor params, the
settings to apply) and its train/test arrays, fits, predicts the test rows, scores them and
returns everything the run folder records, the model file's bytes included. It applies the
seed, config folder and device settings of the spec itself, so it gives the same model in
the calling process, in a fresh one (``skfam verify``) and on a dask worker.
"""

from __future__ import annotations

import hashlib
import os
import platform
import socket
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext, redirect_stderr
from importlib import metadata
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from ._version import __version__
from .model_file import npy_bytes

__all__ = ["environment", "run_job", "sha256_bytes"]

#: Distributions whose versions a run records (those installed).
_PACKAGES = (
    "numpy",
    "scipy",
    "scikit-learn",
    "lightgbm",
    "torch",
    "skorch",
    "xgboost",
    "ngboost",
    "safetensors",
    "skops",
    "threadpoolctl",
    "pyyaml",
    "pandas",
    "pyarrow",
    "matplotlib",
    "dask",
    "distributed",
)


def sha256_bytes(data: bytes) -> str:
    """Return the SHA-256 of ``data`` in hex."""
    return hashlib.sha256(data).hexdigest()


def versions() -> dict[str, str | None]:
    """Return the versions of Python, skfam and the libraries a result depends on."""
    found: dict[str, str | None] = {"python": platform.python_version(), "skfam": __version__}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def _cuda_devices() -> list[str]:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return []
    if not torch.cuda.is_available():
        return []
    return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]


def environment() -> dict[str, Any]:
    """Return the platform and devices of this process, for a run's manifest."""
    return {
        "platform": {
            "system": platform.platform(),
            "machine": platform.machine(),
            "processor": platform.processor() or None,
            "python_implementation": platform.python_implementation(),
            "host": socket.gethostname(),
            "cpu_count": os.cpu_count(),
        },
        "cuda_devices": _cuda_devices(),
        "versions": versions(),
    }


def where() -> dict[str, Any]:
    """Return where this code runs: dask worker address (or None), host and pid."""
    worker = None
    distributed = sys.modules.get("distributed")
    if distributed is not None:
        try:
            worker = distributed.get_worker().address
        except ValueError:  # not inside a dask worker
            worker = None
    return {"worker": worker, "host": socket.gethostname(), "pid": os.getpid()}


def _device_name(device: Any) -> str:
    """Return "cpu" or the name of the CUDA device an estimator used."""
    if not isinstance(device, str) or not device.startswith("cuda"):
        return "cpu"
    import torch

    index = int(device.split(":")[1]) if ":" in device else torch.cuda.current_device()
    return f"{device} ({torch.cuda.get_device_name(index)})"


@contextmanager
def job_settings(settings: dict[str, Any]) -> Iterator[None]:
    """Apply a run's settings (seed, config folder, device) for the block, and check them.

    A worker whose own ``SKFAM_CONFIG_DIR`` differs from the run's is refused rather than
    used: it would train with other hyperparameters.
    """
    from ._settings import active_config_dir, config_context

    wanted = settings.get("config_dir")
    given = {"base_seed": settings["base_seed"], "device": settings["device"]}
    if wanted is not None:
        given["config_dir"] = wanted
    with config_context(**given):
        active = active_config_dir()
        active_text = None if active is None else os.path.abspath(active)
        if active_text != wanted:
            raise RuntimeError(
                f"this process uses the config folder {active_text} (SKFAM_CONFIG_DIR) but the "
                f"run used {wanted or 'the shipped configs'}; unset SKFAM_CONFIG_DIR here."
            )
        yield


def _score(task: str, y_true: np.ndarray, predicted: np.ndarray) -> tuple[str, float]:
    from sklearn.metrics import accuracy_score, r2_score

    if task == "regression":
        return "r2", float(r2_score(y_true, predicted))
    return "accuracy", float(accuracy_score(y_true, predicted))


def _model_bytes(model: Any) -> bytes:
    with tempfile.TemporaryDirectory(prefix="skfam-job-") as folder:
        path = Path(folder) / "model.skfam"
        model.save_model(path)
        return path.read_bytes()


def run_job(
    spec: dict[str, Any], data: dict[str, np.ndarray], stream: TextIO | None = None
) -> dict[str, Any]:
    """Fit one family on its train rows, predict its test rows, return what a run records.

    Parameters
    ----------
    spec : dict
        ``name``, ``family``, ``task``, ``class`` (estimator class name), ``params``
        (constructor arguments, JSON-encoded as model files encode them), ``settings``
        (``base_seed``, ``config_dir``, ``device``) and ``verbose`` (passed where the
        estimator takes it).
    data : dict of str to ndarray
        ``X_train``, ``y_train``, ``X_test``, ``y_test``.
    stream : text stream, default=None
        Where the estimator's progress goes (None: ``sys.stderr``).

    Returns
    -------
    result : dict
        ``status`` ("ok" or "failed"), ``where`` (worker, host, pid) and, when ok,
        ``metric``, ``score``, ``fit_seconds``, ``params_``, ``random_state_``, ``device``,
        the model file's bytes and SHA-256, and the ``.npy`` bytes and SHA-256 of the test
        predictions (and, for classifiers, of the class probabilities); when failed,
        ``error`` and ``traceback``. An exception of the fit is returned, not raised.
    """
    from ._registry import estimator_class
    from .model_file import _decode, _encode

    result: dict[str, Any] = {"name": spec["name"], "where": where()}
    try:
        with job_settings(spec["settings"]):
            cls = estimator_class(spec["class"])
            model = cls(**_decode(spec["params"]))
            talk = bool(spec.get("verbose")) and "verbose" in cls._get_param_names()
            if talk:
                model.set_params(verbose=spec["verbose"])
            with redirect_stderr(stream) if stream is not None else nullcontext():
                started = time.perf_counter()
                model.fit(data["X_train"], data["y_train"])
                seconds = time.perf_counter() - started
            if talk:  # progress changes no fitted bit; the saved model is a quiet one
                model.set_params(verbose=0)
            predicted = np.asarray(model.predict(data["X_test"]))
            proba = None
            if spec["task"] == "classification" and hasattr(model, "predict_proba"):
                proba = np.asarray(model.predict_proba(data["X_test"]), dtype=np.float64)
            metric, score = _score(spec["task"], data["y_test"], predicted)
            model_file = _model_bytes(model)
            params_ = _encode(model.params_, f"{spec['class']}.params_")
    except Exception as exc:  # reported per family; the other families go on
        result.update(
            status="failed",
            error=f"{type(exc).__name__}: {exc}",
            traceback=traceback.format_exc(),
        )
        return result
    predictions = npy_bytes(predicted)
    result.update(
        status="ok",
        metric=metric,
        score=score,
        fit_seconds=seconds,
        params_=params_,
        random_state_=int(model.random_state_),
        device=_device_name(getattr(model, "device_", None)),
        model_bytes=model_file,
        model_sha256=sha256_bytes(model_file),
        predictions_bytes=predictions,
        predictions_sha256=sha256_bytes(predictions),
        n_train=len(data["y_train"]),
        n_test=len(data["y_test"]),
    )
    if proba is not None:
        probabilities = npy_bytes(proba)
        result.update(
            probabilities_bytes=probabilities, probabilities_sha256=sha256_bytes(probabilities)
        )
    return result
