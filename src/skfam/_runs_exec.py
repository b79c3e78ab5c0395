"""Running the jobs of a run (here or on dask) and writing its folder.

:func:`execute` runs the jobs one after the other in this process, or as tasks of a dask
cluster, with the same job function (:func:`skfam._runs_jobs.run_job`), then writes the
run folder: model files, predictions, ``split.npz`` (and ``data.npz`` for a DataFrame),
``leaderboard.csv``, ``leaderboard.png`` and, last, ``manifest.json``.
"""

from __future__ import annotations

import io
import json
import math
import os
import sys
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from ._runs_data import MissingExtraError, RunError, Table, require
from ._runs_jobs import environment, run_job
from ._runs_report import PLOT_HINT, leaderboard, plot_leaderboard, write_csv
from ._runs_split import Split
from ._runs_verify import RUN_FORMAT, RUN_FORMAT_VERSION

__all__ = [
    "Job",
    "Run",
    "connect",
    "data_section",
    "execute",
    "prepare_folder",
    "say",
    "split_npz",
    "table_npz",
]


@dataclass(eq=False)
class Run:
    """The result of :func:`run_families`.

    Attributes
    ----------
    leaderboard : list of dict
        One dict per trained family, best first: ``rank``, ``family``, ``task``,
        ``dataset``, ``metric`` (r2 or accuracy on the test rows), ``score``,
        ``fit_seconds``, ``variant`` and ``model_file``.
    manifest : dict
        What ``manifest.json`` holds (see ``docs/running.md``).
    out_dir : Path or None
        The run folder (None: nothing was written).
    notes : list of str
        What was skipped or left out, and why.
    """

    leaderboard: list[dict[str, Any]]
    manifest: dict[str, Any]
    out_dir: Path | None
    notes: list[str] = field(default_factory=list)

    @property
    def failures(self) -> list[str]:
        """Names of the families whose training failed."""
        return [e["name"] for e in self.manifest["families"] if e["status"] != "ok"]

    def __repr__(self) -> str:
        lead = ""
        if self.leaderboard:
            best = self.leaderboard[0]
            score = "nan" if best["score"] is None else f"{best['score']:.4f}"
            lead = f", best={best['family']!r} ({best['metric']} {score})"
        return f"Run(out_dir={self.out_dir}, families={len(self.manifest['families'])}{lead})"


@dataclass
class Job:
    """One family to train on one dataset (before its data is attached)."""

    name: str
    family: str
    task: str
    cls: type
    input_mode: str
    dataset: str
    variant: str | None
    params: dict[str, Any]
    inputs: str  # key of the train/test arrays it uses
    ordered_rows: bool = False  # trained on its rows in table order (metadata.ordered_rows)


def say(stream: TextIO | None, text: str) -> None:
    """Print a progress line to ``stream`` (None: nowhere)."""
    if stream is not None:
        print(text, file=stream, flush=True)


def note(notes: list[str], stream: TextIO | None, text: str) -> None:
    """Keep ``text`` in the run's notes and say it."""
    notes.append(text)
    say(stream, text)


def run_settings(seed: int) -> dict[str, Any]:
    """Return the settings every job applies: seed, config folder, device setting."""
    from ._settings import active_config_dir, get_config

    config_dir = active_config_dir()
    return {
        "base_seed": seed,
        "config_dir": None if config_dir is None else os.path.abspath(config_dir),
        "device": get_config()["device"],
    }


def data_section(table: Table) -> dict[str, Any]:
    """Return the manifest's ``data`` section: where the table came from and its layout."""
    section = dict(table.source)
    section.update(
        shape=list(table.shape),
        columns=list(table.columns),
        dtypes=table.dtypes,
        target=table.target,
        task=table.task,
        task_reason=table.task_reason,
        features=list(table.features),
        time_column=table.time_column,
        group_column=table.group_column,
        n_groups=table.n_groups,
        n_rows=table.n_rows,
    )
    return section


