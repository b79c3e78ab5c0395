"""``skfam verify``: retrain each family of a run in a fresh process and compare bit for bit."""

from __future__ import annotations

import io
import json
import multiprocessing
import os
import sys
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from ._runs_data import RunError, Table, load_table, sha256_file
from ._runs_split import Split, family_inputs, make_split

__all__ = ["VerifyResult", "read_manifest", "verify_run"]

#: Format of ``manifest.json`` of a run folder.
RUN_FORMAT = "skfam-run"
RUN_FORMAT_VERSION = 1

STABLE = "STABLE"
DIVERGED = "DIVERGED"
FAILED = "FAILED"


@dataclass(frozen=True)
class VerifyResult:
    """The verdict of :func:`verify_run` on one family of a run.

    Attributes
    ----------
    family : str
        The family's name in the run (its key; ``key-task`` in a demo run).
    status : {"STABLE", "DIVERGED", "FAILED"}
        STABLE: the saved model file loads and predicts the saved predictions, and a
        retraining in a fresh process gives them again, bit for bit, with the same
        ``params_`` and ``random_state_``. DIVERGED: something differs (see ``details``).
        FAILED: the family had failed in the run, so there is nothing to verify.
    max_abs_diff : float or None
        The largest absolute difference found between predictions (class probabilities
        for classifiers); 0.0 when identical; None when no numbers could be compared.
    details : str
        What was checked, or what differed.
    """

    family: str
    status: str
    max_abs_diff: float | None
    details: str


def read_manifest(run_dir: Path) -> dict[str, Any]:
    """Return the manifest of a run folder, checked for its format."""
    path = Path(run_dir) / "manifest.json"
    if not path.is_file():
        raise RunError(f"{run_dir}: not a run folder (no manifest.json).")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != RUN_FORMAT:
        raise RunError(f"{path}: not the manifest of a skfam run.")
    if manifest.get("format_version", 0) > RUN_FORMAT_VERSION:
        raise RunError(
            f"{path}: run format version {manifest['format_version']} is newer than this "
            f"skfam reads ({RUN_FORMAT_VERSION}); upgrade skfam."
        )
    return manifest


def _load_npy(path: Path) -> np.ndarray:
    return np.load(path, allow_pickle=False)


class _Source:
    """Rebuilds the train/test arrays of a run's families from its manifest."""

    def __init__(self, run_dir: Path, manifest: dict[str, Any], data: Any = None) -> None:
        self.run_dir = run_dir
        self.manifest = manifest
        section = manifest["data"]
        self.kind = section["kind"]
        self.table: Table | None = None
        self.split: Split | None = None
        if self.kind == "demo":
            return
        if self.kind == "file":
            path = Path(data) if data is not None else Path(section["path"])
            if not path.is_file():
                raise RunError(
                    f"the run's data file {path} is missing; pass its new place with --data."
                )
            if sha256_file(path) != section["sha256"]:
                raise RunError(
                    f"the data file {path} changed since the run (its sha256 differs from the "
                    "manifest's); verify needs the exact data the run used."
                )
            self.table = load_table(
                path,
                section["target"],
                task=section["task"],
                time_column=section["time_column"],
                group_column=section["group_column"],
            )
        elif self.kind == "frame":
            self.table = self._frame_table(section)
        else:
            raise RunError(f"unknown data kind {self.kind!r} in the manifest.")
        self.split = self._split()

    def _checked(self, name: str, sha256: str) -> Path:
        path = self.run_dir / name
        if not path.is_file():
            raise RunError(f"{path} is missing from the run folder.")
        if sha256_file(path) != sha256:
            raise RunError(f"{path} changed since the run (its sha256 differs).")
        return path

    def _frame_table(self, section: dict[str, Any]) -> Table:
        with np.load(self._checked(section["file"], section["sha256"]), allow_pickle=False) as f:
            arrays = {key: f[key] for key in f.files}
        return Table(
            X=arrays["X"],
            y=arrays["y"],
            target=section["target"],
            task=section["task"],
            task_reason=section["task_reason"],
            features=tuple(section["features"]),
            columns=tuple(section["columns"]),
            dtypes=section["dtypes"],
            time=arrays.get("time"),
            groups=arrays.get("groups"),
            n_groups=section["n_groups"],
            time_column=section["time_column"],
            group_column=section["group_column"],
            rows=arrays["rows"],
            source={"kind": "frame"},
            shape=tuple(section["shape"]),
        )

    def _split(self) -> Split:
        section = self.manifest["split"]
        table = self.table
        assert table is not None
        with np.load(self._checked(section["file"], section["sha256"]), allow_pickle=False) as f:
            train_rows, test_rows = f["train_rows"], f["test_rows"]
        position = np.empty(table.n_rows, dtype=np.int64)
        position[table.rows] = np.arange(table.n_rows)
        return Split(section["kind"], position[train_rows], position[test_rows], section)

    def split_matches_rule(self) -> bool:
        """Whether the split rule of the manifest gives the rows of ``split.npz`` again."""
        if self.table is None or self.split is None:
            return True
        section = self.manifest["split"]
        gap = section.get("gap", 0)
        again = make_split(self.table, section["test_size"], self.manifest["seed"], gap)
        return np.array_equal(again.train, self.split.train) and np.array_equal(
            again.test, self.split.test
        )

    def inputs(self, entry: dict[str, Any]) -> dict[str, np.ndarray]:
        """Return the train/test arrays of one family of the run."""
        if self.kind == "demo":
            from .datasets import load_demo

            demo = load_demo(
                entry["task"], entry["input_mode"], seed=self.manifest["data"]["seed"]
            )
            return {
                "X_train": demo.X_train,
                "y_train": demo.y_train,
                "X_test": demo.X_test,
                "y_test": demo.y_test,
            }
        assert self.table is not None and self.split is not None
        window = self.manifest["window"] or 1
        ordered = entry.get("ordered_rows", False)
        data, _ = family_inputs(
            self.table, self.split, entry["input_mode"], window, ordered=ordered
        )
        return data


