"""Compare families on your own data, keep a run folder, verify it: the API of ``skfam train``.

* :func:`load_table` reads and checks a CSV / Parquet file or a DataFrame.
* :func:`run_families` trains the chosen families on one split of it, scores them on the
  same held-out rows and writes a run folder: ``manifest.json``, one model file per family,
  the test predictions, ``leaderboard.csv`` and ``leaderboard.png``.
* :func:`plot_leaderboard` draws the leaderboard of a run.
* :func:`verify_run` retrains every family of a run in fresh processes and checks, bit for
  bit, that the saved models and predictions come back.

See ``docs/running.md``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from ._runs_data import MissingExtraError, RunError, Table, load_table
from ._runs_exec import (
    Job,
    Run,
    connect,
    data_section,
    execute,
    prepare_folder,
    say,
    split_npz,
    table_npz,
)
from ._runs_jobs import sha256_bytes
from ._runs_report import plot_leaderboard
from ._runs_split import family_inputs, make_split
from ._runs_verify import VerifyResult, verify_run

__all__ = [
    "MissingExtraError",
    "Run",
    "RunError",
    "Table",
    "VerifyResult",
    "load_table",
    "plot_leaderboard",
    "run_families",
    "verify_run",
]

#: Window length of the sequence families when none is given.
DEFAULT_WINDOW = 30
#: Seed of the demo data's split and synthetic series (``skfam.datasets.load_demo``).
DEMO_SEED = 42


# ---------------------------------------------------------------------- planning
def _check_split_options(test_size: Any, window: Any) -> tuple[float, int]:
    if (
        isinstance(test_size, bool)
        or not isinstance(test_size, (int, float))
        or not 0 < test_size < 1
    ):
        raise RunError(f"test_size must be a fraction in (0, 1), got {test_size!r}.")
    window = DEFAULT_WINDOW if window is None else window
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1:
        raise RunError(f"window must be an int >= 1, got {window!r}.")
    return float(test_size), int(window)


def _check_seed_device(seed: Any, device: Any) -> int:
    """Return the seed in force (None: the SST's base_seed); refuse an invalid device."""
    from ._seeds import resolve_random_state

    if seed is None:
        seed = resolve_random_state(None)  # the SST's base_seed (a ConfigError if invalid)
    elif isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise RunError(f"seed must be an int or None, got {seed!r}.")
    elif not 0 <= seed < 2**32:
        raise RunError(f"seed must lie in [0, 2**32), got {seed}.")
    if device is not None and not (
        isinstance(device, str)
        and (device in ("auto", "cpu", "cuda") or device.startswith("cuda:"))
    ):
        raise RunError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}.")
    return int(seed)


def _select_families(
    families: Sequence[str] | str | None, registry: dict[str, Any]
) -> tuple[list[str], bool]:
    """Return the family keys to train and whether the user named them."""
    if families is None:
        return [k for k, info in sorted(registry.items()) if info.enabled], False
    if isinstance(families, str):
        families = [families]
    keys = list(dict.fromkeys(families))
    if not keys:
        raise RunError("families is empty; name at least one family, or None for every one.")
    unknown = [k for k in keys if k not in registry]
    if unknown:
        raise RunError(f"unknown families {unknown}; known: {sorted(registry)}")
    return keys, True


def _variants(
    keys: list[str], registry: dict[str, Any], variant: str | None, demo: bool
) -> tuple[dict[str, str | None], dict[str, str]]:
    """Return the variant each family uses, and a note for each family without ``variant``."""
    if variant is not None and not isinstance(variant, str):
        raise RunError(f"variant must be a string or None, got {variant!r}.")
    if variant is not None and not any(variant in registry[k].variants for k in keys):
        known = sorted({v for k in keys for v in registry[k].variants})
        raise RunError(f"no chosen family has a variant {variant!r}; their variants: {known}")
    chosen: dict[str, str | None] = {}
    notes: dict[str, str] = {}
    for key in keys:
        fallback = registry[key].demo_variant if demo else None
        if variant is not None and variant in registry[key].variants:
            chosen[key] = variant
        else:
            chosen[key] = fallback
            if variant is not None:
                used = fallback or "its defaults"
                notes[key] = f"note: {key} has no variant {variant!r}; it uses {used}"
    return chosen, notes


def _params(job_cls: type, variant: str | None, device: str | None) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if variant is not None:
        params["variant"] = variant
    if device is not None and "device" in job_cls._get_param_names():
        params["device"] = device
    return params


