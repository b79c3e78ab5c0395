"""Versioned, pickle-free model files: :func:`save_model` and :func:`load_model`.

A model file is a ZIP archive holding

* ``manifest.json``: format version, skfam and library versions, the estimator's class and
  constructor parameters, its fitted scalars (seed, resolved params, feature names, ...) and
  the SHA-256 of every other member;
* ``manifest.sha256``: the SHA-256 of ``manifest.json``;
* ``arrays/<name>.npy``: numeric arrays, read with ``allow_pickle=False``;
* ``blobs/<name>``: the model in the library's own safe form (LightGBM's model text, torch
  weights as safetensors, scikit-learn objects through skops with an explicit list of
  trusted types).

Nothing in a model file is ever unpickled, so a crafted file cannot run code on load.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import warnings
import zipfile
import zlib
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from ._version import __version__

__all__ = [
    "FORMAT_VERSION",
    "ModelFileError",
    "ModelVersionWarning",
    "load_model",
    "save_model",
]

#: Version of the file layout; a file with a larger number is refused.
FORMAT_VERSION = 1
_MAGIC = "skfam-model"
_LIBRARIES = ("numpy", "scikit-learn", "lightgbm", "torch", "skorch", "xgboost")


class ModelFileError(ValueError):
    """A model file is truncated, altered, of an unknown format or otherwise unusable."""


class ModelVersionWarning(UserWarning):
    """A model file was written with other library versions than the ones installed."""


def _library_versions() -> dict[str, str]:
    versions = {"skfam": __version__}
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


# ---------------------------------------------------------------------- JSON of parameters
def _encode(value: Any, where: str) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, where) for v in value]}
    if isinstance(value, list):
        return [_encode(v, where) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _encode(v, f"{where}.{k}") for k, v in value.items()}
    raise TypeError(
        f"{where} = {value!r} cannot be stored in a model file (only None, bool, int, float, "
        "str, lists, tuples and dicts of these); pass e.g. an int random_state instead."
    )


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"__tuple__"}:
            return tuple(_decode(v) for v in value["__tuple__"])
        return {k: _decode(v) for k, v in value.items()}
    return value


# ---------------------------------------------------------------------- skops helpers
def dump_sklearn(obj: Any) -> bytes:
    """Serialise a scikit-learn object with skops (no pickle)."""
    import skops.io

    return skops.io.dumps(obj)


# Plain containers and numeric types any skops blob may hold besides the listed classes.
_SKOPS_PLAIN = frozenset(
    [
        f"builtins.{name}"
        for name in ("list", "dict", "tuple", "str", "int", "float", "bool", "NoneType", "slice")
    ]
    + [
        f"numpy.{name}"
        for name in (
            "ndarray",
            "dtype",
            "float64",
            "float32",
            "int64",
            "int32",
            "intp",
            "bool_",
            "uint8",
        )
    ]
)


def _skops_types(data: bytes) -> set[str]:
    """Return every ``module.class`` named in a skops blob's schema, without loading it."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        schema = json.loads(archive.read("schema.json"))
    found: set[str] = set()
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "__class__" in node:
                found.add(f"{node.get('__module__')}.{node['__class__']}")
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def load_sklearn(data: bytes, trusted: list[str]) -> Any:
    """Load a skops blob holding only the listed classes (and plain containers/numbers).

    skops' own default trust list accepts many scikit-learn classes; this check is stricter:
    any class outside ``trusted`` is refused before skops constructs anything.
    """
    import skops.io

    try:
        found = _skops_types(data)
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise ModelFileError(f"a scikit-learn member is not a valid skops blob: {exc}") from exc
    untrusted = found - set(trusted) - _SKOPS_PLAIN
    if untrusted:
        raise ModelFileError(f"model file holds untrusted types {sorted(untrusted)}.")
    return skops.io.loads(data, trusted=sorted(found))