def _spec(manifest: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": entry["name"],
        "family": entry["family"],
        "task": entry["task"],
        "class": entry["class"],
        "params": entry["params"],
        "settings": manifest["settings"],
        "verbose": 0,
    }


def _retrain(run_dir: str, name: str, data: str | None) -> dict[str, Any]:
    """Retrain one family of a run from its manifest (runs in a fresh process)."""
    from ._runs_jobs import run_job

    manifest = read_manifest(Path(run_dir))
    entry = next(e for e in manifest["families"] if e["name"] == name)
    inputs = _Source(Path(run_dir), manifest, data).inputs(entry)
    result = run_job(_spec(manifest, entry), inputs)
    result.pop("model_bytes", None)
    return result


def _difference(expected: np.ndarray, actual: np.ndarray) -> tuple[bool, float | None, str]:
    """Compare two prediction arrays bit for bit; return (same, largest difference, text)."""
    if expected.shape != actual.shape:
        return False, None, f"shape {actual.shape} instead of {expected.shape}"
    numeric = expected.dtype.kind in "fiub" and actual.dtype.kind in "fiub"
    if numeric:
        same = expected.dtype == actual.dtype and expected.tobytes() == actual.tobytes()
        a, b = expected.astype(np.float64), actual.astype(np.float64)
        both = np.isnan(a) & np.isnan(b)
        with np.errstate(invalid="ignore"):
            gaps = np.where(both, 0.0, np.abs(a - b))
        gaps = np.where(np.isnan(gaps), np.inf, gaps)
        largest = float(gaps.max()) if gaps.size else 0.0
        text = "" if same else f"largest difference {largest:.3g}"
        if not same and largest == 0.0:
            text = f"same values, other bits (dtype {actual.dtype} vs {expected.dtype})"
        return same, largest, text
    same = expected.dtype.kind == actual.dtype.kind and bool(np.array_equal(expected, actual))
    differing = int(np.sum(expected.astype(str) != actual.astype(str)))
    return same, None, "" if same else f"{differing} of {expected.size} labels differ"


