"""Model files: round trip, refusal of crafted files, corruption, versions, atomic save."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import zipfile

import numpy as np
import pytest

import skfam
from skfam import LightGBMClassifier, LightGBMRegressor, MLPClassifier, MLPRegressor
from skfam.model_file import FORMAT_VERSION, ModelFileError, ModelVersionWarning


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


def _rewrite(src, dst, change):
    """Copy the archive ``src`` to ``dst`` with ``change(name, data) -> data`` applied."""
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

    evil = np.array([Exploit()], dtype=object)
    import io

    buffer = io.BytesIO()
    np.save(buffer, evil, allow_pickle=True)
    payload = buffer.getvalue()
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    manifest["checksums"]["arrays/imputer.statistics.npy"] = hashlib.sha256(payload).hexdigest()
    manifest_bytes = json.dumps(manifest).encode()

    def change(name, data):
        if name == "arrays/imputer.statistics.npy":
            return payload
        if name == "manifest.json":
            return manifest_bytes
        if name == "manifest.sha256":
            return hashlib.sha256(manifest_bytes).hexdigest().encode()
        return data

    target = tmp_path / "evil.skfam"
    _rewrite(path, target, change)
    with pytest.raises(ModelFileError, match="cannot be read safely"):
        skfam.load_model(target)
    assert not marker.exists()


def test_unknown_estimator_class_is_refused(saved, tmp_path):
    _, path, _ = saved
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    manifest["estimator"] = "os.system"
    manifest_bytes = json.dumps(manifest).encode()

    def change(name, data):
        if name == "manifest.json":
            return manifest_bytes
        if name == "manifest.sha256":
            return hashlib.sha256(manifest_bytes).hexdigest().encode()
        return data

    _rewrite(path, tmp_path / "x.skfam", change)
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
        if name == "blobs/booster.txt":
            return data.replace(b"leaf_value=", b"leaf_value=1", 1)
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


@pytest.mark.parametrize("where", np.linspace(0.0, 0.999, 25).tolist())
def test_flipped_byte_on_disk_fails_loudly_or_changes_nothing(saved, tmp_path, where):
    """A flipped byte raises ModelFileError, unless it hit ZIP metadata nobody reads
    (e.g. a timestamp): then the model loads exactly as saved. Never a silent change."""
    model, path, X = saved
    data = bytearray(path.read_bytes())
    data[int(len(data) * where)] ^= 0xFF
    target = tmp_path / "flip.skfam"
    target.write_bytes(bytes(data))
    try:
        loaded = skfam.load_model(target)
    except ModelFileError:
        return
    assert loaded.get_params() == model.get_params()
    assert np.array_equal(loaded.predict(X), model.predict(X))


def _with_manifest(path, target, edit):
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    edit(manifest)
    manifest_bytes = json.dumps(manifest).encode()

    def change(name, data):
        if name == "manifest.json":
            return manifest_bytes
        if name == "manifest.sha256":
            return hashlib.sha256(manifest_bytes).hexdigest().encode()
        return data

    _rewrite(path, target, change)


def test_newer_format_is_refused(saved, tmp_path):
    _, path, _ = saved
    _with_manifest(
        path, tmp_path / "new.skfam", lambda m: m.update(format_version=FORMAT_VERSION + 1)
    )
    with pytest.raises(ModelFileError, match="newer than the format"):
        skfam.load_model(tmp_path / "new.skfam")


def test_library_version_difference_warns(saved, tmp_path):
    model, path, X = saved
    _with_manifest(path, tmp_path / "old.skfam", lambda m: m["versions"].update(lightgbm="3.0.0"))
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


def test_untrusted_skops_type_is_refused(tmp_path):
    import skops.io
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = _data()
    model = MLPRegressor(variant="fast", device="cpu").fit(X, y)
    path = tmp_path / "m.skfam"
    model.save_model(path)
    payload = skops.io.dumps(Pipeline([("scale", StandardScaler().fit(X[:, :2]))]))

    def edit(manifest):
        manifest["checksums"]["blobs/scaler.skops"] = hashlib.sha256(payload).hexdigest()

    _with_manifest(path, tmp_path / "tmp.skfam", edit)
    _rewrite(
        tmp_path / "tmp.skfam",
        tmp_path / "evil.skfam",
        lambda name, data: payload if name == "blobs/scaler.skops" else data,
    )
    with pytest.raises(ModelFileError, match="untrusted types"):
        skfam.load_model(tmp_path / "evil.skfam")
