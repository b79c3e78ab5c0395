"""The ``verbose`` parameter: progress on stderr that never changes the fitted model."""

from __future__ import annotations

import contextlib
import inspect
import io
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.utils._param_validation import InvalidParameterError

import skfam
from skfam import ConfigError
from skfam.base import COMMON_PARAMS
from skfam.model_file import ModelVersionWarning

from ._strategies import estimator_cases, fast_params

COMPAT = Path(__file__).resolve().parent / "data" / "compat"
CASES = estimator_cases()


def _data(n: int = 200, width: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, width))
    return X, X[:, 0] - 0.5 * X[:, 1] + rng.normal(scale=0.1, size=n)


def _target(task: str, y: np.ndarray) -> np.ndarray:
    return (y > np.median(y)).astype(np.int64) if task == "classification" else y


def _small(cls: type, **extra) -> dict:
    """Fast, CPU-only settings; torch nets train 3 epochs."""
    params = fast_params(cls)
    if "max_epochs" in cls._get_param_names():
        params["max_epochs"] = 3
    return {**params, **extra}


def _outputs(model) -> np.ndarray:
    X, _ = _data(50, seed=1)
    return model.predict_proba(X) if hasattr(model, "predict_proba") else model.predict(X)


def _lines(text: str, name: str) -> list[str]:
    lines = text.splitlines()
    assert all(line.startswith(f"{name}: ") for line in lines), lines
    return [line[len(name) + 2 :] for line in lines]


