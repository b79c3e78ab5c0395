"""Versioned, pickle-free model files: :func:`save_model` and :func:`load_model`.

A model file is a ZIP archive holding

* ``manifest.json``: format version, skfam and library versions, the estimator's class and
  constructor parameters, its fitted scalars (seed, resolved params, feature names, ...) and
  the size and SHA-256 of every other member;
* ``manifest.sha256``: the SHA-256 of ``manifest.json``;
* ``manifest.hmac`` (signed files only): the HMAC-SHA256 of ``manifest.json`` under the
  user's key;
* ``arrays/<name>.npy``: numeric arrays, read with ``allow_pickle=False``;
* ``blobs/<name>``: the model in the library's own safe form (LightGBM's model text, torch
  weights as safetensors, scikit-learn objects through skops with an explicit list of
  trusted types).

Nothing in a model file is ever unpickled, so a crafted file cannot run code on load, and
nothing is inflated beyond the sizes the manifest records (see ``docs/model-files.md``).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import re
import secrets
import stat
import tempfile
import warnings
import zipfile
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from ._safe_zip import (
    ZIP_ERRORS,
    ZipContentError,
    check_npy,
    check_stored_zip,
    open_archive,
    read_member,
)
from ._version import __version__
from ._warnings import SkfamWarning

__all__ = [
    "FORMAT_VERSION",
    "ModelFileError",
    "ModelVersionWarning",
    "load_model",
    "save_model",
]

#: Version of the file layout; a file with a larger number is refused. Version 2 added
#: ``sizes`` to the manifest and optional signing; version-1 files still load.
FORMAT_VERSION = 2
_MAGIC = "skfam-model"
_LIBRARIES = ("numpy", "scikit-learn", "lightgbm", "torch", "skorch", "xgboost")

#: Most bytes ``manifest.json`` may hold, and ``manifest.sha256`` / ``manifest.hmac``.
_MANIFEST_CAP = 16 << 20
_TAG_CAP = 256
#: All members together may inflate to at most this many bytes plus ``_RATIO`` times the
#: file's size (real model files inflate to a few times their size; a zip bomb to 1000).
_SLACK = 32 << 20
_RATIO = 100
_HEADER = ("manifest.json", "manifest.sha256", "manifest.hmac")
_NAME = r"[A-Za-z0-9_][A-Za-z0-9_.-]*"
_MEMBER = re.compile(rf"arrays/{_NAME}\.npy|blobs/{_NAME}")


class ModelFileError(ValueError):
    """A model file is truncated, altered, of an unknown format or otherwise unusable."""


class ModelVersionWarning(SkfamWarning):
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
    any class outside ``trusted`` is refused before skops constructs anything. The blob must
    be an uncompressed archive (as skops writes it) whose arrays match their headers, so it
    cannot inflate beyond its own size.
    """
    import skops.io

    try:
        check_stored_zip(data, "a scikit-learn member")
        found = _skops_types(data)
    except (ZipContentError, zipfile.BadZipFile, KeyError, ValueError, RecursionError) as exc:
        raise ModelFileError(f"a scikit-learn member is not a valid skops blob: {exc}") from exc
    untrusted = found - set(trusted) - _SKOPS_PLAIN
    if untrusted:
        raise ModelFileError(f"model file holds untrusted types {sorted(untrusted)}.")
    return skops.io.loads(data, trusted=sorted(found))


# ---------------------------------------------------------------------- keys
def _key_bytes(key: bytes | str | None) -> bytes | None:
    if key is None:
        return None
    if isinstance(key, str):
        key = key.encode("utf-8")
    elif isinstance(key, (bytes, bytearray, memoryview)):
        key = bytes(key)
    else:
        raise TypeError(f"key must be bytes or str, got {type(key).__name__}.")
    if not key:
        raise ValueError("key must not be empty; pass None for an unsigned file.")
    return key


def _tag(secret: bytes, manifest_bytes: bytes) -> str:
    return hmac.new(secret, manifest_bytes, hashlib.sha256).hexdigest()


