"""Model files: round trip, refusal of crafted files, corruption, versions, atomic save."""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import shutil
import stat
import tracemalloc
import warnings
import zipfile

import numpy as np
import pytest

import skfam
from skfam import LightGBMClassifier, LightGBMRegressor, MLPClassifier, MLPRegressor
from skfam.model_file import FORMAT_VERSION, ModelFileError, ModelVersionWarning

from ._forge import forge


def _data(classes=False):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 5))
    X[rng.random(X.shape) < 0.1] = np.nan
    X[:, 3] = np.nan  # an all-NaN column
    if classes:
        return X, np.array(["red", "green", "blue", "blue"] * 20)
    return X, np.nan_to_num(X[:, 0]) * 3 + rng.normal(size=80)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    X, y = _data()
    model = LightGBMRegressor(variant="fast", random_state=5).fit(X, y)
    path = tmp_path_factory.mktemp("m") / "reg.skfam"
    model.save_model(path)
    return model, path, X


@pytest.fixture(scope="module")
def saved_clf(tmp_path_factory):
    X, y = _data(classes=True)
    model = LightGBMClassifier(variant="fast", random_state=5).fit(X, y)
    path = tmp_path_factory.mktemp("m") / "clf.skfam"
    model.save_model(path)
    return model, path, X


@pytest.fixture(scope="module")
def saved_mlp(tmp_path_factory):
    X, y = _data()
    model = MLPRegressor(variant="fast", device="cpu", random_state=5).fit(X, y)
    path = tmp_path_factory.mktemp("m") / "mlp.skfam"
    model.save_model(path)
    return model, path, X


def _refused(path, match, key=None):
    """Loading ``path`` raises ModelFileError matching ``match`` and naming the file."""
    with pytest.raises(ModelFileError, match=match) as info:
        skfam.load_model(path) if key is None else skfam.load_model(path, key=key)
    assert str(path) in str(info.value)
    return info.value


def _npy_bytes(array):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _imputer_members(n):
    """Replacement imputer arrays of ``n`` features (zeros, none empty)."""
    return {
        "arrays/imputer.statistics.npy": _npy_bytes(np.zeros(n)),
        "arrays/imputer.empty_features.npy": _npy_bytes(np.zeros(n, dtype=bool)),
    }


