"""`skfam train --data`, run folders and `skfam verify` (skfam.runs)."""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import skfam
from skfam._runs_split import family_inputs, make_split
from skfam.cli import main
from skfam.runs import (
    RunError,
    load_table,
    plot_leaderboard,
    run_families,
    verify_run,
)

WINDOW = 8


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _regression_frame(seed: int = 0, n: int = 240) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n), rng.normal(size=n)
    return pd.DataFrame({"a": a, "b": b, "y": 2 * a - b + rng.normal(scale=0.1, size=n)})


def _series_frame(seed: int = 1, n: int = 100) -> pd.DataFrame:
    """Two series ("AAA", "BBB") of daily rows, shuffled, dates as ISO text."""
    rng = np.random.default_rng(seed)
    parts = []
    for symbol in ("AAA", "BBB"):
        level = np.cumsum(rng.normal(size=n))
        parts.append(
            pd.DataFrame(
                {
                    "date": pd.date_range("2024-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
                    "symbol": symbol,
                    "level": level,
                    "noise": rng.normal(size=n),
                    "next_change": np.append(np.diff(level), 0.0),
                }
            )
        )
    frame = pd.concat(parts, ignore_index=True)
    return frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("runs")


@pytest.fixture(scope="module")
def configs(folder):
    """A config folder that shortens the fast nets (and must travel with the runs)."""
    path = folder / "configs"
    (path / "models").mkdir(parents=True)
    (path / "models" / "lstm.yaml").write_text("variants:\n  fast:\n    max_epochs: 3\n")
    (path / "models" / "mlp.yaml").write_text("variants:\n  fast:\n    max_epochs: 8\n")
    return path


def _main(configs, argv):
    with skfam.config_context(config_dir=configs):
        return main([str(a) for a in argv])


@pytest.fixture(scope="module")
def reg_csv(folder):
    path = folder / "reg.csv"
    _regression_frame().to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def reg_run(folder, configs, reg_csv):
    """`skfam train` on a CSV file with lightgbm and mlp; returns (run dir, stdout, stderr)."""
    out = folder / "reg_run"
    stdout, stderr = io.StringIO(), io.StringIO()
    argv = ["train", "--data", reg_csv, "--target", "y", "--families", "lightgbm,mlp"]
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        status = _main(configs, [*argv, "--variant", "fast", "--out", out])
    assert status == 0, stderr.getvalue()
    return out, stdout.getvalue(), stderr.getvalue()


def _manifest(run_dir: Path) -> dict:
    return json.loads((run_dir / "manifest.json").read_text())


def test_manifest_records_data_split_and_families(reg_run, reg_csv):
    run_dir, _, _ = reg_run
    manifest = _manifest(run_dir)
    assert manifest["format"] == "skfam-run"
    assert manifest["versions"]["skfam"] == skfam.__version__
    assert manifest["versions"]["numpy"] == np.__version__
    assert manifest["platform"]["host"] and manifest["seed"] == 42
    assert manifest["settings"]["config_dir"] == os.path.abspath(run_dir.parent / "configs")
    data = manifest["data"]
    assert data["path"] == str(reg_csv.resolve()) and data["sha256"] == _sha256(reg_csv)
    assert data["shape"] == [240, 3] and data["columns"] == ["a", "b", "y"]
    assert data["task"] == "regression" and data["features"] == ["a", "b"]
    split = manifest["split"]
    assert split["kind"] == "shuffled" and split["sha256"] == _sha256(run_dir / "split.npz")
    with np.load(run_dir / "split.npz") as rows:
        train, test = rows["train_rows"], rows["test_rows"]
    assert sorted([*train, *test]) == list(range(240))
    assert len(test) == split["n_test"] == 60
    frame = pd.read_csv(reg_csv)
    names = [entry["name"] for entry in manifest["families"]]
    assert names == ["lightgbm", "mlp"]
    for entry in manifest["families"]:
        assert entry["status"] == "ok" and entry["random_state_"] == 42
        assert entry["params"] == {"variant": "fast"} and entry["fit_seconds"] > 0
        assert entry["ran_on"] == {
            "worker": None,
            "host": manifest["platform"]["host"],
            "pid": os.getpid(),
        }
        model_file = run_dir / entry["model"]["file"]
        predictions = run_dir / entry["predictions"]["file"]
        assert entry["model"]["sha256"] == _sha256(model_file)
        assert entry["predictions"]["sha256"] == _sha256(predictions)
        # The saved model predicts the saved predictions for the recorded test rows.
        model = skfam.load_model(model_file)
        assert model.params_ == entry["params_"]
        X_test = frame.loc[test, ["a", "b"]].to_numpy()
        assert np.array_equal(model.predict(X_test), np.load(predictions))
    mlp = manifest["families"][1]
    assert mlp["params_"]["max_epochs"] == 8  # the config folder was applied
    # The SST's device "auto" trains on the GPU where CUDA is present.
    import torch

    expected = "cpu"
    if torch.cuda.is_available():
        expected = f"cuda ({torch.cuda.get_device_name(torch.cuda.current_device())})"
    assert mlp["device"] == expected


def test_leaderboard_csv_png_and_progress(reg_run):
    run_dir, out, err = reg_run
    with open(run_dir / "leaderboard.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["rank"] for row in rows] == ["1", "2"]
    assert sorted(row["family"] for row in rows) == ["lightgbm", "mlp"]
    assert float(rows[0]["score"]) >= float(rows[1]["score"])
    assert all(row["metric"] == "r2" and row["variant"] == "fast" for row in rows)
    assert (run_dir / "leaderboard.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert _manifest(run_dir)["plot"] == "leaderboard.png"
    assert "Leaderboard: regression on reg.csv" in out and f"run folder: {run_dir}" in out
    assert "task regression (inferred: target 'y' is numeric" in err
    assert "[1/2] lightgbm (regression, reg.csv): started" in err
    assert "[2/2] mlp (regression, reg.csv): done in" in err
    assert "MLPRegressor: epoch" in err  # the estimators' own progress (verbose=1)
    figure = plot_leaderboard(run_dir)
    labels = [tick.get_text() for tick in figure.axes[0].get_yticklabels()]
    assert labels == [rows[1]["family"], rows[0]["family"]]  # best at the top


def test_tampered_prediction_and_model_file_diverge(reg_run, tmp_path, capsys):
    run_dir = tmp_path / "copy"
    shutil.copytree(reg_run[0], run_dir)
    predictions = run_dir / "predictions" / "lightgbm.npy"
    changed = np.load(predictions)
    changed[3] += 0.5
    np.save(predictions, changed)
    model_file = run_dir / "models" / "mlp.skfam"
    data = bytearray(model_file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model_file.write_bytes(bytes(data))
    assert main(["verify", str(run_dir), "-q"]) == 1
    captured = capsys.readouterr()
    rows = {line.split()[0]: line for line in captured.out.splitlines()[2:]}
    assert rows["lightgbm"].split()[1:3] == ["DIVERGED", "0.5"]
    assert "predictions/lightgbm.npy changed since the run" in rows["lightgbm"]
    assert rows["mlp"].split()[1] == "DIVERGED"
    assert "models/mlp.skfam changed since the run" in rows["mlp"]
    assert "cannot be loaded" in rows["mlp"]
    assert "Traceback" not in captured.err and captured.err == ""


def test_verify_refuses_changed_or_missing_data(reg_run, tmp_path, capsys):
    changed = tmp_path / "reg.csv"
    changed.write_text(reg_run[0].parent.joinpath("reg.csv").read_text() + "0.1,0.2,0.3\n")
    assert main(["verify", str(reg_run[0]), "--data", str(changed)]) == 2
    assert "changed since the run" in capsys.readouterr().err
    assert main(["verify", str(tmp_path)]) == 2
    assert "not a run folder (no manifest.json)" in capsys.readouterr().err
    assert main(["verify", str(reg_run[0]), "nope"]) == 2
    assert "unknown families ['nope']" in capsys.readouterr().err


@pytest.fixture(scope="module")
def series_csv(folder):
    path = folder / "series.csv"
    _series_frame().to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def series_run(folder, configs, series_csv):
    out = folder / "series_run"
    argv = ["train", "--data", series_csv, "--target", "next_change", "--time-column", "date"]
    argv += ["--group-column", "symbol", "--families", "lightgbm", "lstm", "--variant", "fast"]
    assert _main(configs, [*argv, "--window", WINDOW, "--out", out, "-q"]) == 0
    return out


def test_time_split_has_a_purge_gap_and_no_look_ahead(series_run, series_csv):
    manifest = _manifest(series_run)
    split = manifest["split"]
    assert split["kind"] == "time" and split["gap"] == WINDOW == manifest["window"]
    frame = pd.read_csv(series_csv, parse_dates=["date"])
    with np.load(series_run / "split.npz") as rows:
        train, test = frame.loc[rows["train_rows"]], frame.loc[rows["test_rows"]]
    assert test["date"].min() > train["date"].max()
    assert split["cut"] == (test["date"].min() - pd.Timedelta(days=WINDOW)).strftime("%Y-%m-%d")
    for _, group in frame.groupby("symbol"):
        dates = group.sort_values("date")["date"].to_numpy()
        last_train = train.loc[train["symbol"] == group["symbol"].iloc[0], "date"].max()
        first_test = test.loc[test["symbol"] == group["symbol"].iloc[0], "date"].min()
        between = np.sum((dates > last_train) & (dates < first_test))
        assert between == WINDOW  # the purge gap: a test window never holds a training row
    lightgbm, lstm = manifest["families"]
    assert lstm["input_mode"] == "sequence" and lstm["params_"]["max_epochs"] == 3
    # Same test rows for every family; the LSTM trains only on rows with a full window.
    assert lightgbm["n_test"] == lstm["n_test"] == len(test)
    assert lstm["n_train"] == lightgbm["n_train"] - 2 * (WINDOW - 1)
    assert np.load(series_run / lstm["predictions"]["file"]).shape == (len(test),)


def test_verify_is_stable_on_an_untouched_run(series_run, capsys):
    # The run used a config folder; the fresh processes get it from the manifest.
    assert main(["verify", str(series_run)]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0].split() == ["family", "status", "max_abs_diff", "details"]
    assert [line.split()[:3] for line in lines[2:]] == [
        ["lightgbm", "STABLE", "0"],
        ["lstm", "STABLE", "0"],
    ]
    assert "[2/2] lstm: STABLE" in captured.err


def test_parquet_classification_quiet(tmp_path, configs, capsys):
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"a": rng.normal(size=160), "flag": rng.integers(0, 2, 160) == 1})
    frame["label"] = np.where(frame["a"] > 0, "up", "down")
    frame.to_parquet(tmp_path / "cls.parquet")
    argv = ["train", "--data", tmp_path / "cls.parquet", "--target", "label", "lightgbm"]
    assert _main(configs, [*argv, "--variant", "fast", "--out", tmp_path / "run", "-q"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""  # -q: no progress
    assert "Leaderboard: classification on cls.parquet" in captured.out
    manifest = _manifest(tmp_path / "run")
    assert manifest["data"]["format"] == "parquet" and manifest["data"]["task"] == "classification"
    assert manifest["data"]["task_reason"] == "target 'label' is not numeric"
    assert manifest["split"]["kind"] == "stratified"
    entry = manifest["families"][0]
    assert np.load(tmp_path / "run" / entry["predictions"]["file"]).dtype.kind == "U"
    proba = np.load(tmp_path / "run" / entry["probabilities"]["file"])
    assert proba.shape == (entry["n_test"], 2) and np.allclose(proba.sum(axis=1), 1.0)


def test_missing_pyarrow_and_matplotlib_are_said(tmp_path, reg_csv, configs, monkeypatch, capsys):
    _regression_frame().to_parquet(tmp_path / "reg.parquet")
    with monkeypatch.context() as patch:
        patch.setitem(sys.modules, "pyarrow", None)  # "import pyarrow" raises ImportError
        assert main(["train", "--data", str(tmp_path / "reg.parquet"), "--target", "y"]) == 2
        assert 'pip install "skfam[parquet]"' in capsys.readouterr().err
        with pytest.raises(ImportError, match=r"skfam\[parquet\]"):
            load_table(tmp_path / "reg.parquet", "y")
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"skfam\[plot\]"):
        plot_leaderboard(tmp_path)
    argv = ["train", "--data", reg_csv, "--target", "y", "lightgbm", "--variant", "fast"]
    assert _main(configs, [*argv, "--out", tmp_path / "run"]) == 0
    assert 'note: no leaderboard.png: matplotlib is missing (pip install "skfam[plot]")' in (
        capsys.readouterr().err
    )
    assert not (tmp_path / "run" / "leaderboard.png").exists()
    assert _manifest(tmp_path / "run")["plot"] is None


def _files(tmp_path: Path) -> dict[str, Path]:
    files = {}
    for name, text in {
        "empty.csv": "",
        "header.csv": "a,b,y\n",
        "text.csv": "a,b,y\n1,x,2\n2,y,3\n3,z,4\n",
        "nan.csv": "a,y\n1,\n2,3\n3,4\n",
        "dup.csv": "date,s,x,y\n2024-01-01,A,1,2\n2024-01-01,B,2,3\n2024-01-01,A,1,1\n",
        "baddate.csv": "date,x,y\nyesterday,1,2\ntoday,2,3\n",
        "classes.csv": "x,y\n1,0\n2,1\n3,0\n4,1\n",
    }.items():
        files[name] = tmp_path / name
        files[name].write_text(text)
    return files


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--data", "{reg}", "--target", "nope"], "target 'nope' is not a column"),
        (["--data", "{reg}", "--target", "y", "nope"], "unknown families ['nope']"),
        (["--data", "{reg}", "--target", "y", "--variant", "fats"], "no chosen family has a"),
        (["--data", "{empty.csv}", "--target", "y"], "the file is empty"),
        (["--data", "{header.csv}", "--target", "y"], "the table has no rows"),
        (["--data", "{text.csv}", "--target", "y"], "feature columns ['b'] are not numeric"),
        (["--data", "{nan.csv}", "--target", "y"], "target column 'y' has 1 missing values"),
        (
            [
                "--data",
                "{dup.csv}",
                "--target",
                "y",
                "--time-column",
                "date",
                "--group-column",
                "s",
            ],
            "time 2024-01-01 appears more than once in group 'A'",
        ),
        (["--data", "{baddate.csv}", "--target", "y", "--time-column", "date"], "ISO 8601"),
        (["--data", "{reg}", "--target", "y", "--group-column", "a"], "give time_column too"),
        (["--data", "{reg}", "--target", "y", "lstm"], "lstm skipped: a sequence family needs"),
        (
            ["--data", "{reg}", "--target", "y", "--task", "classification"],
            "numbers that are not whole",
        ),
        (
            [
                "--data",
                "{classes.csv}",
                "--target",
                "y",
                "--task",
                "classification",
                "quantile_lightgbm",
            ],
            "family 'quantile_lightgbm' cannot do classification",
        ),
        (["--data", "{reg}", "--target", "y", "--out", "{reg_run}"], "already holds files"),
        (["--data", "{missing.csv}", "--target", "y"], "no such file"),
        (["--target", "y"], "--target needs --data"),
        (["--data", "{reg}"], "--data needs --target"),
    ],
)
def test_bad_input_exits_2_before_anything_trains(
    tmp_path, reg_csv, reg_run, argv, message, capsys
):
    paths = {"reg": reg_csv, "reg_run": reg_run[0], "missing.csv": tmp_path / "missing.csv"}
    paths.update(_files(tmp_path))
    argv = [str(paths[a[1:-1]]) if a.startswith("{") else a for a in argv]
    if "--out" not in argv:
        argv += ["--out", str(tmp_path / "run")]
    assert main(["train", *argv]) == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1].startswith("skfam train: error: ") and message in err
    assert "started" not in err
    assert not (tmp_path / "run").exists()