class _Verdict:
    """Collects the checks of one family."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.largest: float | None = None

    def problem(self, text: str) -> None:
        self.problems.append(text)

    def compare(self, what: str, expected: np.ndarray | None, actual: np.ndarray | None) -> None:
        if expected is None or actual is None:
            return
        same, largest, text = _difference(expected, actual)
        if largest is not None:
            self.largest = largest if self.largest is None else max(self.largest, largest)
        if not same:
            self.problem(f"{what}: {text}")


def _read_saved(
    run_dir: Path, record: dict[str, Any] | None, verdict: _Verdict
) -> np.ndarray | None:
    """Return a saved prediction file, noting when it changed or cannot be read."""
    if record is None:
        return None
    path = run_dir / record["file"]
    if not path.is_file():
        verdict.problem(f"{record['file']} is missing")
        return None
    if sha256_file(path) != record["sha256"]:
        verdict.problem(f"{record['file']} changed since the run (sha256 differs)")
    try:
        return _load_npy(path)
    except (OSError, ValueError) as exc:
        verdict.problem(f"{record['file']} cannot be read: {exc}")
        return None


def _reloaded(
    run_dir: Path, entry: dict[str, Any], X_test: np.ndarray, verdict: _Verdict
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Load the saved model file and predict the test rows with it."""
    from .model_file import load_model

    record = entry["model"]
    path = run_dir / record["file"]
    if not path.is_file():
        verdict.problem(f"{record['file']} is missing")
        return None, None
    if sha256_file(path) != record["sha256"]:
        verdict.problem(f"{record['file']} changed since the run (sha256 differs)")
    try:
        model = load_model(path)
        predicted = np.asarray(model.predict(X_test))
        proba = None
        if entry["probabilities"] is not None:
            proba = np.asarray(model.predict_proba(X_test), dtype=np.float64)
    except Exception as exc:  # a damaged or forged file is reported, whatever it raises
        verdict.problem(f"{record['file']} cannot be loaded and used: {type(exc).__name__}: {exc}")
        return None, None
    return predicted, proba


def _bytes_array(data: bytes | None) -> np.ndarray | None:
    return None if data is None else np.load(io.BytesIO(data), allow_pickle=False)


class _Fresh:
    """Retrains families in fresh processes (spawned), one process per family.

    Up to one process per core runs at once; results do not depend on the thread count
    (see docs/determinism.md). Python 3.10 lacks ``max_tasks_per_child``, so there each
    family gets a pool of its own, one after the other.
    """

    def __init__(self, run_dir: Path, data: str | None, count: int) -> None:
        self.run_dir, self.data = str(run_dir), data
        self.context = multiprocessing.get_context("spawn")
        self.shared: ProcessPoolExecutor | None = None
        if sys.version_info >= (3, 11) and count:
            workers = max(1, min(count, os.cpu_count() or 1))
            self.shared = ProcessPoolExecutor(
                max_workers=workers, mp_context=self.context, max_tasks_per_child=1
            )

    def submit(self, name: str) -> Future:
        if self.shared is not None:
            return self.shared.submit(_retrain, self.run_dir, name, self.data)
        with ProcessPoolExecutor(max_workers=1, mp_context=self.context) as pool:
            future = pool.submit(_retrain, self.run_dir, name, self.data)
            future.exception()  # wait here, inside this family's own pool
            return future

    def close(self) -> None:
        if self.shared is not None:
            self.shared.shutdown(wait=True, cancel_futures=True)


def _retrained(future: Future) -> dict[str, Any]:
    try:
        return future.result()
    except Exception as exc:  # the fresh process could not retrain at all
        return {"status": "failed", "error": f"{type(exc).__name__}: {exc}", "where": {}}


def _verify_entry(
    run_dir: Path, entry: dict[str, Any], source: _Source, retrain: Future
) -> VerifyResult:
    name = entry["name"]
    verdict = _Verdict()
    saved = _read_saved(run_dir, entry["predictions"], verdict)
    saved_proba = _read_saved(run_dir, entry["probabilities"], verdict)
    inputs = source.inputs(entry)
    loaded, loaded_proba = _reloaded(run_dir, entry, inputs["X_test"], verdict)
    verdict.compare("saved model vs saved predictions", saved, loaded)
    verdict.compare("saved model vs saved probabilities", saved_proba, loaded_proba)
    result = _retrained(retrain)
    pid = result.get("where", {}).get("pid")
    if result["status"] != "ok":
        verdict.problem(f"retraining failed: {result['error']}")
    else:
        retrained = _bytes_array(result["predictions_bytes"])
        verdict.compare("retrained vs saved predictions", saved, retrained)
        if saved is None:
            verdict.compare("retrained vs saved model", loaded, retrained)
        verdict.compare(
            "retrained vs saved probabilities",
            saved_proba,
            _bytes_array(result.get("probabilities_bytes")),
        )
        if result["predictions_sha256"] != entry["predictions"]["sha256"]:
            if not verdict.problems:
                verdict.problem("retrained predictions differ from the recorded sha256")
        if result["params_"] != entry["params_"]:
            changed = sorted(
                k
                for k in set(result["params_"]) | set(entry["params_"])
                if result["params_"].get(k) != entry["params_"].get(k)
            )
            verdict.problem(f"params_ differ in {changed}")
        if result["random_state_"] != entry["random_state_"]:
            verdict.problem(
                f"random_state_ {result['random_state_']} instead of {entry['random_state_']}"
            )
    if verdict.problems:
        return VerifyResult(name, DIVERGED, verdict.largest, "; ".join(verdict.problems))
    return VerifyResult(
        name,
        STABLE,
        verdict.largest,
        f"saved model and a retrain in a fresh process (pid {pid}) give the saved "
        "predictions bit for bit",
    )