# ---------------------------------------------------------------------- save
def npy_bytes(array: np.ndarray) -> bytes:
    """Return the ``.npy`` file of ``array``: numbers, or text as a unicode array; no pickle."""
    array = np.asarray(array)
    if array.dtype == object:
        if not all(isinstance(v, str) for v in array.ravel()):
            raise TypeError("only numeric or string arrays can be stored (no objects).")
        array = array.astype(str)
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _create_temp(folder: Path, name: str) -> tuple[int, Path]:
    """Create a new, empty temporary file next to the target.

    It is created with mode 0o666 so that the process umask applies, as for ``open()``.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = folder / f".{name}.{secrets.token_hex(6)}.tmp"
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"cannot create a temporary file in {folder}.")


def _write_atomic(path: str | os.PathLike, entries: list[tuple[str, bytes]]) -> None:
    """Write a ZIP of ``entries`` to ``path``, atomically, keeping its permissions.

    A symbolic link is followed: its target is replaced and the link stays.
    """
    target = Path(os.path.realpath(path))
    try:
        mode: int | None = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = None
    handle, tmp = _create_temp(target.parent, target.name)
    try:
        if mode is not None:
            os.chmod(tmp, mode)
        with os.fdopen(handle, "wb") as raw:
            with zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for member, data in entries:
                    archive.writestr(member, data)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save_model(estimator: Any, path: str | os.PathLike, *, key: bytes | str | None = None) -> None:
    """Write a fitted skfam estimator to ``path`` atomically.

    Parameters
    ----------
    estimator : skfam estimator
        A fitted estimator.
    path : str or path-like
        The file to write. It appears only once complete (written to a temporary file in
        the same folder, then renamed over ``path``). An existing file keeps its
        permissions; a new one gets those ``open()`` would give. If ``path`` is a symbolic
        link, the file it points to is replaced and the link stays.
    key : bytes or str, default=None
        Sign the file: an HMAC-SHA256 of the manifest under this key (a str is encoded as
        UTF-8) is stored with it, and ``load_model(path, key=key)`` refuses the file unless
        it was signed with the same key. None writes an unsigned file.
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator)
    secret = _key_bytes(key)
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
    members = {f"arrays/{k}.npy": npy_bytes(v) for k, v in arrays.items()}
    members.update({f"blobs/{k}": v for k, v in blobs.items()})
    odd = [member for member in members if not _MEMBER.fullmatch(member)]
    if odd:
        raise ValueError(f"{name}: invalid model-file member names {odd}.")
    manifest = {
        "format": _MAGIC,
        "format_version": FORMAT_VERSION,
        "versions": _library_versions(),
        "estimator": name,
        "estimator_module": type(estimator).__module__,
        "params": _encode(estimator.get_params(deep=False), f"{name} parameter"),
        "fitted": {
            "random_state_": estimator.random_state_,
            "params_": _encode(estimator.params_, f"{name}.params_"),
            "n_features_in_": int(estimator.n_features_in_),
            "imputer_strategy": imputer.strategy,
            "family": _encode(meta, f"{name} state"),
        },
        "checksums": {k: hashlib.sha256(v).hexdigest() for k, v in members.items()},
        "sizes": {k: len(v) for k, v in members.items()},
    }
    manifest_bytes = json.dumps(manifest, indent=1, sort_keys=True).encode("utf-8")
    entries = [
        ("manifest.json", manifest_bytes),
        ("manifest.sha256", hashlib.sha256(manifest_bytes).hexdigest().encode("ascii")),
    ]
    if secret is not None:
        entries.append(("manifest.hmac", _tag(secret, manifest_bytes).encode("ascii")))
    _write_atomic(path, entries + sorted(members.items()))


# ---------------------------------------------------------------------- load: container
def _parse_manifest(path: Path, manifest_bytes: bytes) -> dict:
    try:
        manifest = json.loads(manifest_bytes)
    except (ValueError, RecursionError) as exc:
        raise ModelFileError(f"{path}: the manifest is not valid JSON.") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != _MAGIC:
        raise ModelFileError(f"{path}: not a skfam model file.")
    version = manifest.get("format_version")
    if type(version) is not int or version < 1:
        raise ModelFileError(f"{path}: invalid format_version {version!r}.")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: written in model-file format {version}, newer than the format "
            f"{FORMAT_VERSION} this skfam {__version__} reads; upgrade skfam to load it."
        )
    return manifest


def _member_table(path: Path, manifest: dict, field: str, kind: type) -> dict:
    table = manifest.get(field)
    if not isinstance(table, dict) or not all(type(value) is kind for value in table.values()):
        raise ModelFileError(f"{path}: the manifest's {field!r} is missing or malformed.")
    return table