def _write_archive(dst, manifest, members, base=None):
    """Write ``manifest`` (with its SHA-256) and ``members`` (a list of (name, bytes),
    duplicates allowed) to ``dst``, appended to ``base``: for archives malformed on purpose,
    which ``forge`` does not write."""
    manifest_bytes = json.dumps(manifest).encode()
    if base is not None:
        shutil.copyfile(base, dst)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile's "Duplicate name"
        with zipfile.ZipFile(dst, "a" if base else "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("manifest.json", manifest_bytes)
            archive.writestr("manifest.sha256", hashlib.sha256(manifest_bytes).hexdigest())
            for name, data in members:
                archive.writestr(name, data)


def _rewrite(src, dst, change):
    """Copy the archive ``src`` to ``dst`` with ``change(name, data) -> data`` applied and
    nothing recomputed (for files altered by someone who does not fix the checksums)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for name in zin.namelist():
            zout.writestr(name, change(name, zin.read(name)))


@pytest.mark.parametrize(
    ("cls", "classes"),
    [
        (LightGBMRegressor, False),
        (LightGBMClassifier, True),
        (MLPRegressor, False),
        (MLPClassifier, True),
    ],
)
def test_round_trip_predicts_bit_for_bit(cls, classes, tmp_path):
    X, y = _data(classes)
    params = {"variant": "fast", "random_state": 3}
    if "device" in cls._get_param_names():
        params["device"] = "cpu"
    model = cls(**params).fit(X, y)
    path = tmp_path / "model.skfam"
    model.save_model(path)
    loaded = skfam.load_model(path)
    assert loaded.get_params() == model.get_params()
    assert loaded.params_ == model.params_
    assert loaded.random_state_ == model.random_state_ == 3
    assert np.array_equal(loaded.imputer_.statistics_, model.imputer_.statistics_)
    assert np.array_equal(loaded.predict(X), model.predict(X))
    if classes:
        assert list(loaded.classes_) == list(model.classes_)
        assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))
    # The loaded model is a normal estimator: clone and refit give the same result.
    assert np.array_equal(loaded.fit(X, y).predict(X), model.predict(X))


def test_feature_names_survive(tmp_path):
    import pandas as pd

    X, y = _data()
    frame = pd.DataFrame(X, columns=[f"c{i}" for i in range(X.shape[1])])
    model = LightGBMRegressor(variant="fast").fit(frame, y)
    model.save_model(tmp_path / "m.skfam")
    loaded = skfam.load_model(tmp_path / "m.skfam")
    assert list(loaded.feature_names_in_) == list(frame.columns)
    assert np.array_equal(loaded.predict(frame), model.predict(frame))
    with pytest.raises(ValueError, match="feature names"):
        loaded.predict(frame.rename(columns={"c0": "other"}))


def test_pickle_file_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "evil.skfam"
    path.write_bytes(pickle.dumps(Exploit()))
    with pytest.raises(ModelFileError, match="not a complete skfam model file"):
        skfam.load_model(path)
    assert not marker.exists()


def test_pickled_member_in_a_valid_archive_is_refused(saved, tmp_path):
    """An array member replaced by a pickle (with fixed checksums) is never unpickled."""
    _, path, _ = saved
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    buffer = io.BytesIO()
    np.save(buffer, np.array([Exploit()], dtype=object), allow_pickle=True)
    target = tmp_path / "evil.skfam"
    forge(path, target, replace={"arrays/imputer.statistics.npy": buffer.getvalue()})
    _refused(target, "never unpickled")
    assert not marker.exists()


def test_unknown_estimator_class_is_refused(saved, tmp_path):
    _, path, _ = saved
    forge(path, tmp_path / "x.skfam", edit_manifest=lambda m: m.update(estimator="os.system"))
    with pytest.raises(ModelFileError, match="unknown estimator class 'os.system'"):
        skfam.load_model(tmp_path / "x.skfam")


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, 0.99])
def test_truncated_file_raises_clear_error(saved, tmp_path, keep):
    _, path, _ = saved
    data = path.read_bytes()
    target = tmp_path / "cut.skfam"
    target.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ModelFileError, match="truncated|altered|not a"):
        skfam.load_model(target)


def test_altered_member_is_detected(saved, tmp_path):
    _, path, _ = saved

    def change(name, data):
        if name == "blobs/booster.txt":  # one character changed, same size
            i = data.index(b"leaf_value=") + len(b"leaf_value=")
            return data[:i] + (b"2" if data[i : i + 1] == b"1" else b"1") + data[i + 1 :]
        return data

    _rewrite(path, tmp_path / "alt.skfam", change)
    with pytest.raises(ModelFileError, match="'blobs/booster.txt' was altered"):
        skfam.load_model(tmp_path / "alt.skfam")


def test_altered_manifest_is_detected(saved, tmp_path):
    _, path, _ = saved

    def change(name, data):
        if name == "manifest.json":
            return data.replace(b'"random_state_": 5', b'"random_state_": 6')
        return data

    _rewrite(path, tmp_path / "alt.skfam", change)
    with pytest.raises(ModelFileError, match="manifest was altered"):
        skfam.load_model(tmp_path / "alt.skfam")


def test_newer_format_is_refused(saved, tmp_path):
    _, path, _ = saved
    forge(
        path,
        tmp_path / "new.skfam",
        edit_manifest=lambda m: m.update(format_version=FORMAT_VERSION + 1),
    )
    with pytest.raises(ModelFileError, match="newer than the format"):
        skfam.load_model(tmp_path / "new.skfam")


def test_library_version_difference_warns(saved, tmp_path):
    model, path, X = saved
    forge(
        path,
        tmp_path / "old.skfam",
        edit_manifest=lambda m: m["versions"].update(lightgbm="3.0.0"),
    )
    with pytest.warns(ModelVersionWarning, match=r"lightgbm 3\.0\.0"):
        loaded = skfam.load_model(tmp_path / "old.skfam")
    assert np.array_equal(loaded.predict(X), model.predict(X))


def test_save_is_atomic(saved, tmp_path, monkeypatch):
    model, path, X = saved
    target = tmp_path / "model.skfam"
    target.write_bytes(path.read_bytes())
    before = target.read_bytes()

    def explode(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(zipfile.ZipFile, "writestr", explode)
    with pytest.raises(OSError, match="disk full"):
        model.save_model(target)
    monkeypatch.undo()
    assert target.read_bytes() == before  # the old file is intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.skfam"]  # no temp left
    assert np.array_equal(skfam.load_model(target).predict(X), model.predict(X))


def test_unsaveable_parameter_gives_clear_error(tmp_path):
    X, y = _data()
    model = LightGBMRegressor(variant="fast", random_state=np.random.RandomState(0)).fit(X, y)
    with pytest.raises(TypeError, match="random_state.*cannot be stored"):
        model.save_model(tmp_path / "m.skfam")
    assert not (tmp_path / "m.skfam").exists()


def test_unfitted_model_cannot_be_saved(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        LightGBMRegressor().save_model(tmp_path / "m.skfam")


def test_mlp_file_holds_safetensors_and_skops_not_pickle(tmp_path):
    X, y = _data()
    model = MLPRegressor(variant="fast", device="cpu").fit(X, y)
    model.save_model(tmp_path / "m.skfam")
    with zipfile.ZipFile(tmp_path / "m.skfam") as archive:
        names = set(archive.namelist())
    assert {"blobs/module.safetensors", "blobs/scaler.skops", "manifest.json"} <= names


def test_untrusted_skops_type_is_refused(saved_mlp, tmp_path):
    import skops.io
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    _, path, X = saved_mlp
    payload = skops.io.dumps(Pipeline([("scale", StandardScaler().fit(X[:, :2]))]))
    forge(path, tmp_path / "evil.skfam", replace={"blobs/scaler.skops": payload})
    _refused(tmp_path / "evil.skfam", "untrusted types")


# ---------------------------------------------------------------------- damaged containers
def _flip_positions(path):
    """Every byte of the ZIP structure (local headers, central directory, end record) and
    every 13th byte of member data: a dense sample of a whole small file."""
    size = path.stat().st_size
    positions = set(range(0, size, 13))
    with zipfile.ZipFile(path) as archive:
        positions.update(range(archive.start_dir, size))
        for info in archive.infolist():
            header = 30 + len(info.filename.encode()) + len(info.extra)
            positions.update(range(info.header_offset, info.header_offset + header))
    return sorted(positions)


def test_flipped_byte_anywhere_fails_loudly_or_changes_nothing(saved, tmp_path):
    """A flipped byte raises ModelFileError naming the file, unless it hit ZIP metadata
    nobody reads (e.g. a timestamp): then the model loads exactly as saved. Never another
    exception, never a silent change."""
    model, path, X = saved
    original = path.read_bytes()
    expected = model.predict(X)
    target = tmp_path / "flip.skfam"
    loaded_unchanged = 0
    for where in _flip_positions(path):
        data = bytearray(original)
        data[where] ^= 0xFF
        target.write_bytes(bytes(data))
        try:
            loaded = skfam.load_model(target)
        except ModelFileError as exc:
            assert str(target) in str(exc), where
            continue
        assert loaded.get_params() == model.get_params(), where
        assert np.array_equal(loaded.predict(X), expected), where
        loaded_unchanged += 1
    assert loaded_unchanged < len(original) // 10


def _patch_central_entry(path, target, offset, value):
    """Copy ``path`` with a 16-bit field of its first central-directory entry set."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        start = archive.start_dir
    assert data[start : start + 4] == b"PK\x01\x02"
    data[start + offset : start + offset + 2] = value.to_bytes(2, "little")
    target.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("offset", "value", "match"),
    [
        (10, 99, "compression method 99"),  # was NotImplementedError
        (6, 235, "version"),  # was NotImplementedError("zip file version 23.5")
        (8, 0x0801, "encrypted"),  # was RuntimeError("File ... is encrypted")
    ],
)
def test_damaged_central_directory_gives_model_file_error(saved, tmp_path, offset, value, match):
    _, path, _ = saved
    target = tmp_path / "bad.skfam"
    _patch_central_entry(path, target, offset, value)
    _refused(target, match)


