"""Crafted boosters in model files: refused with ModelFileError, never a crash.

An attacker edits the booster stored in a model file and recomputes the file's checksums,
exactly as ``tests._forge.forge`` does. LightGBM's model-text parser and XGBoost's predictor
trust what they read: before skfam checked the structure, some of these files aborted the
interpreter (SIGABRT) inside ``load_model``, loaded and then segfaulted or looped forever in
``predict``. So each crafted file is loaded (and predicted with) in a child process: a
regression shows up as a failed test, not as a dead pytest worker.
"""

from __future__ import annotations

import io
import itertools
import json
import re
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Callable
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pytest
import xgboost
from sklearn.datasets import load_iris

import skfam
from skfam import (
    LightGBMClassifier,
    LightGBMRegressor,
    QuantileLightGBMRegressor,
    XGBoostClassifier,
    XGBoostRegressor,
)
from skfam._booster_checks import check_lightgbm_text, check_xgboost_json
from skfam.model_file import ModelFileError

from ._forge import forge

# Seconds the child process may take to load and predict with every crafted file; a file
# that makes predict loop forever runs into it.
_CHILD_TIMEOUT = 120


def _data(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    y = X[:, 0] + np.sin(2 * X[:, 1]) + 0.3 * rng.normal(size=n)
    X[rng.random(X.shape) < 0.05] = np.nan
    return X, y


# ---------------------------------------------------------------------- child process
_CHILD = textwrap.dedent(
    """
    import sys
    import warnings

    import numpy as np

    import skfam
    from skfam.model_file import ModelFileError

    warnings.simplefilter("ignore")
    for path in sys.argv[1:]:
        print("START", path, flush=True)
        try:
            model = skfam.load_model(path)
            model.predict(np.random.default_rng(0).normal(size=(50, model.n_features_in_)))
        except ModelFileError as exc:
            print("REFUSED", path, str(exc).replace("\\n", " "), flush=True)
        else:
            print("LOADED", path, flush=True)
    """
)


def _load_in_child(paths: list[Path]) -> dict[str, str]:
    """Load and predict with each file in a child process; return path -> outcome line.

    Asserts that the child exits normally: a crash (signal) or a hang fails here, naming
    the file it was working on.
    """
    try:
        child = subprocess.run(
            [sys.executable, "-c", _CHILD, *map(str, paths)],
            capture_output=True,
            text=True,
            timeout=_CHILD_TIMEOUT,
            check=False,
        )
        stdout, code = child.stdout, child.returncode
    except subprocess.TimeoutExpired as exc:
        stdout = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        code = "timeout"
    started = re.findall(r"^START (\S+)$", stdout, re.M)
    assert code == 0, (
        f"the child process ended with {code} while loading {started[-1:]}:\n"
        f"{stdout[-2000:]}\n{child.stderr[-2000:] if code != 'timeout' else ''}"
    )
    outcomes = {}
    for line in stdout.splitlines():
        kind, _, rest = line.partition(" ")
        if kind in ("REFUSED", "LOADED"):
            path, _, message = rest.partition(" ")
            outcomes[path] = f"{kind} {message}"
    return outcomes


# ---------------------------------------------------------------------- LightGBM
def _lgb_edit(change: Callable[[str], str]) -> Callable[[bytes], bytes]:
    """Edit a model text with ``change``, then recompute tree_sizes as an attacker would."""

    def edit(data: bytes) -> bytes:
        return _fix_tree_sizes(change(data.decode("ascii"))).encode("ascii")

    return edit


def _fix_tree_sizes(text: str) -> str:
    starts = [m.start() for m in re.finditer(r"^Tree=", text, re.M)]
    starts.append(text.index("end of trees"))
    sizes = " ".join(str(b - a) for a, b in itertools.pairwise(starts))
    return re.sub(r"^tree_sizes=.*$", f"tree_sizes={sizes}", text, count=1, flags=re.M)


def _replace(old: str, new: str) -> Callable[[bytes], bytes]:
    """Replace the first ``old`` in the model text with ``new``, then fix tree_sizes."""
    return _lgb_edit(lambda text: text.replace(old, new, 1))


def _field(key: str, change: Callable[[list[str]], list[str]], tree: int = 1):
    """Return a text edit that applies ``change`` to the tokens of ``key`` in one tree."""

    def edit(text: str) -> str:
        start = text.index(f"Tree={tree}\n")
        line_start = text.index(f"\n{key}=", start) + 1
        line_end = text.index("\n", line_start)
        tokens = text[line_start + len(key) + 1 : line_end].split(" ")
        return text[:line_start] + f"{key}=" + " ".join(change(tokens)) + text[line_end:]

    return edit


def _set(index: int, value: str) -> Callable[[list[str]], list[str]]:
    def change(tokens: list[str]) -> list[str]:
        tokens = list(tokens)
        tokens[index] = value
        return tokens

    return change


_LGB_CASES = {
    # Issue #8: one token too many. Unchecked, LightGBM loads it silently when tree_sizes
    # is recomputed, and aborts the process (SIGABRT) when it is not ("wrong_tree_sizes").
    "extra_split_feature": (
        _lgb_edit(_field("split_feature", lambda t: [*t, "0"])),
        "split_feature has 8 values, expected 7",
    ),
    "child_out_of_range": (
        _lgb_edit(_field("left_child", _set(0, str(10**8)))),
        "node 0 has child 100000000, not a node index",
    ),
    "leaf_out_of_range": (
        _lgb_edit(_field("right_child", _set(0, "-100"))),
        "not a leaf index",
    ),
    "feature_out_of_range": (
        _lgb_edit(_field("split_feature", _set(0, "1000000"))),
        "split_feature 1000000 is not a feature index",
    ),
    "num_leaves_mismatch": (
        _lgb_edit(_field("num_leaves", lambda t: ["9"])),
        "leaf_value has 8 values, num_leaves=9",
    ),
    "truncated_leaf_values": (
        _lgb_edit(_field("leaf_value", lambda t: t[:-1])),
        "leaf_value has 7 values",
    ),
    # Node 1 pointing back at the root: predict would loop forever.
    "cycle": (_lgb_edit(_field("left_child", _set(1, "0"))), "reached twice"),
    "not_a_number": (
        _lgb_edit(_field("threshold", _set(0, "0x1p3"))),
        "threshold: '0x1p3 .* not a number",
    ),
    "nan_leaf": (_lgb_edit(_field("leaf_value", _set(2, "nan"))), "leaf_value: .* not a number"),
    "wrong_tree_sizes": (
        lambda data: re.sub(rb"tree_sizes=(\d+)", rb"tree_sizes=1\1", data, count=1),
        "tree_sizes does not match",
    ),
    "other_feature_count": (
        _replace("max_feature_idx=4", "max_feature_idx=40"),
        "max_feature_idx=40 where the estimator needs 4",
    ),
    "nul_byte": (
        _replace("leaf_value=", "leaf_value=\x00"),
        "characters LightGBM never writes",
    ),
    "missing_tree": (
        lambda data: _fix_tree_sizes(
            re.sub(r"Tree=1\n.*?\n\n\n", "", data.decode("ascii"), count=1, flags=re.S)
        ).encode("ascii"),
        "expected 'Tree=1'",
    ),
}


_LGB_CLASSIFIER_CASES = {
    "two_classes_for_three": (
        _replace("num_class=3", "num_class=2"),
        "num_class=2 where the estimator needs 3",
    ),
    "other_objective": (
        _replace("objective=multiclass", "objective=multiclassova"),
        "objective 'multiclassova",
    ),
}


# ---------------------------------------------------------------------- XGBoost
def _xgb_edit(change: Callable[[dict], None]) -> Callable[[bytes], bytes]:
    def edit(data: bytes) -> bytes:
        model = json.loads(data)
        change(model)
        return json.dumps(model).encode("utf-8")

    return edit


def _gbtree(model: dict) -> dict:
    return model["learner"]["gradient_booster"]["model"]


def _tree(model: dict, index: int = 1) -> dict:
    return _gbtree(model)["trees"][index]


def _assign(key: str, node: int, value) -> Callable[[dict], None]:
    def change(model: dict) -> None:
        _tree(model)[key][node] = value

    return change


def _duplicate_left_children(data: bytes) -> bytes:
    # A second "left_children" key: Python's json keeps the last copy, a C++ parser may keep
    # the first; the bad copy comes first.
    text = data.decode("utf-8")
    start = text.index('"left_children"', text.index('"id":1,'))
    return (text[:start] + '"left_children":[100000000],' + text[start:]).encode("utf-8")


_XGB_CASES = {
    # The crash of issue #8: a child index of 10**8 loaded and then segfaulted in predict.
    "child_out_of_range": (
        _xgb_edit(_assign("left_children", 0, 10**8)),
        "node 0 has child 100000000",
    ),
    "feature_out_of_range": (
        _xgb_edit(_assign("split_indices", 0, 10**6)),
        "node 0 splits on feature 1000000",
    ),
    "cycle": (_xgb_edit(_assign("right_children", 1, 0)), "node 1 has child 0"),
    "shared_child": (
        _xgb_edit(
            lambda m: _tree(m)["right_children"].__setitem__(0, _tree(m)["left_children"][0])
        ),
        "reached twice",
    ),
    "truncated_arrays": (
        _xgb_edit(lambda m: _tree(m)["split_conditions"].pop()),
        "split_conditions has",
    ),
    "num_nodes_mismatch": (
        _xgb_edit(lambda m: _tree(m)["tree_param"].__setitem__("num_nodes", "1000")),
        "has .* values, num_nodes=1000",
    ),
    "num_trees_mismatch": (
        _xgb_edit(lambda m: _gbtree(m)["gbtree_model_param"].__setitem__("num_trees", "6")),
        "num_trees=6, but 5 trees",
    ),
    "tree_info_mismatch": (
        _xgb_edit(lambda m: _gbtree(m)["tree_info"].append(0)),
        "5 trees and 6 tree_info",
    ),
    "other_feature_count": (
        _xgb_edit(lambda m: m["learner"]["learner_model_param"].__setitem__("num_feature", "50")),
        "num_feature is not the estimator's 5",
    ),
    "float_index": (_xgb_edit(_assign("left_children", 0, 1.5)), "not an integer"),
    "duplicate_key": (_duplicate_left_children, "appears twice"),
    "legacy_version": (
        _xgb_edit(lambda m: m.__setitem__("version", [0, 90, 0])),
        r"written by XGBoost \[0, 90, 0\]",
    ),
}


_XGB_CLASSIFIER_CASES = {
    "other_objective": (
        _xgb_edit(lambda m: m["learner"]["objective"].__setitem__("name", "multi:softmax")),
        "objective is not 'multi:softprob'",
    ),
    "softmax_for_four": (
        _xgb_edit(
            lambda m: m["learner"]["objective"]["softmax_multiclass_param"].__setitem__(
                "num_class", "4"
            )
        ),
        "the objective's num_class does not match",
    ),
    "tree_for_a_fourth_class": (
        _xgb_edit(lambda m: _gbtree(m)["tree_info"].__setitem__(0, 3)),
        r"tree_info holds 3, not an integer in \[0, 2\]",
    ),
}


def _npy_edit(change: Callable[[np.ndarray], np.ndarray]) -> Callable[[bytes], bytes]:
    def edit(data: bytes) -> bytes:
        buffer = io.BytesIO()
        np.save(buffer, change(np.load(io.BytesIO(data))), allow_pickle=False)
        return buffer.getvalue()

    return edit


# ---------------------------------------------------------------------- the crafted files
_TREES = {"n_estimators": 5, "early_stopping": False}
_LGB = {**_TREES, "num_leaves": 8, "min_child_samples": 5}
_XGB = {**_TREES, "max_depth": 3, "device": "cpu"}
# (estimator, data, member edited, cases)
_GROUPS = {
    "lgb": (lambda: LightGBMRegressor(**_LGB), _data, "blobs/booster.txt", _LGB_CASES),
    "quantile": (
        lambda: QuantileLightGBMRegressor(**_LGB),
        _data,
        "blobs/booster_1.txt",
        {"extra_split_feature": _LGB_CASES["extra_split_feature"]},
    ),
    "quantile_levels": (
        lambda: QuantileLightGBMRegressor(**_LGB),
        _data,
        "arrays/quantiles.npy",
        {
            "unsorted": (_npy_edit(lambda q: q[::-1]), "levels are not sorted"),
            "out_of_range": (_npy_edit(lambda q: q * 2), r"strictly in \(0, 1\)"),
            "one_level_more": (
                _npy_edit(lambda q: np.append(q, 0.95)),
                r"need the members \[.*'booster_3.txt'\]",
            ),
        },
    ),
    "lgb_clf": (
        lambda: LightGBMClassifier(**_LGB),
        lambda: load_iris(return_X_y=True),
        "blobs/booster.txt",
        _LGB_CLASSIFIER_CASES,
    ),
    "xgb": (lambda: XGBoostRegressor(**_XGB), _data, "blobs/booster.json", _XGB_CASES),
    "xgb_clf": (
        lambda: XGBoostClassifier(**_XGB),
        lambda: load_iris(return_X_y=True),
        "blobs/booster.json",
        _XGB_CLASSIFIER_CASES,
    ),
}
_CASES = [(group, case) for group, spec in _GROUPS.items() for case in spec[3]]


@pytest.fixture(scope="module")
def crafted_outcomes(tmp_path_factory) -> dict[tuple[str, str], tuple[str, str]]:
    """Craft every file of ``_GROUPS``, load them all in one child.

    Returns (group, case) -> (path, outcome line).
    """
    folder = tmp_path_factory.mktemp("crafted")
    paths = {}
    for group, (make, data, member, cases) in _GROUPS.items():
        model = make().fit(*data())
        if group == "lgb":
            # The expected messages name tree 1's sizes: 8 leaves, 7 internal nodes.
            assert model.booster_.dump_model()["tree_info"][1]["num_leaves"] == 8
        original = folder / f"{group}.skfam"
        model.save_model(original)
        for case, (edit, _) in cases.items():
            paths[group, case] = folder / f"{group}-{case}.skfam"
            forge(original, paths[group, case], replace={member: edit})
    outcomes = _load_in_child(list(paths.values()))
    return {key: (str(path), outcomes[str(path)]) for key, path in paths.items()}


@pytest.mark.parametrize(("group", "case"), _CASES, ids=[f"{g}-{c}" for g, c in _CASES])
def test_crafted_booster_is_refused_without_a_crash(crafted_outcomes, group, case):
    expected = _GROUPS[group][3][case][1]
    path, outcome = crafted_outcomes[group, case]
    assert outcome.startswith(f"REFUSED {path}: "), outcome  # the message names the file
    assert re.search(expected, outcome), f"{outcome!r} lacks {expected!r}"


# ---------------------------------------------------------------------- originals
@pytest.mark.parametrize(
    "make",
    [
        lambda: LightGBMRegressor(variant="fast").fit(*_data()),
        lambda: LightGBMClassifier(variant="fast").fit(*load_iris(return_X_y=True)),
        lambda: LightGBMClassifier(variant="fast").fit(_data()[0], _data()[1] > 0),
        lambda: QuantileLightGBMRegressor(variant="fast").fit(*_data()),
        lambda: XGBoostRegressor(variant="fast", device="cpu").fit(*_data()),
        lambda: XGBoostClassifier(variant="fast", device="cpu").fit(*load_iris(return_X_y=True)),
        lambda: XGBoostClassifier(variant="fast", device="cpu").fit(_data()[0], _data()[1] > 0),
    ],
    ids=["lgb-reg", "lgb-multi", "lgb-binary", "quantile", "xgb-reg", "xgb-multi", "xgb-binary"],
)
def test_untouched_and_resigned_files_load_bit_for_bit(make, tmp_path):
    # NaN reaches the library too (LightGBM then writes "inf" thresholds, which must pass).
    (tmp_path / "defaults.yaml").write_text("imputation:\n  native_missing: true\n")
    with skfam.config_context(config_dir=tmp_path):
        model = make()
    X = np.random.default_rng(4).normal(size=(300, model.n_features_in_))
    X[::7, 0] = np.nan
    path, resigned = tmp_path / "m.skfam", tmp_path / "resigned.skfam"
    model.save_model(path)
    # Re-signing without an edit gives a file that loads: the refusals above come from the
    # edits, not from the re-signing.
    member = next(n for n in zipfile.ZipFile(path).namelist() if n.startswith("blobs/"))
    forge(path, resigned, replace={member: lambda data: data})
    for file in (path, resigned):
        loaded = skfam.load_model(file)
        method = "predict_proba" if hasattr(model, "classes_") else "predict"
        np.testing.assert_array_equal(getattr(loaded, method)(X), getattr(model, method)(X))


# ---------------------------------------------------------------------- checkers directly
def test_lightgbm_check_accepts_categorical_splits_and_checks_them():
    # skfam never fits categorical splits, but the checker reads them as LightGBM writes them.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    X[:, 1] = rng.integers(0, 10, 300)
    y = X[:, 0] + (X[:, 1] % 3)
    params = {"verbosity": -1, "num_leaves": 8, "min_data_per_group": 5, "cat_smooth": 1}
    booster = lgb.train(params, lgb.Dataset(X, y, categorical_feature=[1]), num_boost_round=3)
    text = booster.model_to_string()
    assert "cat_threshold=" in text
    check = {"n_features": 4, "n_classes": 1, "objective": "regression"}
    assert check_lightgbm_text(text, **check) == 3
    broken = re.sub(r"cat_boundaries=0 (\d+)", r"cat_boundaries=0 9\1", text, count=1)
    with pytest.raises(ModelFileError, match="cat_boundaries do not delimit"):
        check_lightgbm_text(_fix_tree_sizes(broken), **check)
    no_cats = re.sub(r"num_cat=[1-9]\d*", "num_cat=0", text, count=1)
    with pytest.raises(ModelFileError, match="num_cat=0"):
        check_lightgbm_text(_fix_tree_sizes(no_cats), **check)


def test_xgboost_check_accepts_categorical_splits_and_checks_them():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    X[:, 1] = rng.integers(0, 10, 300)
    y = X[:, 0] + (X[:, 1] % 3)
    data = xgboost.DMatrix(X, y, feature_types=["q", "c", "q", "q"], enable_categorical=True)
    booster = xgboost.train({"max_depth": 3, "max_cat_to_onehot": 1}, data, 3)
    model = json.loads(bytes(booster.save_raw("json")))
    model["learner"]["feature_types"] = []  # skfam never sets feature types
    tree = next(t for t in _gbtree(model)["trees"] if t["categories_nodes"])
    check = {"n_features": 4, "n_classes": None, "objective": "reg:squarederror"}
    assert check_xgboost_json(json.dumps(model).encode(), **check) == 3
    tree["categories_sizes"][0] += 1000
    with pytest.raises(ModelFileError, match="runs past the categories"):
        check_xgboost_json(json.dumps(model).encode(), **check)
    tree["categories_sizes"][0] -= 1000
    tree["split_type"][tree["categories_nodes"][0]] = 0
    with pytest.raises(ModelFileError, match="do not match the categorical splits"):
        check_xgboost_json(json.dumps(model).encode(), **check)