def _read_archive(
    path: Path,
    archive: zipfile.ZipFile,
    infos: dict[str, zipfile.ZipInfo],
    file_size: int,
    secret: bytes | None,
) -> tuple[dict, dict[str, bytes]]:
    """Check the manifest, then every member's declared size, then read them with a cap."""
    if "manifest.json" not in infos or "manifest.sha256" not in infos:
        raise ModelFileError(f"{path}: not a skfam model file (no manifest).")
    odd = sorted(n for n in infos if n not in _HEADER and not _MEMBER.fullmatch(n))
    if odd:
        raise ModelFileError(f"{path}: unexpected members {odd}.")
    manifest_bytes = read_member(archive, infos["manifest.json"], _MANIFEST_CAP)
    digest = read_member(archive, infos["manifest.sha256"], _TAG_CAP)
    if not hmac.compare_digest(hashlib.sha256(manifest_bytes).hexdigest().encode(), digest):
        raise ModelFileError(f"{path}: the manifest was altered (checksum mismatch).")
    if secret is not None:
        if "manifest.hmac" not in infos:
            raise ModelFileError(f"{path}: the file is not signed, and a key was given.")
        tag = read_member(archive, infos["manifest.hmac"], _TAG_CAP)
        if not hmac.compare_digest(_tag(secret, manifest_bytes).encode("ascii"), tag):
            raise ModelFileError(
                f"{path}: the signature does not match (another key, or an altered file)."
            )
    manifest = _parse_manifest(path, manifest_bytes)
    checksums = _member_table(path, manifest, "checksums", str)
    members = {n: info for n, info in infos.items() if n not in _HEADER}
    if set(checksums) != set(members):
        extra = sorted(set(members) - set(checksums))
        missing = sorted(set(checksums) - set(members))
        raise ModelFileError(
            f"{path}: the archive's members do not match its manifest (not in the manifest: "
            f"{extra}; missing: {missing})."
        )
    if manifest["format_version"] >= 2:
        sizes = _member_table(path, manifest, "sizes", int)
        if set(sizes) != set(members):
            raise ModelFileError(f"{path}: the manifest's sizes do not match its members.")
        for name, info in members.items():
            if info.file_size != sizes[name]:
                raise ModelFileError(
                    f"{path}: member {name!r} declares {info.file_size} bytes, the manifest "
                    f"{sizes[name]}."
                )
    total = sum(info.file_size for info in members.values())
    allowed = _SLACK + _RATIO * file_size
    if total > allowed:
        raise ModelFileError(
            f"{path}: its members would inflate to {total} bytes, more than the {allowed} "
            f"allowed for a file of {file_size} bytes; refused before inflating anything."
        )
    contents = {}
    for name, info in members.items():
        data = read_member(archive, info, info.file_size)
        if hashlib.sha256(data).hexdigest() != checksums[name]:
            raise ModelFileError(f"{path}: member {name!r} was altered (checksum mismatch).")
        contents[name] = data
    return manifest, contents


def _read_container(path: Path, secret: bytes | None) -> tuple[dict, dict[str, bytes]]:
    with open(path, "rb") as handle:
        file_size = os.fstat(handle.fileno()).st_size
        try:
            archive, infos = open_archive(handle)
            with archive:
                return _read_archive(path, archive, infos, file_size, secret)
        except ModelFileError:
            raise
        except ZipContentError as exc:
            raise ModelFileError(f"{path}: {exc}") from exc
        except ZIP_ERRORS as exc:
            raise ModelFileError(
                f"{path}: not a complete skfam model file (truncated, altered or not a model "
                f"file): {exc!r}"
            ) from exc


