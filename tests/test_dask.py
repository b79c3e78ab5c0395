"""skfam on dask.distributed: searches equal to n_jobs=1, and settings that reach the workers.

Most tests share one ``LocalCluster`` (2 worker processes, 1 thread each). Its workers are
started by this process, as joblib's are; ``test_a_cluster_started_by_hand`` starts a
scheduler and workers as ``dask scheduler`` / ``dask worker`` commands that this process is
not an ancestor of, as on a real cluster.
"""

from __future__ import annotations

import copy
import os
import pickle
import shlex
import shutil
import signal
import subprocess
import sys

import joblib
import numpy as np
import pytest
import torch
from distributed import Client, LocalCluster
from sklearn.model_selection import GridSearchCV, KFold, cross_validate

import skfam

# The override of the tests: one tree instead of the fast variant's 20.
_OVERRIDE = "variants:\n  fast:\n    n_estimators: 1\n"


@pytest.fixture(scope="module")
def client():
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


@pytest.fixture(autouse=True)
def _no_environment_config_dir(monkeypatch):
    monkeypatch.delenv("SKFAM_CONFIG_DIR", raising=False)


def _xy(n=120):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 3))
    return X, 3.0 * X[:, 0] + X[:, 1] ** 2 + 0.3 * rng.normal(size=n)


def _override(tmp_path):
    (tmp_path / "models").mkdir(parents=True)
    (tmp_path / "models" / "lightgbm.yaml").write_text(_OVERRIDE)
    return tmp_path


def _pid(estimator, X, y):
    """Score of the tests: the process that fitted and scores the estimator."""
    return os.getpid()


def _threads(estimator, X, y):
    """Score of the tests: the thread count the estimator predicts with where it is scored."""
    return estimator._threads()


def _worker_pids(client):
    return set(client.run(os.getpid).values())


def _dask():
    return joblib.parallel_config(backend="dask")


def _score_keys(results):
    return [k for k in results if "test_" in k and not k.endswith(("_pid", "_threads"))]


@pytest.mark.parametrize(
    ("estimator", "grid"),
    [
        (skfam.LightGBMRegressor(variant="fast"), {"num_leaves": [3, 7], "subsample": [0.5]}),
        (skfam.MLPRegressor(variant="fast", max_epochs=5), {"hidden_sizes": [[8], [16]]}),
    ],
    ids=["lightgbm", "mlp"],
)
def test_grid_search_matches_n_jobs_1(client, estimator, grid):
    X, y = _xy()
    scoring = {"r2": "r2", "pid": _pid}
    search = GridSearchCV(estimator, grid, cv=KFold(3), scoring=scoring, refit="r2")
    sequential = search.fit(X, y).cv_results_
    with _dask():
        parallel = search.fit(X, y).cv_results_
    assert set(parallel["split0_test_pid"]) <= _worker_pids(client)
    assert parallel["params"] == sequential["params"]
    keys = _score_keys(parallel)
    assert "mean_test_r2" in keys
    for key in keys:
        np.testing.assert_array_equal(parallel[key], sequential[key], err_msg=key)


def _cross_validate(X, y, **kwargs):
    estimator = skfam.LightGBMRegressor(variant="fast", subsample=0.5, subsample_freq=1)
    scoring = {"r2": "r2", "pid": _pid, "threads": _threads}
    return cross_validate(
        estimator, X, y, cv=KFold(3), scoring=scoring, return_estimator=True, **kwargs
    )


def test_base_seed_reaches_the_workers_and_does_not_stay(client):
    X, y = _xy()
    with skfam.config_context(base_seed=7):
        sequential = _cross_validate(X, y, n_jobs=1)
        with _dask():
            parallel = _cross_validate(X, y)
    # Later, outside the block: the workers use the SST's seed again.
    with _dask():
        after = _cross_validate(X, y)
    outside = _cross_validate(X, y, n_jobs=1)
    workers = _worker_pids(client)
    assert set(parallel["test_pid"]) <= workers
    assert set(after["test_pid"]) <= workers
    assert [e.random_state_ for e in parallel["estimator"]] == [7] * 3
    np.testing.assert_array_equal(parallel["test_r2"], sequential["test_r2"])
    sst_seed = skfam.get_config()["base_seed"]
    assert sst_seed != 7
    assert [e.random_state_ for e in after["estimator"]] == [sst_seed] * 3
    np.testing.assert_array_equal(after["test_r2"], outside["test_r2"])
    # The seed matters here (subsampling): equal scores above are not a coincidence.
    assert not np.array_equal(parallel["test_r2"], after["test_r2"])
    # The fitted estimators that come back carry no settings: here, ours apply.
    assert parallel["estimator"][0].fit(X, y).random_state_ == sst_seed


def test_config_dir_and_n_jobs_reach_the_workers(client, tmp_path):
    X, y = _xy()
    with skfam.config_context(config_dir=_override(tmp_path), n_jobs=3):
        sequential = _cross_validate(X, y, n_jobs=1)
        with _dask():
            parallel = _cross_validate(X, y)
    assert set(parallel["test_pid"]) <= _worker_pids(client)
    assert [e.params_["n_estimators"] for e in parallel["estimator"]] == [1] * 3
    assert parallel["test_threads"].tolist() == [3] * 3
    np.testing.assert_array_equal(parallel["test_r2"], sequential["test_r2"])
    # The workers' own settings are untouched: the snapshot applies only to what carries it.
    assert list(client.run(skfam.get_config).values()) == [skfam.get_config()] * 2