def test_load_table_infers_the_task_and_checks_columns():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"x": rng.normal(size=50), "on": rng.integers(0, 2, 50) == 1})
    frame["y"] = np.arange(50) % 3
    table = load_table(frame, "y")
    assert table.task == "classification" and "3 distinct whole numbers" in table.task_reason
    assert table.X[:, 1].tolist() == frame["on"].astype(float).tolist()  # booleans as 0/1
    assert load_table(frame.assign(y=frame["y"] + 0.5), "y").task == "regression"
    assert load_table(frame, "y", task="regression").y.dtype == np.float64
    with pytest.raises(RunError, match="regression needs a numeric target"):
        load_table(frame.assign(y="a"), "y", task="regression")
    with pytest.raises(RunError, match=r"feature columns \['x'\] hold infinite values"):
        load_table(frame.assign(x=np.inf), "y")
    with pytest.raises(RunError, match="at least 2 classes"):
        load_table(frame.assign(y="same"), "y")


def test_load_table_sorts_series_stably_by_group_then_time():
    frame = pd.DataFrame(
        {
            "t": [3, 1, 2, 1, 2],
            "g": ["b", "b", "a", "a", "b"],
            "x": [0.0, 1.0, 2.0, 3.0, 4.0],
            "y": [1.0, 2.0, 3.0, 4.0, 5.0],
        }
    )
    table = load_table(frame, "y", time_column="t", group_column="g")
    # Groups in order of first appearance ("b" then "a"), time order within each.
    assert table.rows.tolist() == [1, 4, 0, 3, 2]
    assert table.groups.tolist() == [0, 0, 0, 1, 1] and table.n_groups == 2
    assert table.X[:, 0].tolist() == frame["x"].to_numpy()[table.rows].tolist()
    with pytest.raises(RunError, match="appears more than once"):
        load_table(frame.drop(columns="g"), "y", time_column="t")  # one series: times repeat