def test_missing_file_is_not_a_model_file_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        skfam.load_model(tmp_path / "absent.skfam")


# ---------------------------------------------------------------------- zip bombs
_GIB = 1 << 30


@pytest.fixture(scope="module")
def bomb(tmp_path_factory):
    """An archive of ~1 MB whose one member, blobs/booster.txt, inflates to 1 GiB of zeros;
    and that member's SHA-256 (computed while streaming, nothing held in memory)."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.zip"
    digest = hashlib.sha256()
    chunk = bytes(1 << 20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("blobs/booster.txt", "w", force_zip64=True) as member:
            for _ in range(_GIB // len(chunk)):
                member.write(chunk)
                digest.update(chunk)
    assert path.stat().st_size < 2 << 20
    return path, digest.hexdigest()


def _peak_memory(load):
    tracemalloc.start()
    try:
        load()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


@pytest.mark.parametrize("manifest_kind", ["stale", "forged", "forged-format-1"])
def test_zip_bomb_is_refused_before_inflating(saved, bomb, tmp_path, manifest_kind):
    """A 1 MB file with a member inflating to 1 GiB: refused from the declared sizes, with
    tracemalloc's peak far below the member's size. "stale": the manifest records the real
    booster's size; "forged": the attacker recomputed checksum and size (format 2), or
    dropped the sizes and claimed format 1."""
    _, path, _ = saved
    bomb_path, bomb_digest = bomb
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        others = [
            (n, archive.read(n))
            for n in archive.namelist()
            if not n.startswith("manifest.") and n != "blobs/booster.txt"
        ]
    if manifest_kind != "stale":
        manifest["checksums"]["blobs/booster.txt"] = bomb_digest
        manifest["sizes"]["blobs/booster.txt"] = _GIB
    if manifest_kind == "forged-format-1":
        del manifest["sizes"]
        manifest["format_version"] = 1
    target = tmp_path / "bomb.skfam"
    _write_archive(target, manifest, others, base=bomb_path)
    assert target.stat().st_size < 2 << 20
    match = "declares 1073741824 bytes" if manifest_kind == "stale" else "would inflate"

    def load():
        _refused(target, match)

    assert _peak_memory(load) < 16 << 20


def test_npy_header_declaring_a_huge_shape_is_refused_before_allocating(saved, tmp_path):
    """numpy.load would allocate the 8 TB the header declares before reading 40 bytes."""
    _, path, _ = saved
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)}
    )
    data = buffer.getvalue() + bytes(40)
    target = tmp_path / "huge.skfam"
    forge(path, target, replace={"arrays/imputer.statistics.npy": data})
    _refused(target, r"declares shape \(1000000000000,\)")


def test_compressed_member_inside_a_skops_blob_is_refused(saved_mlp, tmp_path):
    """skops writes its archive uncompressed; a deflated one could inflate beyond its size."""
    _, path, _ = saved_mlp
    with zipfile.ZipFile(path) as archive:
        blob = archive.read("blobs/scaler.skops")
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(blob)) as inner,
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out,
    ):
        for name in inner.namelist():
            out.writestr(name, inner.read(name))
    target = tmp_path / "deflated.skfam"
    forge(path, target, replace={"blobs/scaler.skops": buffer.getvalue()})
    _refused(target, "compressed or larger")


# ---------------------------------------------------------------------- members
def test_member_outside_the_manifest_is_refused(saved, tmp_path):
    _, path, _ = saved
    shutil.copyfile(path, tmp_path / "extra.skfam")
    with zipfile.ZipFile(tmp_path / "extra.skfam", "a") as archive:
        archive.writestr("blobs/extra.txt", b"hello")
    _refused(tmp_path / "extra.skfam", r"not in the manifest: \['blobs/extra.txt'\]")


def test_duplicate_member_is_refused(saved, tmp_path):
    """ZipFile.read sees only the last of two same-named members; the first would hide."""
    _, path, _ = saved
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        members = [(n, archive.read(n)) for n in archive.namelist() if not n.startswith("man")]
    hidden = ("blobs/booster.txt", b"anything at all")
    _write_archive(tmp_path / "dup.skfam", manifest, [hidden, *members])
    _refused(tmp_path / "dup.skfam", "'blobs/booster.txt' twice")


@pytest.mark.parametrize(
    "name", ["arrays/../imputer.statistics.npy", "blobs/sub/x", "blobs/.hidden", "notes.txt"]
)
def test_odd_member_name_is_refused(saved, tmp_path, name):
    _, path, _ = saved
    forge(path, tmp_path / "odd.skfam", replace={name: b"x"})
    _refused(tmp_path / "odd.skfam", "unexpected members")


def test_forged_file_without_changes_loads(saved, tmp_path):
    """The forging helper itself makes loadable files: refusals below are the edits'."""
    model, path, X = saved
    forge(path, tmp_path / "same.skfam")
    assert np.array_equal(skfam.load_model(tmp_path / "same.skfam").predict(X), model.predict(X))