def test_device_reaches_the_workers(client):
    X, y = _xy()
    estimator = skfam.MLPRegressor(variant="fast", max_epochs=1)

    def fit_where_sent(device):
        with skfam.config_context(device=device), _dask():
            results = cross_validate(
                estimator, X, y, cv=KFold(2), return_estimator=True, error_score="raise"
            )
        return [e.device_ for e in results["estimator"]]

    assert fit_where_sent("cpu") == ["cpu"] * 2
    # "cuda" reaches the workers: on a machine without CUDA their fit refuses it.
    if torch.cuda.is_available():
        assert [d.startswith("cuda") for d in fit_where_sent("cuda")] == [True] * 2
    else:
        with pytest.raises(ValueError, match="CUDA is not available"):
            fit_where_sent("cuda")


def _fit_seed(estimator, X, y):
    return estimator.fit(X, y).random_state_


def test_a_missing_config_dir_is_an_error_on_the_worker(client, tmp_path):
    X, y = _xy()
    config_dir = _override(tmp_path / "gone")
    with skfam.config_context(config_dir=config_dir):
        # Sent to a worker now, under the settings: it carries config_dir's path.
        [sent] = client.scatter([skfam.LightGBMRegressor(variant="fast")])
    shutil.rmtree(config_dir)  # as on a worker's host where the path does not exist
    with pytest.raises(ValueError, match="not a directory on this host"):
        client.submit(_fit_seed, sent, X, y).result()


def test_a_pickle_from_another_session_drops_its_settings_here(client):
    # This process runs a dask scheduler (the LocalCluster's), but pickle.loads is not dask.
    code = (
        "import pickle, sys, skfam; skfam.set_config(base_seed=7); "
        "sys.stdout.buffer.write(pickle.dumps(skfam.LightGBMRegressor(variant='fast')))"
    )
    blob = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True).stdout
    assert _fit_seed(pickle.loads(blob), *_xy()) == skfam.get_config()["base_seed"] != 7


def _detached(args, log):
    """Start ``args`` in the background of a shell that exits: not a child of this process."""
    command = f"{shlex.join(map(str, args))} > {shlex.quote(str(log))} 2>&1 & echo $!"
    out = subprocess.run(["sh", "-c", command], capture_output=True, text=True, check=True)
    return int(out.stdout)


def _loads_and_fits(blob, X, y):
    return _fit_seed(pickle.loads(blob), X, y)


def _fits_a_copy(estimator, X, y):
    return _fit_seed(copy.deepcopy(estimator), X, y)


def test_a_cluster_started_by_hand(tmp_path):
    """A scheduler and workers that this process did not start, as on a real cluster."""
    X, y = _xy()
    scheduler_file = tmp_path / "scheduler.json"
    dask = [sys.executable, "-m", "dask"]
    common = ["--scheduler-file", scheduler_file, "--no-dashboard"]
    pids = []
    try:
        # As docs/distributed.md starts them; one worker process with 2 threads (below 2
        # threads joblib runs everything here), so that skfam is imported once.
        for args, log in [
            (["scheduler", "--host", "127.0.0.1", "--port", "0", "--idle-timeout", "300"], "s"),
            (["worker", "--nworkers", "1", "--nthreads", "2", "--death-timeout", "60"], "w"),
        ]:
            pids.append(_detached([*dask, *args, *common], tmp_path / f"{log}.log"))
        with Client(
            scheduler_file=str(scheduler_file), timeout=60, set_as_default=False
        ) as client:
            client.wait_for_workers(1, timeout=60)
            workers = _worker_pids(client)
            search = GridSearchCV(
                skfam.LightGBMRegressor(variant="fast"), {"num_leaves": [3, 7]}, cv=KFold(2)
            )
            settings = {"base_seed": 7, "n_jobs": 3, "config_dir": _override(tmp_path / "c")}
            with skfam.config_context(**settings):
                sequential = _cross_validate(X, y, n_jobs=1)
                nested = cross_validate(search, X, y, cv=KFold(2), return_estimator=True)
                estimator = skfam.LightGBMRegressor(variant="fast")
                blob = pickle.dumps(estimator)
                copy_seed = client.submit(_fits_a_copy, estimator, X, y, pure=False).result()
                with joblib.parallel_config(backend="dask", client=client):
                    parallel = _cross_validate(X, y)
                    # A search inside each task: its fits are sent on from the workers.
                    nested_parallel = cross_validate(
                        search, X, y, cv=KFold(2), return_estimator=True
                    )
                # A pickle that a task loads itself is not one that dask sent.
                loaded_seed = client.submit(_loads_and_fits, blob, X, y, pure=False).result()
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGTERM)
    assert set(parallel["test_pid"]) <= workers
    assert os.getpid() not in workers
    assert [e.random_state_ for e in parallel["estimator"]] == [7] * 3
    assert [e.params_["n_estimators"] for e in parallel["estimator"]] == [1] * 3
    assert parallel["test_threads"].tolist() == [3] * 3
    np.testing.assert_array_equal(parallel["test_r2"], sequential["test_r2"])
    np.testing.assert_array_equal(nested_parallel["test_score"], nested["test_score"])
    for remote, local in zip(nested_parallel["estimator"], nested["estimator"], strict=True):
        np.testing.assert_array_equal(
            remote.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"]
        )
    # A copy made in a task keeps what the estimator it copies received.
    assert copy_seed == 7
    assert loaded_seed == skfam.get_config()["base_seed"] != 7
