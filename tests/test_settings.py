"""Global settings: effective values, reset, process-wide state, and joblib workers."""

from __future__ import annotations

import copy
import importlib.resources
import multiprocessing
import pickle
import subprocess
import sys
import threading

import joblib
import joblib.parallel
import numpy as np
import pytest
import yaml
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score, cross_validate

import skfam
from skfam.models.lightgbm import LightGBMRegressor

# The override of the tests: one tree instead of the fast variant's 20, so scores with and
# without it differ a lot.
_OVERRIDE = "variants:\n  fast:\n    n_estimators: 1\n"
_SETTINGS = {"base_seed": 7, "n_jobs": 3}


@pytest.fixture(autouse=True)
def _no_environment_config_dir(monkeypatch):
    monkeypatch.delenv("SKFAM_CONFIG_DIR", raising=False)


def _xy():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    return X, 3.0 * X[:, 0] + 0.1 * rng.normal(size=120)


def _override(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "lightgbm.yaml").write_text(_OVERRIDE)
    return tmp_path


def _shipped_defaults():
    text = importlib.resources.files("skfam.configs").joinpath("defaults.yaml").read_text()
    return yaml.safe_load(text)


def _threads_of(estimator, X, y):
    """Score of the tests: the thread count the estimator predicts with where it is scored."""
    return estimator._threads()


def _cv(n_jobs):
    X, y = _xy()
    # cv=6 > 2 * n_jobs: the last folds are dispatched lazily, from joblib's own threads.
    return cross_validate(
        LightGBMRegressor(variant="fast"),
        X,
        y,
        cv=6,
        n_jobs=n_jobs,
        scoring={"r2": "r2", "threads": _threads_of},
        return_estimator=True,
    )