@pytest.fixture
def lenient_restore(monkeypatch):
    """A LightGBM restore hook that reads what it needs and ignores any other member (as a
    family written without its own member check would)."""
    original = LightGBMRegressor._restore_model_state

    def lenient(self, meta, arrays, blobs):
        original(self, meta, {}, {"booster.txt": blobs["booster.txt"]})

    monkeypatch.setattr(LightGBMRegressor, "_restore_model_state", lenient)


def test_member_the_family_does_not_read_is_refused(saved, tmp_path, lenient_restore):
    """Listed in a forged manifest with its checksum, but no part of the model."""
    _, path, _ = saved
    forge(path, tmp_path / "unused.skfam", replace={"blobs/payload.bin": b"\x00" * 10})
    _refused(tmp_path / "unused.skfam", r"\['payload.bin'\] are not part of")


def test_regressor_file_with_classes_is_refused(saved, tmp_path, lenient_restore):
    _, path, _ = saved
    classes = _npy_bytes(np.array(["a", "b"]))
    forge(path, tmp_path / "cls.skfam", replace={"arrays/classes.npy": classes})
    _refused(tmp_path / "cls.skfam", r"\['classes'\] are not part of")


# ---------------------------------------------------------------------- fitted arrays
@pytest.mark.parametrize(
    ("member", "array", "match"),
    [
        ("imputer.empty_features", np.zeros(6, dtype=bool), "6 entries, not 5"),
        ("imputer.statistics", np.zeros(5, dtype=np.float32), "not finite float64"),
        ("imputer.statistics", np.zeros(5, dtype=np.int64), "dtype int64"),
        ("imputer.statistics", np.zeros((1, 5)), r"shape \(1, 5\)"),
        ("imputer.statistics", np.array([0, 1, np.nan, 0, 0.0]), "not finite"),
        ("imputer.empty_features", np.zeros(5, dtype=np.int8), "dtype int8"),
        ("imputer.empty_features", np.zeros(4, dtype=bool), "4 entries, not 5"),
        ("feature_names_in", np.array(["a", "b"]), "2 entries, not 5"),
        ("feature_names_in", np.array(["a", "b", "c", "d", "a"]), "repeats a name"),
        ("feature_names_in", np.arange(5), "dtype int64"),
    ],
)
def test_inconsistent_fitted_array_is_refused(saved, tmp_path, member, array, match):
    """Each was loaded silently (lengths, dtypes, shapes) or only failed at predict."""
    _, path, _ = saved
    target = tmp_path / "bad.skfam"
    forge(path, target, replace={f"arrays/{member}.npy": _npy_bytes(array)})
    _refused(target, match)