def verify_run(
    run_dir: str | Path,
    families: list[str] | None = None,
    *,
    data: str | Path | None = None,
    progress: TextIO | None = None,
) -> list[VerifyResult]:
    """Check that a run folder reproduces bit for bit.

    For each family of the run: its model file must be the one recorded (SHA-256), load,
    and predict the saved test predictions exactly; and the family is retrained from the
    manifest (same data, split, class, parameters, seed and config folder) in a fresh
    Python process, whose predictions, ``params_`` and ``random_state_`` must equal the
    saved ones, bit for bit.

    Parameters
    ----------
    run_dir : path
        A folder written by :func:`skfam.runs.run_families` or ``skfam train --out``.
    families : list of str, default=None
        Names of the families to verify (None: every one).
    data : path, default=None
        Where the run's data file is now, if it moved (its SHA-256 must still match).
    progress : text stream, default=None
        Where to report each family as it is verified. None is quiet.

    Returns
    -------
    results : list of VerifyResult
        One per family, in the run's order.

    Raises
    ------
    RunError
        Not a run folder, an unknown family name, or the data (or the run's split file)
        is missing or changed since the run.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np, pandas as pd
    >>> from skfam.runs import load_table, run_families, verify_run
    >>> rng = np.random.default_rng(0)
    >>> frame = pd.DataFrame({"a": rng.normal(size=120), "y": rng.normal(size=120)})
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     run = run_families(load_table(frame, "y"), ["lightgbm"], variant="fast", out=folder)
    ...     [(r.family, r.status, r.max_abs_diff) for r in verify_run(folder)]
    [('lightgbm', 'STABLE', 0.0)]
    """
    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir)
    try:
        entries = manifest["families"]
        names = [e["name"] for e in entries]
    except (KeyError, TypeError) as exc:
        raise RunError(f"{run_dir / 'manifest.json'}: incomplete manifest ({exc}).") from None
    if families is not None:
        unknown = [f for f in families if f not in names]
        if unknown:
            raise RunError(f"unknown families {unknown}; this run has {names}")
        entries = [e for e in entries if e["name"] in families]
    data_text = None if data is None else str(Path(data).resolve())
    source = _Source(run_dir, manifest, data_text)
    split_note = None
    if not source.split_matches_rule():
        split_note = "the manifest's split rule no longer gives the rows of split.npz"
    trained = [e for e in entries if e["status"] == "ok"]
    fresh = _Fresh(run_dir, data_text, len(trained))
    try:
        # Every retraining starts first; the checks of the saved files run meanwhile.
        futures = {e["name"]: fresh.submit(e["name"]) for e in trained}
        if progress is not None and futures:
            print(
                f"retraining {len(futures)} families in fresh processes", file=progress, flush=True
            )
        results = []
        for number, entry in enumerate(entries, start=1):
            if entry["status"] != "ok":
                error = entry.get("error")
                result = VerifyResult(entry["name"], FAILED, None, f"failed in the run: {error}")
            else:
                result = _verify_entry(run_dir, entry, source, futures[entry["name"]])
            if split_note is not None and result.status != FAILED:
                details = (
                    split_note if result.status == STABLE else f"{result.details}; {split_note}"
                )
                result = VerifyResult(result.family, DIVERGED, result.max_abs_diff, details)
            if progress is not None:
                print(
                    f"[{number}/{len(entries)}] {entry['name']}: {result.status}",
                    file=progress,
                    flush=True,
                )
            results.append(result)
    finally:
        fresh.close()
    return results