# ---------------------------------------------------------------------- running
def run_families(
    table: Table,
    families: Sequence[str] | str | None = None,
    *,
    variant: str | None = None,
    seed: int | None = None,
    test_size: float = 0.25,
    out: str | os.PathLike | None = None,
    window: int | None = None,
    device: str | None = None,
    progress: TextIO | None = None,
    scheduler: Any = None,
) -> Run:
    """Train families on a table and rank them on the same held-out rows.

    Every check (families, variant, the SST, the split, the windows, the run folder, the
    scheduler) runs before anything trains. A family whose training fails is reported in
    the manifest and in ``Run.failures``; the others go on.

    The split: without a time column, shuffled (stratified for classification) with the
    seed ``derive_seed(seed, "split")``; with one, the rows at or after a cut time are the
    test rows (one cut for all series, so no test row is earlier than any training row),
    less a purge gap of ``window`` rows at the start of each series' test part, so no
    test window overlaps a training row. Every family is scored on the same test rows.

    Sequence families (LSTM, CNN, Transformer, MiniRocket) see, for each row, the window of
    the ``window`` rows of its series that ends at it (feature columns only) and predict
    that row's target, as the tabular families do from the row alone; the hybrid family
    sees both. They need a time column and are skipped with a note without one.

    Parameters
    ----------
    table : Table
        From :func:`load_table`.
    families : list of str, default=None
        Family keys (see ``skfam.families()``); None trains every enabled family that can do
        the task. A named family that cannot do the task is an error.
    variant : str, default=None
        A variant (e.g. "fast") for the families that have it; the others use their
        defaults, with a note.
    seed : int, default=None
        Base seed of the estimators and of the split (None: the SST's ``base_seed``).
    test_size : float, default=0.25
        Fraction of the rows held out (by time when there is a time column).
    out : path, default=None
        The run folder to write (created; it must not hold files yet). None writes nothing.
    window : int, default=None
        Window length of the sequence and hybrid families, and the purge gap of a time
        split (None: 30).
    device : {"auto", "cpu", "cuda"} or "cuda:N", default=None
        Device of the families that can use a GPU (None: the ``device`` setting).
    progress : text stream, default=None
        Where progress goes (e.g. ``sys.stderr``): per family started, epochs or rounds
        where the estimator reports them, done with time and score. None is quiet.
    scheduler : str or distributed.Client, default=None
        Run the families as jobs on a dask cluster (an address such as
        ``"tcp://host:8786"``, or a client); None trains them one after the other here.
        Needs ``pip install "skfam[dask]"``.

    Returns
    -------
    run : Run
        The leaderboard, the manifest and the run folder.

    Raises
    ------
    RunError
        An unknown family or variant, a family that cannot do the task, nothing left to
        train, a split or window that leaves no rows, a run folder that holds files, a
        scheduler that cannot be reached.
    skfam.ConfigError
        The SST files of the chosen families are invalid.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from skfam.runs import load_table, run_families
    >>> rng = np.random.default_rng(0)
    >>> frame = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    >>> frame["y"] = 2 * frame["a"] - frame["b"] + rng.normal(scale=0.1, size=200)
    >>> run = run_families(load_table(frame, "y"), ["lightgbm"], variant="fast")
    >>> [(row["rank"], row["family"], row["metric"]) for row in run.leaderboard]
    [(1, 'lightgbm', 'r2')]
    """
    from ._registry import check_config
    from ._registry import families as registry_families

    if not isinstance(table, Table):
        raise RunError(
            f"table must be a Table from skfam.runs.load_table, got {type(table).__name__}."
        )
    test_size, window = _check_split_options(test_size, window)
    seed = _check_seed_device(seed, device)
    registry = registry_families()
    keys, named = _select_families(families, registry)
    notes: list[str] = []
    chosen, variant_notes = _variants(keys, registry, variant, demo=False)
    check_config(keys, variant)
    jobs = []
    for key in keys:
        info = registry[key]
        if table.task not in info.tasks:
            if named:
                raise RunError(
                    f"family {key!r} cannot do {table.task}; it does {list(info.tasks)}."
                )
            continue
        if info.input_mode != "features" and table.time is None:
            notes.append(
                f"note: {key} skipped: a {info.input_mode} family needs a time column "
                "(--time-column)"
            )
            continue
        if not info.available:
            notes.append(f"skipping {key}: {info.install_hint}")
            continue
        cls = info.estimator(table.task)
        jobs.append(
            Job(
                name=key,
                family=key,
                task=table.task,
                cls=cls,
                input_mode=info.input_mode,
                dataset=table.name,
                variant=chosen[key],
                params=_params(cls, chosen[key], device),
                # A family that reads its rows as a series trains on them in table order.
                inputs=info.input_mode + ("/ordered" if info.ordered_rows else ""),
                ordered_rows=info.ordered_rows,
            )
        )
    notes = [variant_notes[j.family] for j in jobs if j.family in variant_notes] + notes
    if not jobs:
        raise RunError(
            "nothing to train: " + ("; ".join(notes) if notes else f"no family does {table.task}")
        )
    split = make_split(table, test_size, seed, window if table.time is not None else 0)
    prepared: dict[str, tuple[dict[str, np.ndarray], dict[str, Any]]] = {}
    for job in jobs:
        if job.inputs not in prepared:
            prepared[job.inputs] = family_inputs(
                table, split, job.input_mode, window, ordered=job.ordered_rows
            )
        job.params.update(prepared[job.inputs][1])
    inputs = {key: data for key, (data, _) in prepared.items()}
    data = data_section(table)
    split_section = {
        **split.info,
        "n_train": len(split.train),
        "n_test": len(split.test),
        "row_order": (
            "rows sorted by group, then time" if table.time is not None else "rows as read"
        ),
    }
    base = {
        "data": data,
        "split": split_section,
        "window": window if table.time is not None else None,
        "test_size": test_size,
    }
    extra_files: dict[str, bytes] = {"split.npz": split_npz(table, split)}
    if table.source.get("kind") == "frame":
        extra_files["data.npz"] = table_npz(table)
        data["file"] = "data.npz"
        data["sha256"] = sha256_bytes(extra_files["data.npz"])
    split_section["file"] = "split.npz"
    split_section["sha256"] = sha256_bytes(extra_files["split.npz"])
    return _launch(
        jobs,
        inputs,
        base,
        seed=seed,
        variant=variant,
        device=device,
        out=out,
        progress=progress,
        scheduler=scheduler,
        notes=notes,
        extra_files=extra_files,
    )