def test_api_on_a_dataframe_writes_its_data_and_verifies(tmp_path):
    table = load_table(_regression_frame(seed=4, n=160), "y")
    run = run_families(table, ["lightgbm"], variant="fast", out=None)
    assert run.out_dir is None and [row["family"] for row in run.leaderboard] == ["lightgbm"]
    run = run_families(table, "lightgbm", variant="fast", seed=7, out=tmp_path / "run")
    manifest = run.manifest
    assert manifest["data"]["kind"] == "frame" and manifest["seed"] == 7
    assert manifest["data"]["sha256"] == _sha256(tmp_path / "run" / "data.npz")
    assert manifest["families"][0]["random_state_"] == 7
    (result,) = verify_run(tmp_path / "run")
    assert (result.family, result.status, result.max_abs_diff) == ("lightgbm", "STABLE", 0.0)
    with pytest.raises(RunError, match="already holds files"):
        run_families(table, ["lightgbm"], out=tmp_path / "run")
    with pytest.raises(RunError, match="test_size must be a fraction"):
        run_families(table, ["lightgbm"], test_size=1.5)


def test_demo_run_writes_a_run_folder(tmp_path, capsys):
    argv = ["train", "lightgbm", "--task", "regression", "--variant", "fast"]
    assert main([*argv, "--out", str(tmp_path / "demo")]) == 0
    out = capsys.readouterr().out
    assert "Leaderboard: regression on diabetes" in out
    manifest = _manifest(tmp_path / "demo")
    assert manifest["data"] == {"kind": "demo", "seed": 42}
    (entry,) = manifest["families"]
    assert entry["name"] == "lightgbm-regression" and entry["dataset"] == "diabetes"
    assert (tmp_path / "demo" / "models" / "lightgbm-regression.skfam").is_file()
    assert main(["verify", str(tmp_path / "demo"), "-q"]) == 0
    assert "lightgbm-regression  STABLE" in capsys.readouterr().out