def _expected_reports(total: int, verbose: int) -> list[int]:
    """The epochs/rounds the documented rule reports: first, last, every max(1, n // 10)."""
    step = 1 if verbose >= 2 else max(1, total // 10)
    return sorted({1, total} | set(range(step, total + 1, step)))


# ---------------------------------------------------------------------- the parameter
@pytest.mark.parametrize(("key", "task", "cls"), CASES, ids=[c[2].__name__ for c in CASES])
def test_every_estimator_has_a_keyword_only_verbose_that_is_not_a_hyperparameter(key, task, cls):
    parameter = inspect.signature(cls).parameters["verbose"]
    assert parameter.kind is inspect.Parameter.KEYWORD_ONLY
    assert parameter.default == 0
    assert "verbose" in COMMON_PARAMS
    assert "verbose" not in cls._hyperparameter_names()
    assert "verbose" not in skfam.load_model_config(key)
    assert "verbose :" in cls.__doc__
    estimator = cls(verbose=2)
    assert estimator.verbose == 2  # stored as given
    assert clone(estimator).get_params()["verbose"] == 2
    assert estimator.set_params(verbose=0).verbose == 0


@pytest.mark.parametrize("value", [-1, "x", 1.5, None])
def test_an_invalid_verbose_is_refused_at_fit_saying_so(value):
    X, y = _data()
    estimator = skfam.LightGBMRegressor(variant="fast", verbose=value)  # construction stores
    with pytest.raises(InvalidParameterError, match="'verbose' parameter"):
        estimator.fit(X, y)
    assert not hasattr(estimator, "booster_")


def test_verbose_true_counts_as_one_as_in_scikit_learn(capsys):
    X, y = _data()
    skfam.LightGBMRegressor(variant="fast", verbose=True).fit(X, y)
    assert "round 1/" in capsys.readouterr().err


def test_a_yaml_cannot_set_verbose(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "lightgbm.yaml").write_text("hyperparameters:\n  verbose: 1\n")
    with (
        skfam.config_context(config_dir=tmp_path),
        pytest.raises(ConfigError, match=r"hyperparameters\.verbose is not a hyperparameter"),
    ):
        skfam.load_model_config("lightgbm")


# ---------------------------------------------------------------------- same model, silent at 0
@pytest.mark.filterwarnings("ignore::skfam.DegenerateModelWarning")
@pytest.mark.parametrize(("key", "task", "cls"), CASES, ids=[c[2].__name__ for c in CASES])
def test_verbose_prints_to_stderr_only_and_changes_no_prediction(key, task, cls, capsys):
    X, y = _data()
    y = _target(task, y)
    quiet = cls(**_small(cls)).fit(X, y)
    silent = capsys.readouterr()
    assert silent.out == "" and silent.err == ""
    loud = cls(**_small(cls, verbose=2)).fit(X, y)
    captured = capsys.readouterr()
    assert captured.out == ""  # skorch, LightGBM, XGBoost: nothing on stdout
    lines = _lines(captured.err, cls.__name__)
    # Sequence families read 2-D input as windows of one channel.
    assert lines[0] in (
        "fit started on 200 rows of 8 features",
        "fit started on 200 windows of 8 steps x 1 channel",
    )
    assert re.fullmatch(r"fitted in \d+\.\d+ s( \(.+\))?", lines[-1])
    assert len(lines) > 2
    assert np.array_equal(_outputs(quiet), _outputs(loud))
    assert quiet.params_ == loud.params_
    assert "verbose" not in loud.params_


def _torch_state(model) -> dict[str, torch.Tensor]:
    return model.net_.module_.state_dict()


@pytest.mark.filterwarnings("ignore::skfam.DegenerateModelWarning")
def test_a_default_width_net_with_early_stopping_is_the_same_bits_with_verbose(capsys):
    # The SST's own MLP (3 hidden layers, dropout) on 2000 rows: early stopping holds out a
    # validation split, the plateau schedule reads it, and the progress callback sits
    # between them.
    X, y = _data(2000, width=10, seed=3)
    params = {"device": "cpu", "max_epochs": 4, "patience": 2, "early_stopping": True}
    quiet = skfam.MLPRegressor(**params).fit(X, y)
    loud = skfam.MLPRegressor(**params, verbose=1).fit(X, y)
    a, b = _torch_state(quiet), _torch_state(loud)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert np.array_equal(quiet.predict(X), loud.predict(X))
    assert quiet.n_iter_ == loud.n_iter_
    lines = _lines(capsys.readouterr().err, "MLPRegressor")
    epochs = [line for line in lines if line.startswith("epoch ")]
    total = loud.params_["max_epochs"]
    reported = _expected_reports(total, 1)
    assert [int(e.split()[1].split("/")[0]) for e in epochs] == [
        i for i in reported if i <= loud.n_iter_
    ]
    assert all(f"/{total}  train_loss " in e and "  valid_loss " in e for e in epochs)
    assert all(re.search(r"  lr \S+", e) for e in epochs)
    assert f"({loud.n_iter_} of {total} epochs" in lines[-1]
    assert "best epoch" in lines[-1]


@pytest.mark.parametrize(
    "make",
    [
        lambda v: skfam.LightGBMClassifier(variant="fast", early_stopping=True, verbose=v),
        lambda v: skfam.XGBoostRegressor(variant="fast", early_stopping=True, verbose=v),
        lambda v: skfam.NGBoostRegressor(variant="fast", early_stopping=True, verbose=v),
    ],
    ids=["lightgbm", "xgboost", "ngboost"],
)
def test_boosters_with_early_stopping_are_the_same_bits_with_verbose(make, capsys):
    X, y = _data(400, seed=4)
    if isinstance(make(0), skfam.LightGBMClassifier):
        y = _target("classification", y)
    quiet, loud = make(0).fit(X, y), make(2).fit(X, y)
    if hasattr(quiet, "booster_") and hasattr(quiet.booster_, "model_to_string"):
        assert quiet.booster_.model_to_string() == loud.booster_.model_to_string()
    elif hasattr(quiet, "booster_"):
        assert quiet.booster_.save_raw("json") == loud.booster_.save_raw("json")
    else:
        assert np.array_equal(quiet.scalings_, loud.scalings_)
        assert np.array_equal(quiet.validation_loss_, loud.validation_loss_)
    assert np.array_equal(_outputs(quiet), _outputs(loud))
    assert quiet.n_iter_ == loud.n_iter_
    lines = _lines(capsys.readouterr().err, type(loud).__name__)
    steps = [line for line in lines if re.match(r"(round|stage) \d+/", line)]
    # verbose=2: every round/stage run, each with its validation metric.
    assert len(steps) == loud.n_iter_
    assert all("valid" in line for line in steps)


# ---------------------------------------------------------------------- what is printed
def test_lightgbm_reports_the_rounds_the_rule_says(capsys):
    X, y = _data()
    for verbose in (1, 2):
        model = skfam.LightGBMRegressor(variant="fast", n_estimators=35, verbose=verbose)
        model.fit(X, y)
        lines = _lines(capsys.readouterr().err, "LightGBMRegressor")
        rounds = [int(line.split()[1].split("/")[0]) for line in lines if line.startswith("round")]
        assert rounds == _expected_reports(35, verbose)
        assert lines[-1].endswith("(35 of 35 rounds)")


def test_progress_goes_to_the_stderr_in_force_when_it_is_written(capsys):
    X, y = _data()
    redirected = io.StringIO()
    with contextlib.redirect_stderr(redirected):
        skfam.NGBoostRegressor(variant="fast", verbose=1).fit(X, y)
    assert capsys.readouterr().err == ""
    lines = _lines(redirected.getvalue(), "NGBoostRegressor")
    assert any(line.startswith("stage 1/") and "train_nll" in line for line in lines)


def test_minirocket_reports_features_and_ridge(capsys):
    X, y = _data(60, width=20)
    skfam.MiniRocketRegressor(variant="fast", device="cpu", verbose=1).fit(X, y)
    lines = _lines(capsys.readouterr().err, "MiniRocketRegressor")
    assert "MiniRocket features of 60 series computed" in lines[1]
    assert lines[2].startswith("RidgeCV fitted in ")


def test_ensemble_hands_verbose_minus_one_to_skfam_members(capsys):
    X, y = _data()
    members = {
        "members": ["linear", "lightgbm"],
        "member_params": {"lightgbm": {"variant": "fast"}},
    }
    one = skfam.EnsembleRegressor(variant="fast", verbose=1, **members).fit(X, y)
    err = capsys.readouterr().err
    assert dict(one.members_)["lightgbm"].verbose == 0
    assert "LightGBMRegressor:" not in err
    lines = _lines(err, "EnsembleRegressor")
    assert [line.split(":")[0] for line in lines if line.startswith("member")] == [
        "member 1/2 'linear'",
        "member 2/2 'lightgbm'",
    ] * 2  # out-of-fold predictions, then the refit on all rows
    two = skfam.EnsembleRegressor(variant="fast", verbose=2, **members).fit(X, y)
    err = capsys.readouterr().err
    assert dict(two.members_)["lightgbm"].verbose == 1
    assert "LightGBMRegressor: round 1/" in err
    assert "EnsembleRegressor: member 2/2 'lightgbm': fold 1/" in err
    assert np.array_equal(one.predict(X), two.predict(X))
    # A member's verbose given in member_params is kept.
    given = {**members, "member_params": {"lightgbm": {"variant": "fast", "verbose": 0}}}
    three = skfam.EnsembleRegressor(variant="fast", verbose=2, **given).fit(X, y)
    assert dict(three.members_)["lightgbm"].verbose == 0
    assert "LightGBMRegressor:" not in capsys.readouterr().err


# ---------------------------------------------------------------------- with scikit-learn
def test_grid_search_over_verbose_scores_alike(capsys):
    X, y = _data()
    search = GridSearchCV(
        skfam.LightGBMRegressor(variant="fast"), {"verbose": [0, 1]}, cv=3, refit=False
    ).fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert scores[0] == scores[1]
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("LightGBMRegressor: fitted in") == 3  # the folds of verbose=1


def test_grid_search_of_a_verbose_estimator_keeps_it(capsys):
    X, y = _data()
    search = GridSearchCV(
        skfam.LightGBMRegressor(variant="fast", verbose=1), {"num_leaves": [3, 7]}, cv=2
    ).fit(X, y)
    assert search.best_estimator_.verbose == 1
    assert capsys.readouterr().err.count("LightGBMRegressor: fitted in") == 2 * 2 + 1


# ---------------------------------------------------------------------- model files
def test_verbose_is_saved_with_the_params_and_old_files_load_silent(tmp_path, capsys):
    X, y = _data()
    model = skfam.LightGBMRegressor(variant="fast", verbose=1).fit(X, y)
    model.save_model(tmp_path / "m.skfam")
    loaded = skfam.load_model(tmp_path / "m.skfam")
    assert loaded.verbose == 1
    assert np.array_equal(loaded.predict(X), model.predict(X))
    capsys.readouterr()
    # Files written before verbose existed hold no such parameter: they load with 0.
    for path in sorted(COMPAT.glob("*.skfam")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ModelVersionWarning)
            old = skfam.load_model(path)
        assert old.get_params()["verbose"] == 0, path.name
    assert capsys.readouterr().err == ""