# ---------------------------------------------------------------------- load: content
class _Members(dict):
    """Arrays or blobs handed to a family's restore hook; remembers which ones it read."""

    def __init__(self, items: dict) -> None:
        super().__init__(items)
        self.used: set[str] = set()

    def __getitem__(self, key: str) -> Any:
        self.used.add(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.used.add(key)
        return super().get(key, default)

    def pop(self, key: str, *default: Any) -> Any:
        self.used.add(key)
        return super().pop(key, *default)


def _split_members(contents: dict[str, bytes]) -> tuple[dict[str, np.ndarray], dict[str, bytes]]:
    """Load the arrays (checked against their headers first) and pass the blobs on as bytes.

    Embedded archives (``.skops``, ``.npz``) are checked where they are read, by
    :func:`load_sklearn` and ``load_arrays``.
    """
    arrays, blobs = {}, {}
    for member, data in contents.items():
        if not member.startswith("arrays/"):
            blobs[member[len("blobs/") :]] = data
            continue
        try:
            check_npy(data, f"array {member!r}")
            arrays[member[len("arrays/") : -len(".npy")]] = np.load(
                io.BytesIO(data), allow_pickle=False
            )
        except ZipContentError as exc:
            raise ModelFileError(str(exc)) from exc
        except ValueError as exc:
            raise ModelFileError(f"array {member!r} cannot be read safely: {exc}") from exc
    return arrays, blobs


def _whole(value: Any, what: str, low: int, high: int | None = None) -> int:
    if type(value) is not int or value < low or (high is not None and value >= high):
        raise ModelFileError(f"{what} = {value!r} is not a valid value.")
    return value


def _vector(arrays: dict, name: str, kinds: str, length: int | None = None) -> np.ndarray:
    if name not in arrays:
        raise ModelFileError(f"array {name!r} is missing.")
    array = arrays.pop(name)
    if array.ndim != 1 or array.dtype.kind not in kinds:
        raise ModelFileError(
            f"array {name!r} has dtype {array.dtype} and shape {array.shape}; a 1-D array "
            f"of kind {kinds!r} was expected."
        )
    if length is not None and len(array) != length:
        raise ModelFileError(f"array {name!r} has {len(array)} entries, not {length}.")
    return array


def _restore(manifest: dict, cls: type, contents: dict[str, bytes]) -> Any:
    """Build the fitted estimator from checked members, validating the container's part."""
    from sklearn.base import is_classifier
    from sklearn.utils.validation import check_is_fitted

    from ._impute import _STRATEGIES
    from ._impute_seq import SequenceImputer

    arrays, blobs = _split_members(contents)
    fitted = manifest.get("fitted")
    params = _decode(manifest.get("params"))
    if not isinstance(fitted, dict) or not isinstance(params, dict):
        raise ModelFileError("the manifest's 'fitted' or 'params' is missing or malformed.")
    estimator = cls(**params)
    estimator._validate_params()
    estimator._threads()  # n_jobs as predict will resolve it
    estimator.random_state_ = _whole(fitted["random_state_"], "random_state_", 0, 2**32)
    estimator.params_ = _decode(fitted["params_"])
    if not isinstance(estimator.params_, dict):
        raise ModelFileError(f"params_ = {estimator.params_!r} is not a dict.")
    n_features = _whole(fitted["n_features_in_"], "n_features_in_", 1)
    estimator.n_features_in_ = n_features
    strategy = fitted["imputer_strategy"]
    if strategy not in _STRATEGIES or (
        strategy == "passthrough" and not getattr(cls, "_native_missing", False)
    ):
        raise ModelFileError(f"imputer strategy {strategy!r} is not valid for {cls.__name__}.")
    imputer = estimator._make_imputer(strategy)
    statistics = _vector(arrays, "imputer.statistics", "f")
    if statistics.dtype != np.float64 or not np.isfinite(statistics).all():
        raise ModelFileError("array 'imputer.statistics' is not finite float64.")
    imputer.statistics_ = statistics
    imputer.empty_features_ = _vector(arrays, "imputer.empty_features", "b", len(statistics))
    imputer.n_features_in_ = n_features
    estimator.imputer_ = imputer
    if is_classifier(estimator):
        classes = _vector(arrays, "classes", "biufU")
        if len(classes) < 2 or not np.array_equal(np.unique(classes), classes):
            raise ModelFileError("array 'classes' is not a sorted list of 2 or more labels.")
        estimator.classes_ = classes
    if "feature_names_in" in arrays:
        names = _vector(arrays, "feature_names_in", "U", n_features)
        if len(np.unique(names)) != n_features:
            raise ModelFileError("array 'feature_names_in' repeats a name.")
        estimator.feature_names_in_ = names.astype(object)
    arrays, blobs = _Members(arrays), _Members(blobs)
    estimator._restore_model_state(_decode(fitted["family"]), arrays, blobs)
    unused = sorted(set(arrays) - arrays.used) + sorted(set(blobs) - blobs.used)
    if unused:
        raise ModelFileError(f"members {unused} are not part of a {cls.__name__} model file.")
    if isinstance(imputer, SequenceImputer):
        channels = estimator.n_channels_in_
        if len(statistics) != channels or estimator.n_timesteps_in_ * channels != n_features:
            raise ModelFileError(
                f"{len(statistics)} imputer statistics, {channels} channels and "
                f"{estimator.n_timesteps_in_} steps do not make {n_features} features."
            )
    elif len(statistics) != n_features:
        raise ModelFileError(f"{len(statistics)} imputer statistics for {n_features} features.")
    check_is_fitted(estimator)
    return estimator


def estimator_bytes(estimator: Any) -> bytes:
    """Return the model file of a fitted skfam estimator as bytes.

    For a family that holds other skfam estimators (an ensemble's members, a regime
    family's experts): each is stored as a member blob of the outer file and read back with
    :func:`load_estimator_bytes`, with every check of :func:`load_model`.
    """
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "nested.skfam")
        estimator.save_model(path)
        with open(path, "rb") as handle:
            return handle.read()