@pytest.fixture(scope="module")
def cluster():
    import distributed

    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as local:
        yield local


def test_scheduler_runs_jobs_on_workers_and_verifies(
    cluster, reg_run, reg_csv, configs, tmp_path, capsys
):
    out = tmp_path / "dask_run"
    argv = ["train", "--data", reg_csv, "--target", "y", "--families", "lightgbm,mlp"]
    argv += ["--variant", "fast", "--scheduler", cluster.scheduler_address, "--out", out]
    assert _main(configs, argv) == 0
    assert f"submitted 2 jobs to the dask scheduler at {cluster.scheduler_address}" in (
        capsys.readouterr().err
    )
    manifest = _manifest(out)
    assert manifest["scheduler"] == cluster.scheduler_address
    workers = set(cluster.scheduler_info["workers"])
    local = _manifest(reg_run[0])
    for entry, here in zip(manifest["families"], local["families"], strict=True):
        assert entry["ran_on"]["worker"] in workers and entry["ran_on"]["pid"] != os.getpid()
        # The same job on a worker gives the same model as in this process.
        assert entry["predictions"]["sha256"] == here["predictions"]["sha256"]
        assert entry["params_"] == here["params_"]
    assert main(["verify", str(out), "-q"]) == 0
    assert capsys.readouterr().out.count("STABLE") == 2


