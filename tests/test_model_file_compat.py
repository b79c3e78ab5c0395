"""Model files written by earlier releases keep loading with identical predictions.

The files under tests/data/compat were written by ``tests/data/compat/make_files.py``
(run it by hand to add files of a new release; never regenerate them to make this test
pass). Each ``.npz`` next to a model file holds the inputs and the predictions the saved
estimator gave when it was written.

Library versions may differ from the ones that wrote the files: ``ModelVersionWarning`` is
allowed, identical predictions are required. The one exception is the one
docs/determinism.md states: bits of floating-point kernels can differ between processor
families. LightGBM and XGBoost predictions are compared bit for bit everywhere; the other
families bit for bit on the processor kind that wrote the files (the recorded torch CPU
capability), and elsewhere within a relative 1e-6 (float32 networks) and absolute 1e-12.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest

import skfam
from skfam.model_file import ModelVersionWarning

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "compat"
#: Every family the compatibility files cover (a file missing from the folder fails).
NAMES = [
    "lightgbm_regressor",
    "lightgbm_classifier",
    "mlp_regressor",
    "mlp_classifier_batch_norm",
    "lstm_regressor",
    "xgboost_regressor",
    "ngboost_regressor",
    "ensemble_classifier",
    "rocket_classifier",
]
#: Families whose predictions hold no processor-dependent floating-point kernels.
EXACT_EVERYWHERE = {"lightgbm_regressor", "lightgbm_classifier", "xgboost_regressor"}


def _cpu_signature() -> str:
    spec = importlib.util.spec_from_file_location("compat_make_files", DATA / "make_files.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.cpu_signature()


def _load(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ModelVersionWarning)
        return skfam.load_model(path)


def test_every_family_has_a_compat_file():
    assert sorted(p.stem for p in DATA.glob("*.skfam")) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_committed_model_file_predicts_as_when_written(name):
    with np.load(DATA / f"{name}.npz", allow_pickle=False) as npz:
        expected = {key: npz[key] for key in npz.files}
    model = _load(DATA / f"{name}.skfam")
    exact = name in EXACT_EVERYWHERE or str(expected["cpu"]) == _cpu_signature()
    for method in ("predict", "predict_proba"):
        if method not in expected:
            assert not hasattr(model, method)
            continue
        got = getattr(model, method)(expected["X"])
        if exact or got.dtype.kind not in "fc":
            np.testing.assert_array_equal(got, expected[method])
        else:
            np.testing.assert_allclose(got, expected[method], rtol=1e-6, atol=1e-12)


@pytest.mark.skipif(
    shutil.which("git") is None or not (ROOT / ".git").exists(), reason="not a git checkout"
)
def test_committed_model_files_are_not_ignored_by_git():
    """The files must be committed: .gitignore ignores *.skfam except here."""
    paths = [f"tests/data/compat/{name}.{ext}" for name in NAMES for ext in ("skfam", "npz")]
    result = subprocess.run(
        ["git", "check-ignore", "--no-index", *paths], cwd=ROOT, capture_output=True, text=True
    )
    assert result.stdout == "", f"ignored by .gitignore: {result.stdout.split()}"