@pytest.mark.parametrize(
    ("classes", "match"),
    [
        (np.array(["blue"]), "2 or more"),
        (np.array(["red", "green", "blue"]), "sorted"),
        (np.array(["blue", "blue", "red"]), "sorted"),
        (None, "'classes' is missing"),
    ],
)
def test_inconsistent_classes_are_refused(saved_clf, tmp_path, classes, match):
    _, path, _ = saved_clf
    target = tmp_path / "bad.skfam"
    if classes is None:
        forge(path, target, drop=["arrays/classes.npy"])
    else:
        forge(path, target, replace={"arrays/classes.npy": _npy_bytes(classes)})
    _refused(target, match)


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("n_features_in_", 2.5, "n_features_in_ = 2.5"),
        ("n_features_in_", "5", "n_features_in_ = '5'"),
        ("n_features_in_", 0, "n_features_in_ = 0"),
        ("random_state_", -1, "random_state_ = -1"),
        ("imputer_strategy", "bogus", "imputer strategy 'bogus'"),
    ],
)
def test_invalid_fitted_scalar_is_refused(saved, tmp_path, field, value, match):
    _, path, _ = saved
    forge(path, tmp_path / "bad.skfam", edit_manifest=lambda m: m["fitted"].update({field: value}))
    _refused(tmp_path / "bad.skfam", match)