def test_a_failing_family_is_reported_and_exits_1(tmp_path, reg_csv, monkeypatch, capsys):
    def broken(self, *args, **kwargs):
        raise RuntimeError("no luck")

    monkeypatch.setattr(skfam.LightGBMRegressor, "_fit_model", broken)
    argv = ["train", "--data", str(reg_csv), "--target", "y", "lightgbm", "--variant", "fast"]
    assert main([*argv, "--out", str(tmp_path / "run"), "-q"]) == 1
    captured = capsys.readouterr()
    assert captured.err == "lightgbm: failed: RuntimeError: no luck\n"  # said even with -q
    (entry,) = _manifest(tmp_path / "run")["families"]
    assert entry["status"] == "failed" and entry["error"] == "RuntimeError: no luck"
    assert not (tmp_path / "run" / "models" / "lightgbm.skfam").exists()
    assert main(["verify", str(tmp_path / "run"), "-q"]) == 1
    assert "lightgbm  FAILED  -             failed in the run: RuntimeError" in (
        capsys.readouterr().out
    )


def test_a_family_that_reads_rows_in_order_trains_on_them_in_file_order(tmp_path):
    # Pretend LightGBM reads its rows as a series (metadata.ordered_rows): its training rows
    # come in the file's order, while a shuffled split shuffles them for the others.
    frame = _regression_frame(n=120).assign(row=np.arange(120.0))
    table = load_table(frame, "y")
    split = make_split(table, 0.25, seed=3, gap=0)
    column = list(table.features).index("row")
    shuffled, _ = family_inputs(table, split, "features", 1)
    ordered, _ = family_inputs(table, split, "features", 1, ordered=True)
    assert np.all(np.diff(ordered["X_train"][:, column]) > 0)
    assert not np.all(np.diff(shuffled["X_train"][:, column]) > 0)
    assert sorted(ordered["X_train"][:, column]) == sorted(shuffled["X_train"][:, column])
    assert np.array_equal(ordered["X_test"], shuffled["X_test"])
    folder = tmp_path / "configs" / "models"
    folder.mkdir(parents=True)
    (folder / "lightgbm.yaml").write_text("metadata:\n  ordered_rows: true\n")
    with skfam.config_context(config_dir=tmp_path / "configs"):
        run = run_families(table, ["lightgbm", "mlp"], variant="fast", out=tmp_path / "run")
        results = verify_run(tmp_path / "run")
    assert [r.status for r in results] == ["STABLE", "STABLE"]
    entries = {e["family"]: e for e in run.manifest["families"]}
    assert entries["lightgbm"]["ordered_rows"] and not entries["mlp"]["ordered_rows"]