def _npz(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def split_npz(table: Table, split: Split) -> bytes:
    """Train and test rows, as rows of the source (0-based, header excluded)."""
    return _npz(train_rows=table.rows[split.train], test_rows=table.rows[split.test])


def table_npz(table: Table) -> bytes:
    """Return the table of a DataFrame source as npz bytes, for ``verify_run`` to retrain from."""
    arrays = {"X": table.X, "y": table.y, "rows": table.rows}
    if table.time is not None:
        arrays["time"] = table.time
    if table.groups is not None:
        arrays["groups"] = table.groups
    if arrays["y"].dtype == object:  # pragma: no cover - load_table gives str arrays
        arrays["y"] = arrays["y"].astype(str)
    return _npz(**arrays)


def prepare_folder(out: str | os.PathLike | None) -> Path | None:
    """Create the run folder (None: no folder); one that already holds files is refused."""
    if out is None:
        return None
    if not isinstance(out, (str, os.PathLike)):
        raise RunError(f"out must be a path or None, got {type(out).__name__}.")
    folder = Path(out)
    if folder.exists():
        if not folder.is_dir():
            raise RunError(f"{folder}: exists and is not a folder; choose another run folder.")
        if any(folder.iterdir()):
            raise RunError(f"{folder}: the run folder already holds files; choose a new one.")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def connect(scheduler: Any) -> tuple[Any, bool]:
    """Return a dask client for ``scheduler`` and whether this code owns (closes) it."""
    distributed = require("distributed", "dask", "Running on a dask cluster (scheduler=...)")
    if isinstance(scheduler, distributed.Client):
        return scheduler, False
    if not isinstance(scheduler, str):
        raise RunError(
            f"scheduler must be an address such as 'tcp://host:8786' or a distributed.Client, "
            f"got {type(scheduler).__name__}."
        )
    try:
        return distributed.Client(scheduler), True
    except (OSError, ValueError, TimeoutError) as exc:
        raise RunError(f"cannot connect to the dask scheduler at {scheduler!r}: {exc}") from None


def make_spec(job: Job, settings: dict[str, Any], verbose: int) -> dict[str, Any]:
    from .model_file import _encode

    return {
        "name": job.name,
        "family": job.family,
        "task": job.task,
        "class": job.cls.__name__,
        "params": _encode(job.params, f"{job.cls.__name__} parameter"),
        "settings": settings,
        "verbose": verbose,
    }


def label(job: Job) -> str:
    """Return how progress names a job: family (task, dataset)."""
    return f"{job.family} ({job.task}, {job.dataset})"


def execute_here(
    jobs: list[Job],
    specs: list[dict[str, Any]],
    inputs: dict[str, dict[str, np.ndarray]],
    progress: TextIO | None,
) -> list[dict[str, Any]]:
    results = []
    for number, (job, spec) in enumerate(zip(jobs, specs, strict=True), start=1):
        say(progress, f"[{number}/{len(jobs)}] {label(job)}: started")
        stream = progress if progress is not None and progress is not sys.stderr else None
        result = run_job(spec, inputs[job.inputs], stream)
        say(progress, f"[{number}/{len(jobs)}] {label(job)}: {outcome(result)}")
        results.append(result)
    return results


def outcome(result: dict[str, Any]) -> str:
    if result["status"] != "ok":
        return f"failed: {result['error']}"
    return f"done in {result['fit_seconds']:.1f} s, {result['metric']} {result['score']:.4f}"


def execute_on_dask(
    jobs: list[Job],
    specs: list[dict[str, Any]],
    inputs: dict[str, dict[str, np.ndarray]],
    client: Any,
    progress: TextIO | None,
) -> list[dict[str, Any]]:
    import distributed

    token = uuid.uuid4().hex[:8]
    remote = {}
    for key, arrays in inputs.items():
        if any(job.inputs == key for job in jobs):
            names = sorted(arrays)
            futures = client.scatter([arrays[n] for n in names], hash=False)
            remote[key] = dict(zip(names, futures, strict=True))
    futures = {}
    for job, spec in zip(jobs, specs, strict=True):
        future = client.submit(
            run_job, spec, remote[job.inputs], key=f"skfam-train-{job.name}-{token}", pure=False
        )
        futures[future] = job
    address = client.scheduler.address
    say(progress, f"submitted {len(jobs)} jobs to the dask scheduler at {address}")
    results: dict[str, dict[str, Any]] = {}
    for number, future in enumerate(distributed.as_completed(list(futures)), start=1):
        job = futures[future]
        try:
            result = future.result()
        except Exception as exc:  # the task itself broke (e.g. a worker died)
            result = {
                "name": job.name,
                "status": "failed",
                "error": f"{type(exc).__name__}: {exc}",
                "where": {"worker": None, "host": None, "pid": None},
            }
        worker = result["where"]["worker"]
        say(progress, f"[{number}/{len(jobs)}] {label(job)} on {worker}: {outcome(result)}")
        results[job.name] = result
    return [results[job.name] for job in jobs]


def execute(
    jobs: list[Job],
    inputs: dict[str, dict[str, np.ndarray]],
    base: dict[str, Any],
    *,
    seed: int,
    variant: str | None,
    device: str | None,
    folder: Path | None,
    progress: TextIO | None,
    client: Any,
    notes: list[str],
    extra_files: dict[str, bytes],
) -> Run:
    """Train the jobs (here, or on dask with ``client``), write the run folder, return the Run."""
    settings = run_settings(seed)
    # Estimators report epochs / rounds only where the output goes somewhere, and not from
    # dask workers (their stderr is the worker's log).
    verbose = 1 if progress is not None and client is None else 0
    specs = [make_spec(job, settings, verbose) for job in jobs]
    env = environment()
    manifest = {
        "format": RUN_FORMAT,
        "format_version": RUN_FORMAT_VERSION,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "skfam_version": env["versions"]["skfam"],
        **env,
        "seed": seed,
        "settings": settings,
        "device": device,
        "variant": variant,
        "scheduler": None if client is None else client.scheduler.address,
        **base,
    }
    if client is not None:
        results = execute_on_dask(jobs, specs, inputs, client, progress)
    else:
        results = execute_here(jobs, specs, inputs, progress)
    entries = [
        make_entry(job, spec, result)
        for job, spec, result in zip(jobs, specs, results, strict=True)
    ]
    manifest["families"] = entries
    manifest["skipped"] = notes
    board = leaderboard(entries)
    if folder is not None:
        write_folder(folder, manifest, results, extra_files, board, notes, progress)
    return Run(leaderboard=board, manifest=manifest, out_dir=folder, notes=notes)


def make_entry(job: Job, spec: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": job.name,
        "family": job.family,
        "task": job.task,
        "class": job.cls.__name__,
        "input_mode": job.input_mode,
        "ordered_rows": job.ordered_rows,
        "dataset": job.dataset,
        "variant": job.variant,
        "params": spec["params"],
        "status": result["status"],
        "ran_on": result["where"],
    }
    if result["status"] != "ok":
        entry["error"] = result["error"]
        return entry
    score = result["score"]
    entry.update(
        metric=result["metric"],
        score=score if math.isfinite(score) else None,
        fit_seconds=round(result["fit_seconds"], 4),
        params_=result["params_"],
        random_state_=result["random_state_"],
        device=result["device"],
        n_train=result["n_train"],
        n_test=result["n_test"],
        model={"file": f"models/{job.name}.skfam", "sha256": result["model_sha256"]},
        predictions={
            "file": f"predictions/{job.name}.npy",
            "sha256": result["predictions_sha256"],
        },
        probabilities=(
            {
                "file": f"predictions/{job.name}.proba.npy",
                "sha256": result["probabilities_sha256"],
            }
            if "probabilities_sha256" in result
            else None
        ),
    )
    return entry


def write_folder(
    folder: Path,
    manifest: dict[str, Any],
    results: list[dict[str, Any]],
    extra_files: dict[str, bytes],
    board: list[dict[str, Any]],
    notes: list[str],
    progress: TextIO | None,
) -> None:
    """Write the files of a run into ``folder``; ``manifest.json`` comes last."""
    (folder / "models").mkdir(exist_ok=True)
    (folder / "predictions").mkdir(exist_ok=True)
    for entry, result in zip(manifest["families"], results, strict=True):
        if result["status"] != "ok":
            continue
        (folder / entry["model"]["file"]).write_bytes(result["model_bytes"])
        (folder / entry["predictions"]["file"]).write_bytes(result["predictions_bytes"])
        if entry["probabilities"] is not None:
            (folder / entry["probabilities"]["file"]).write_bytes(result["probabilities_bytes"])
    for name, data in extra_files.items():
        (folder / name).write_bytes(data)
    write_csv(folder / "leaderboard.csv", board)
    manifest["plot"] = None
    if board:
        try:
            plot_leaderboard(board, folder / "leaderboard.png")
            manifest["plot"] = "leaderboard.png"
        except MissingExtraError:
            note(notes, progress, f"note: no leaderboard.png: matplotlib is missing ({PLOT_HINT})")
    text = json.dumps(manifest, indent=2, allow_nan=False)
    (folder / "manifest.json").write_text(text + "\n", encoding="utf-8")