def _launch(
    jobs: list[Job],
    inputs: dict[str, dict[str, np.ndarray]],
    base: dict[str, Any],
    *,
    seed: int,
    variant: str | None,
    device: str | None,
    out: str | os.PathLike | None,
    progress: TextIO | None,
    scheduler: Any,
    notes: list[str],
    extra_files: dict[str, bytes],
) -> Run:
    """Connect to the scheduler and make the run folder (the last checks), then train."""
    client, owned = (None, False) if scheduler is None else connect(scheduler)
    try:
        folder = prepare_folder(out)
        for text in notes:
            say(progress, text)
        return execute(
            jobs,
            inputs,
            base,
            seed=seed,
            variant=variant,
            device=device,
            folder=folder,
            progress=progress,
            client=client,
            notes=notes,
            extra_files=extra_files,
        )
    finally:
        if owned:
            client.close()


# ---------------------------------------------------------------------- the demo
def _run_demo(
    families: Sequence[str] | None,
    tasks: Sequence[str],
    *,
    variant: str | None = None,
    seed: int | None = None,
    device: str | None = None,
    out: str | os.PathLike | None = None,
    progress: TextIO | None = None,
    scheduler: Any = None,
) -> Run:
    """Train families on the embedded demo data (``skfam train`` without ``--data``).

    Each family trains on every task it does among ``tasks``, on the demo dataset of its
    input mode (:func:`skfam.datasets.load_demo`); one leaderboard per task and dataset.
    """
    from ._registry import check_config
    from ._registry import families as registry_families
    from .datasets import load_demo

    seed = _check_seed_device(seed, device)
    registry = registry_families()
    keys, _ = _select_families(families, registry)
    chosen, variant_notes = _variants(keys, registry, variant, demo=True)
    notes = list(variant_notes.values())
    check_config(keys, variant)
    jobs = []
    inputs: dict[str, dict[str, np.ndarray]] = {}
    demos: dict[str, Any] = {}
    for key in keys:
        info = registry[key]
        if not info.available:
            notes.append(f"skipping {key}: {info.install_hint}")
            continue
        for task in tasks:
            if task not in info.tasks:
                continue
            cls = info.estimator(task)
            source = f"{task}/{info.input_mode}"
            if source not in demos:
                demos[source] = load_demo(task, info.input_mode, seed=DEMO_SEED)
            data = demos[source]
            params = _params(cls, chosen[key], device)
            if "sequence_shape" in cls._get_param_names():
                params["sequence_shape"] = data.sequence_shape
            inputs[source] = {
                "X_train": data.X_train,
                "y_train": data.y_train,
                "X_test": data.X_test,
                "y_test": data.y_test,
            }
            name = f"{key}-{task}"
            jobs.append(
                Job(name, key, task, cls, info.input_mode, data.name, chosen[key], params, source)
            )
    base = {
        "data": {"kind": "demo", "seed": DEMO_SEED},
        "split": None,
        "window": None,
        "test_size": None,
    }
    return _launch(
        jobs,
        inputs,
        base,
        seed=seed,
        variant=variant,
        device=device,
        out=out,
        progress=progress,
        scheduler=scheduler,
        notes=notes,
        extra_files={},
    )


def _default_run_folder(root: str | os.PathLike = "skfam-runs") -> Path:
    """Return a new folder name under ``root``: the local date and time, made unique."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    candidate = Path(root) / stamp
    number = 2
    while candidate.exists():
        candidate = Path(root) / f"{stamp}-{number}"
        number += 1
    return candidate


def _describe(table: Table) -> str:
    """Return a one-line summary of a table and of how its task was chosen."""
    how = "given" if table.task_reason == "given" else f"inferred: {table.task_reason}"
    series = ""
    if table.time_column is not None:
        series = f"; time column {table.time_column!r}"
        if table.group_column is not None:
            series += f", {table.n_groups} series by {table.group_column!r}"
    return (
        f"data: {table.name}: {table.n_rows} rows, {len(table.features)} feature columns, "
        f"target {table.target!r}{series}; task {table.task} ({how})"
    )