def test_invalid_constructor_parameter_is_refused(saved, tmp_path):
    _, path, _ = saved
    forge(path, tmp_path / "bad.skfam", edit_manifest=lambda m: m["params"].update(n_jobs="many"))
    _refused(tmp_path / "bad.skfam", "n_jobs")


def test_imputer_statistics_for_other_features_are_refused(saved, tmp_path):
    _, path, _ = saved
    forge(path, tmp_path / "bad.skfam", replace=_imputer_members(6))
    _refused(tmp_path / "bad.skfam", "6 imputer statistics for 5 features")


def test_garbage_safetensors_give_model_file_error(saved_mlp, tmp_path):
    """Was safetensors' own SafetensorError."""
    _, path, _ = saved_mlp
    target = tmp_path / "bad.skfam"
    forge(path, target, replace={"blobs/module.safetensors": b"\x08" + b"\x00" * 7 + b"{}"})
    _refused(target, "safetensors")


@pytest.mark.parametrize("error", [IndexError("index 7 is out of bounds"), RuntimeError("bad")])
def test_error_inside_a_family_restore_is_chained(saved, tmp_path, monkeypatch, error):
    """Whatever a library raises on crafted content becomes a ModelFileError naming the
    file, with the original chained."""
    _, path, _ = saved

    def explode(self, meta, arrays, blobs):
        raise error

    monkeypatch.setattr(LightGBMRegressor, "_restore_model_state", explode)
    exc = _refused(path, "damaged or inconsistent")
    assert exc.__cause__ is error


def test_model_file_error_from_a_family_gets_the_file_name(saved, monkeypatch):
    _, path, _ = saved

    def explode(self, meta, arrays, blobs):
        raise ModelFileError("tree 3 has a child index out of range")

    monkeypatch.setattr(LightGBMRegressor, "_restore_model_state", explode)
    _refused(path, "tree 3 has a child index")


def test_format_1_file_without_sizes_still_loads(saved, tmp_path):
    """What the previous release wrote: format 1, no sizes in the manifest."""
    model, path, X = saved

    def edit(manifest):
        manifest["format_version"] = 1
        del manifest["sizes"]

    forge(path, tmp_path / "v1.skfam", edit_manifest=edit)
    assert np.array_equal(skfam.load_model(tmp_path / "v1.skfam").predict(X), model.predict(X))


def test_format_2_file_without_sizes_is_refused(saved, tmp_path):
    _, path, _ = saved
    forge(path, tmp_path / "v2.skfam", edit_manifest=lambda m: m.pop("sizes"))
    _refused(tmp_path / "v2.skfam", "'sizes' is missing")


# ---------------------------------------------------------------------- signed files
@pytest.mark.parametrize("key", ["correct horse", b"\x00\xffbinary key"])
def test_signed_file_loads_with_its_key(saved, tmp_path, key):
    model, _, X = saved
    model.save_model(tmp_path / "s.skfam", key=key)
    with zipfile.ZipFile(tmp_path / "s.skfam") as archive:
        assert "manifest.hmac" in archive.namelist()
    loaded = skfam.load_model(tmp_path / "s.skfam", key=key)
    assert np.array_equal(loaded.predict(X), model.predict(X))
    if isinstance(key, str):  # a str key is its UTF-8 bytes
        skfam.load_model(tmp_path / "s.skfam", key=key.encode("utf-8"))
    # Without a key a signed file loads as any file does, on its checksums alone.
    assert np.array_equal(skfam.load_model(tmp_path / "s.skfam").predict(X), model.predict(X))


def test_signed_file_is_refused_with_another_key(saved, tmp_path):
    model, _, _ = saved
    model.save_model(tmp_path / "s.skfam", key="right")
    _refused(tmp_path / "s.skfam", "signature does not match", key="wrong")
    _refused(tmp_path / "s.skfam", "signature does not match", key=b"Right")


def test_unsigned_file_is_refused_when_a_key_is_given(saved, tmp_path):
    _, path, _ = saved
    with pytest.raises(ModelFileError, match="not signed") as info:
        skfam.load_model(path, key="k")
    assert str(path) in str(info.value)