def _backend_config(backend, monkeypatch):
    if backend == "multiprocessing":
        # A fork of a process whose OpenMP pool runs (LightGBM) can hang in the child; and a
        # forked worker would inherit the settings in memory: start workers fresh.
        method = (
            "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        )
        monkeypatch.setattr(
            joblib.parallel, "DEFAULT_MP_CONTEXT", multiprocessing.get_context(method)
        )
    return joblib.parallel_config(backend=backend)


@pytest.mark.parametrize("backend", ["loky", "threading", "multiprocessing"])
def test_settings_reach_joblib_workers(backend, tmp_path, monkeypatch):
    outside = _cv(n_jobs=1)
    with skfam.config_context(config_dir=_override(tmp_path), **_SETTINGS):
        sequential = _cv(n_jobs=1)
        with _backend_config(backend, monkeypatch):
            parallel = _cv(n_jobs=2)
    # The override changes the scores visibly, so equal scores mean the workers used it.
    assert not np.allclose(sequential["test_r2"], outside["test_r2"], atol=0.1)
    np.testing.assert_array_equal(parallel["test_r2"], sequential["test_r2"])
    for fitted in parallel["estimator"]:
        assert fitted.random_state_ == _SETTINGS["base_seed"]
        assert fitted.params_["n_estimators"] == 1
    assert parallel["test_threads"].tolist() == [_SETTINGS["n_jobs"]] * 6


def _fit_a_copy(estimator, X, y):
    return copy.deepcopy(estimator).fit(X, y).random_state_


def test_a_copy_made_in_a_worker_keeps_the_settings():
    X, y = _xy()
    with skfam.config_context(base_seed=7):
        seeds = joblib.Parallel(n_jobs=2)(
            joblib.delayed(_fit_a_copy)(LightGBMRegressor(variant="fast"), X, y) for _ in range(4)
        )
    assert seeds == [7] * 4


def test_grid_search_in_workers_matches_sequential(tmp_path):
    X, y = _xy()
    grid = {"num_leaves": [3, 7]}
    with skfam.config_context(config_dir=_override(tmp_path), **_SETTINGS):
        results = [
            GridSearchCV(LightGBMRegressor(variant="fast"), grid, cv=KFold(4), n_jobs=n_jobs)
            .fit(X, y)
            .cv_results_
            for n_jobs in (1, 2)
        ]
    for key in ("mean_test_score", "split3_test_score"):
        np.testing.assert_array_equal(results[1][key], results[0][key])


def test_nested_search_in_workers_matches_sequential(tmp_path):
    X, y = _xy()
    search = GridSearchCV(LightGBMRegressor(variant="fast"), {"num_leaves": [3, 7]}, cv=3)
    with skfam.config_context(config_dir=_override(tmp_path), **_SETTINGS):
        # The workers fit clones of the estimator they received.
        scores = [cross_val_score(search, X, y, cv=KFold(3), n_jobs=n_jobs) for n_jobs in (1, 2)]
    np.testing.assert_array_equal(scores[1], scores[0])


def test_settings_are_process_wide():
    seen = []
    with skfam.config_context(base_seed=7, device="cpu"):
        thread = threading.Thread(target=lambda: seen.append(skfam.get_config()))
        thread.start()
        thread.join()
    assert (seen[0]["base_seed"], seen[0]["device"]) == (7, "cpu")


def test_get_config_returns_the_values_in_force(tmp_path):
    shipped = _shipped_defaults()
    assert skfam.get_config() == {
        "base_seed": shipped["base_seed"],
        "n_jobs": shipped["n_jobs"],
        "device": shipped["device"],
        "config_dir": None,
    }
    (tmp_path / "defaults.yaml").write_text("base_seed: 1234\nn_jobs: 2\n")
    with skfam.config_context(config_dir=tmp_path):
        config = skfam.get_config()
        assert (config["base_seed"], config["n_jobs"]) == (1234, 2)
        assert config["config_dir"] == tmp_path
        with skfam.config_context(base_seed=5):
            assert skfam.get_config()["base_seed"] == 5


def test_reset_config_takes_values_from_the_sst_again(tmp_path):
    (tmp_path / "defaults.yaml").write_text("base_seed: 1234\n")
    with skfam.config_context(config_dir=tmp_path):
        skfam.set_config(base_seed=3, n_jobs=1)
        skfam.reset_config("base_seed")
        assert skfam.get_config()["base_seed"] == 1234
        assert skfam.get_config()["n_jobs"] == 1
        assert LightGBMRegressor(variant="fast").fit(*_xy()).random_state_ == 1234
        skfam.reset_config()
        shipped = _shipped_defaults()
        assert skfam.get_config() == {
            **{key: shipped[key] for key in ("base_seed", "n_jobs", "device")},
            "config_dir": None,
        }
    with pytest.raises(TypeError, match="Unknown skfam setting"):
        skfam.reset_config("seed")


def test_config_context_restores_exactly_even_when_it_refuses(tmp_path):
    before = skfam.get_config()
    with pytest.raises(ValueError, match="n_jobs"):
        with skfam.config_context(base_seed=5, n_jobs=0):
            pass
    with pytest.raises(ValueError, match="device"):
        skfam.set_config(base_seed=5, device="gpu")
    assert skfam.get_config() == before
    with skfam.config_context(device="cpu"):
        skfam.set_config(base_seed=3)
    # Not set before the block: not set after it, so config_dir's value shows through.
    (tmp_path / "defaults.yaml").write_text("base_seed: 1234\n")
    with skfam.config_context(config_dir=tmp_path):
        assert skfam.get_config()["base_seed"] == 1234


def test_a_pickle_carries_settings_only_to_the_processes_it_is_sent_to(tmp_path):
    X, y = _xy()
    seed = _shipped_defaults()["base_seed"]
    with skfam.config_context(base_seed=7):
        blob = pickle.dumps(LightGBMRegressor(variant="fast"))
        copied = copy.deepcopy(LightGBMRegressor(variant="fast"))
    # The same process, later: its own settings apply.
    assert pickle.loads(blob).fit(X, y).random_state_ == seed
    assert copied.fit(X, y).random_state_ == seed
    # A pickle written by another session (here a process that ended) carries nothing here.
    path = tmp_path / "model.pkl"
    code = (
        "import pickle, skfam; from skfam.models.lightgbm import LightGBMRegressor\n"
        "with skfam.config_context(base_seed=7):\n"
        f"    open({str(path)!r}, 'wb').write(pickle.dumps(LightGBMRegressor(variant='fast')))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert pickle.loads(path.read_bytes()).fit(X, y).random_state_ == seed


@pytest.mark.parametrize("n_jobs", [10**30, -(10**30), 1025, -1025])
def test_thread_counts_beyond_any_machine_are_refused_everywhere(n_jobs, tmp_path):
    # A C int cannot hold 10**30 (the thread pools raised a raw ctypes error at predict),
    # and a pool of thousands of threads is never meant: the constructor, the settings and
    # the SST all refuse it with the same bound.
    X = np.arange(40.0).reshape(20, 2)
    with pytest.raises(ValueError, match=r"\[-1024, 1024\]"):
        LightGBMRegressor(variant="fast", n_jobs=n_jobs).fit(X, X[:, 0])
    with pytest.raises(ValueError, match=r"\[-1024, 1024\]"):
        skfam.set_config(n_jobs=n_jobs)
    (tmp_path / "defaults.yaml").write_text(f"n_jobs: {n_jobs}\n")
    with (
        skfam.config_context(config_dir=tmp_path),
        pytest.raises(skfam.ConfigError, match=r"n_jobs.*\[-1024, 1024\]"),
    ):
        skfam.get_config()


def test_the_largest_thread_count_allowed_still_fits():
    X = np.arange(40.0).reshape(20, 2)
    LightGBMRegressor(variant="fast", n_jobs=-1024).fit(X, X[:, 0]).predict(X)