# ---------------------------------------------------------------------- save
def _npy(array: np.ndarray) -> bytes:
    array = np.asarray(array)
    if array.dtype == object:
        if not all(isinstance(v, str) for v in array.ravel()):
            raise TypeError("only numeric or string arrays can be stored in a model file.")
        array = array.astype(str)
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def save_model(estimator: Any, path: str | os.PathLike) -> None:
    """Write a fitted skfam estimator to ``path`` atomically.

    Parameters
    ----------
    estimator : skfam estimator
        A fitted estimator.
    path : str or path-like
        The file to write. It appears only once complete (written to a temporary file in
        the same folder, then renamed over ``path``).
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator)
    name = type(estimator).__name__
    meta, arrays, blobs = estimator._model_state()
    arrays = dict(arrays)
    imputer = estimator.imputer_
    arrays["imputer.statistics"] = imputer.statistics_
    arrays["imputer.empty_features"] = imputer.empty_features_
    if hasattr(estimator, "classes_"):
        arrays["classes"] = estimator.classes_
    if hasattr(estimator, "feature_names_in_"):
        arrays["feature_names_in"] = estimator.feature_names_in_
    members = {f"arrays/{k}.npy": _npy(v) for k, v in arrays.items()}
    members.update({f"blobs/{k}": v for k, v in blobs.items()})
    manifest = {
        "format": _MAGIC,
        "format_version": FORMAT_VERSION,
        "versions": _library_versions(),
        "estimator": name,
        "params": _encode(estimator.get_params(deep=False), f"{name} parameter"),
        "fitted": {
            "random_state_": estimator.random_state_,
            "params_": _encode(estimator.params_, f"{name}.params_"),
            "n_features_in_": int(estimator.n_features_in_),
            "imputer_strategy": imputer.strategy,
            "family": _encode(meta, f"{name} state"),
        },
        "checksums": {k: hashlib.sha256(v).hexdigest() for k, v in members.items()},
    }
    manifest_bytes = json.dumps(manifest, indent=1, sort_keys=True).encode("utf-8")
    target = Path(path)
    handle, tmp = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".tmp", dir=target.parent if str(target.parent) else "."
    )
    try:
        with os.fdopen(handle, "wb") as raw:
            with zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                archive.writestr("manifest.json", manifest_bytes)
                archive.writestr("manifest.sha256", hashlib.sha256(manifest_bytes).hexdigest())
                for member, data in members.items():
                    archive.writestr(member, data)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# ---------------------------------------------------------------------- load
def _read_members(path: Path) -> tuple[dict, dict[str, bytes]]:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if "manifest.json" not in names or "manifest.sha256" not in names:
                raise ModelFileError(f"{path}: not a skfam model file (no manifest).")
            contents = {name: archive.read(name) for name in names}
    except (zipfile.BadZipFile, zlib.error) as exc:
        raise ModelFileError(
            f"{path}: not a complete skfam model file (truncated, altered or not a model "
            f"file): {exc}"
        ) from exc
    except (EOFError, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ModelFileError(f"{path}: the model file cannot be read ({exc}).") from exc
    manifest_bytes = contents.pop("manifest.json")
    digest = contents.pop("manifest.sha256").decode("ascii", "replace").strip()
    if hashlib.sha256(manifest_bytes).hexdigest() != digest:
        raise ModelFileError(f"{path}: the manifest was altered (checksum mismatch).")
    try:
        manifest = json.loads(manifest_bytes)
    except ValueError as exc:
        raise ModelFileError(f"{path}: the manifest is not valid JSON.") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != _MAGIC:
        raise ModelFileError(f"{path}: not a skfam model file.")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise ModelFileError(f"{path}: invalid format_version {version!r}.")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: written in model-file format {version}, newer than the format "
            f"{FORMAT_VERSION} this skfam {__version__} reads; upgrade skfam to load it."
        )
    checksums = manifest.get("checksums", {})
    if set(checksums) != set(contents):
        raise ModelFileError(f"{path}: the archive's members do not match its manifest.")
    for name, data in contents.items():
        if hashlib.sha256(data).hexdigest() != checksums[name]:
            raise ModelFileError(f"{path}: member {name!r} was altered (checksum mismatch).")
    return manifest, contents


def _load_npy(data: bytes, name: str, path: Path) -> np.ndarray:
    try:
        return np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError as exc:
        raise ModelFileError(f"{path}: array {name!r} cannot be read safely: {exc}") from exc


def load_model(path: str | os.PathLike) -> Any:
    """Load an estimator saved with ``save_model``, without unpickling anything.

    Parameters
    ----------
    path : str or path-like
        A file written by ``save_model``.

    Returns
    -------
    estimator : skfam estimator
        Fitted; it predicts bit for bit like the saved one.

    Raises
    ------
    ModelFileError
        The file is truncated, altered, not a model file, or from a newer format.

    Warns
    -----
    ModelVersionWarning
        The file was written with other versions of skfam or its libraries.

    Examples
    --------
    >>> import tempfile, os
    >>> from sklearn.datasets import make_regression
    >>> import skfam
    >>> X, y = make_regression(n_samples=100, n_features=4, random_state=0)
    >>> reg = skfam.LightGBMRegressor(variant="fast").fit(X, y)
    >>> path = os.path.join(tempfile.mkdtemp(), "reg.skfam")
    >>> reg.save_model(path)
    >>> bool((skfam.load_model(path).predict(X) == reg.predict(X)).all())
    True
    """
    from ._registry import all_estimators

    path = Path(path)
    manifest, contents = _read_members(path)
    classes = dict(all_estimators())
    name = manifest.get("estimator")
    if name not in classes:
        raise ModelFileError(
            f"{path}: unknown estimator class {name!r}; known: {sorted(classes)}."
        )
    saved = manifest.get("versions", {})
    current = _library_versions()
    differ = {k: (v, current.get(k)) for k, v in saved.items() if current.get(k) != v}
    if differ:
        listed = ", ".join(f"{k} {old} (now {new})" for k, (old, new) in sorted(differ.items()))
        warnings.warn(
            f"{path} was written with {listed}; predictions may differ.",
            ModelVersionWarning,
            stacklevel=2,
        )
    arrays, blobs = {}, {}
    for member, data in contents.items():
        if member.startswith("arrays/") and member.endswith(".npy"):
            arrays[member[len("arrays/") : -len(".npy")]] = _load_npy(data, member, path)
        elif member.startswith("blobs/"):
            blobs[member[len("blobs/") :]] = data
        else:
            raise ModelFileError(f"{path}: unexpected member {member!r}.")
    try:
        fitted = manifest["fitted"]
        estimator = classes[name](**_decode(manifest["params"]))
        estimator.random_state_ = int(fitted["random_state_"])
        estimator.params_ = _decode(fitted["params_"])
        estimator.n_features_in_ = int(fitted["n_features_in_"])
        imputer = estimator._make_imputer(fitted["imputer_strategy"])
        imputer.statistics_ = arrays.pop("imputer.statistics").astype(np.float64)
        imputer.empty_features_ = arrays.pop("imputer.empty_features").astype(bool)
        imputer.n_features_in_ = estimator.n_features_in_
        estimator.imputer_ = imputer
        if "classes" in arrays:
            estimator.classes_ = arrays.pop("classes")
        if "feature_names_in" in arrays:
            estimator.feature_names_in_ = arrays.pop("feature_names_in").astype(object)
        estimator._restore_model_state(_decode(fitted["family"]), arrays, blobs)
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{path}: the model file is inconsistent: {exc!r}") from exc
    return estimator