def test_forged_manifest_of_signed_file_is_refused(saved, tmp_path):
    """Checksums recomputed by someone without the key: the old tag no longer matches."""
    model, _, _ = saved
    model.save_model(tmp_path / "s.skfam", key="k")
    with zipfile.ZipFile(tmp_path / "s.skfam") as archive:
        old_tag = archive.read("manifest.hmac")
    forge(
        tmp_path / "s.skfam",
        tmp_path / "f.skfam",
        edit_manifest=lambda m: m["fitted"].update(random_state_=7),
    )
    with zipfile.ZipFile(tmp_path / "f.skfam", "a") as archive:
        archive.writestr("manifest.hmac", old_tag)
    _refused(tmp_path / "f.skfam", "signature does not match", key="k")


@pytest.mark.parametrize(
    ("key", "error", "match"),
    [(b"", ValueError, "must not be empty"), ("", ValueError, "empty"), (123, TypeError, "int")],
)
def test_invalid_key_is_refused(saved, tmp_path, key, error, match):
    model, path, _ = saved
    with pytest.raises(error, match=match):
        model.save_model(tmp_path / "s.skfam", key=key)
    assert not (tmp_path / "s.skfam").exists()
    with pytest.raises(error, match=match):
        skfam.load_model(path, key=key)


# ---------------------------------------------------------------------- permissions, links
@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o600, 0o664])
def test_replacing_a_file_keeps_its_permissions(saved, tmp_path, mode):
    model, _, _ = saved
    target = tmp_path / "m.skfam"
    target.write_bytes(b"old")
    target.chmod(mode)
    model.save_model(target)
    assert stat.S_IMODE(target.stat().st_mode) == mode


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_new_file_gets_the_permissions_open_would_give(saved, tmp_path, umask):
    model, _, _ = saved
    old = os.umask(umask)
    try:
        model.save_model(tmp_path / "m.skfam")
        with open(tmp_path / "plain", "wb"):
            pass
    finally:
        os.umask(old)
    expected = stat.S_IMODE((tmp_path / "plain").stat().st_mode)
    assert expected == 0o666 & ~umask
    assert stat.S_IMODE((tmp_path / "m.skfam").stat().st_mode) == expected


@pytest.mark.skipif(os.name != "posix", reason="symbolic links")
@pytest.mark.parametrize("existing", [True, False])
def test_saving_to_a_symlink_writes_its_target(saved, tmp_path, existing):
    model, _, X = saved
    store = tmp_path / "store"
    store.mkdir()
    real = store / "model.skfam"
    if existing:
        real.write_bytes(b"old")
    link = tmp_path / "current.skfam"
    link.symlink_to(real)
    model.save_model(link)
    assert link.is_symlink()
    assert os.readlink(link) == str(real)
    assert np.array_equal(skfam.load_model(real).predict(X), model.predict(X))
    assert sorted(p.name for p in store.iterdir()) == ["model.skfam"]  # no temp left


# ---------------------------------------------------------------------- sequence files
@pytest.fixture
def lstm_file(tmp_path):
    """The committed LSTM compatibility file, with the installed library versions recorded
    (so that no ModelVersionWarning interferes), and its inputs."""
    from skfam.model_file import _library_versions

    data = os.path.join(os.path.dirname(__file__), "data", "compat")
    path = tmp_path / "lstm.skfam"

    def edit(manifest):
        manifest["versions"] = _library_versions()

    forge(os.path.join(data, "lstm_regressor.skfam"), path, edit_manifest=edit)
    with np.load(os.path.join(data, "lstm_regressor.npz")) as npz:
        X = npz["X"]
    return path, X


def test_sequence_file_loads_after_forging(lstm_file):
    path, X = lstm_file
    assert skfam.load_model(path).predict(X).shape == (len(X),)


def test_sequence_imputer_of_other_channels_is_refused(lstm_file, tmp_path):
    """Was loaded silently; predict then failed inside the imputer."""
    path, _ = lstm_file
    forge(path, tmp_path / "bad.skfam", replace=_imputer_members(3))
    _refused(tmp_path / "bad.skfam", "3 imputer statistics, 2 channels")


def test_compressed_npz_blob_is_refused(lstm_file, tmp_path):
    path, _ = lstm_file
    buffer = io.BytesIO()
    np.savez_compressed(buffer, mean=np.zeros(2), scale=np.ones(2))
    forge(path, tmp_path / "bad.skfam", replace={"blobs/channel_scaling.npz": buffer.getvalue()})
    _refused(tmp_path / "bad.skfam", "compressed or larger")