def load_estimator_bytes(data: bytes) -> Any:
    """Return the estimator of a model file given as bytes (see :func:`estimator_bytes`)."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "nested.skfam")
        with open(path, "wb") as handle:
            handle.write(data)
        return load_model(path)


def _own_class(manifest: dict, classes: Sequence[type]) -> type | None:
    """Return the class of ``classes`` that the manifest names (by name and module)."""
    from .base import SkfamEstimator

    for cls in classes:
        if not (isinstance(cls, type) and issubclass(cls, SkfamEstimator)):
            raise TypeError(f"classes must hold subclasses of skfam estimators, got {cls!r}.")
    name, module = manifest.get("estimator"), manifest.get("estimator_module")
    for cls in classes:
        if cls.__name__ == name and cls.__module__ == module:
            return cls
    return None


def load_model(
    path: str | os.PathLike,
    *,
    key: bytes | str | None = None,
    classes: Sequence[type] = (),
) -> Any:
    """Load an estimator saved with ``save_model``, without unpickling anything.

    Parameters
    ----------
    path : str or path-like
        A file written by ``save_model``.
    key : bytes or str, default=None
        Require a file signed with this key (``save_model(..., key=key)``); an unsigned
        file or another key's signature is refused. None loads signed and unsigned files
        alike, trusting their checksums only.
    classes : sequence of type, default=()
        Your own subclasses of skfam estimators that the file may name. A file names its
        estimator's class (name and module); it is built only when that is a class of the
        registry or one of these: nothing is imported from a name read in a file.

    Returns
    -------
    estimator : skfam estimator
        Fitted; it predicts bit for bit like the saved one.

    Raises
    ------
    ModelFileError
        The file is truncated, altered, crafted, not a model file, from a newer format, or
        (with ``key``) unsigned or signed with another key. The message names the file.

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
    >>> reg.save_model(path, key="secret")
    >>> bool((skfam.load_model(path, key="secret").predict(X) == reg.predict(X)).all())
    True
    """
    from ._registry import estimator_class, estimator_names

    secret = _key_bytes(key)
    path = Path(path)
    manifest, contents = _read_container(path, secret)
    name = manifest.get("estimator")
    cls = _own_class(manifest, classes)
    try:
        if cls is None:
            cls = estimator_class(name)  # imports only the module of that family
    except KeyError:
        module = manifest.get("estimator_module")
        raise ModelFileError(
            f"{path}: unknown estimator class {name!r} (module {module!r}); known: "
            f"{estimator_names()}; a subclass of your own loads with "
            "load_model(path, classes=[YourClass])."
        ) from None
    saved = manifest.get("versions", {})
    if not isinstance(saved, dict):
        raise ModelFileError(f"{path}: the manifest's 'versions' is malformed.")
    current = _library_versions()
    differ = {k: (v, current.get(k)) for k, v in saved.items() if current.get(k) != v}
    if differ:
        listed = ", ".join(f"{k} {old} (now {new})" for k, (old, new) in sorted(differ.items()))
        warnings.warn(
            f"{path} was written with {listed}; predictions may differ.",
            ModelVersionWarning,
            stacklevel=2,
        )
    try:
        return _restore(manifest, cls, contents)
    except FileNotFoundError:
        raise
    except ModelFileError as exc:
        raise ModelFileError(f"{path}: {exc}") from exc
    except Exception as exc:
        # Whatever a library's parser or a family's restore hook raises on crafted or
        # inconsistent content (KeyError, LightGBMError, SafetensorError, RuntimeError, ...)
        # is reported as a damaged file, naming it; the original error stays chained.
        raise ModelFileError(
            f"{path}: the model file is damaged or inconsistent: {exc!r}"
        ) from exc
