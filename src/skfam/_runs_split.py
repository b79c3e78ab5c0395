"""Train/test splits of a user's table and the arrays each input mode gets from them."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._runs_data import RunError, Table, json_time
from ._seeds import derive_seed

__all__ = ["Split", "family_inputs", "make_split"]


# ---------------------------------------------------------------------- splits
@dataclass(eq=False)
class Split:
    """Train and test rows (positions in the table's order) and how they were chosen."""

    kind: str
    train: np.ndarray
    test: np.ndarray
    info: dict[str, Any]


def make_split(table: Table, test_size: float, seed: int, gap: int) -> Split:
    """Split the table's rows: by time when it has a time column, else shuffled.

    Without a time column the split is shuffled (stratified for classification) from the
    seed ``derive_seed(seed, "split")``. With one, the test rows are those at or after the
    cut time ``c`` (the time at which the last ``ceil(test_size * n_rows)`` rows, in time
    order, begin), one cut for every group; within each group the first ``gap`` rows at or
    after ``c`` are a purge gap, in neither part.
    """
    n = table.n_rows
    if table.time is None:
        from sklearn.model_selection import train_test_split

        split_seed = derive_seed(seed, "split")
        stratify = table.y if table.task == "classification" else None
        try:
            train, test = train_test_split(
                np.arange(n), test_size=test_size, random_state=split_seed, stratify=stratify
            )
        except ValueError as exc:
            raise RunError(f"cannot split {n} rows with test_size={test_size}: {exc}") from None
        kind = "stratified" if stratify is not None else "shuffled"
        info = {"kind": kind, "test_size": test_size, "seed": seed, "split_seed": split_seed}
        return Split(kind, train.astype(np.int64), test.astype(np.int64), info)
    n_test = max(1, math.ceil(test_size * n))
    cut = np.sort(table.time, kind="stable")[n - n_test]
    later = table.time >= cut
    train = np.flatnonzero(~later)
    if len(train) == 0:
        raise RunError(
            f"test_size={test_size} leaves no training rows: every row is at or after the cut "
            f"time {cut}."
        )
    groups = table.groups if table.groups is not None else np.zeros(n, dtype=np.int64)
    candidates = np.flatnonzero(later)
    # Rows are sorted by group then time, so each group's rows at or after the cut are one
    # contiguous run: a row's rank in its run is its distance from the run's first row.
    _, first = np.unique(groups[candidates], return_index=True)
    start = np.zeros(groups.max() + 1, dtype=np.int64)
    start[groups[candidates[first]]] = first
    rank = np.arange(len(candidates)) - start[groups[candidates]]
    test = candidates[rank >= gap]
    if len(test) == 0:
        raise RunError(
            f"no test rows remain after the purge gap of {gap} rows per series (test_size="
            f"{test_size} gives {len(candidates)} rows at or after the cut); lower the window "
            "(--window) or raise test_size."
        )
    info = {
        "kind": "time",
        "test_size": test_size,
        "cut": json_time(cut),
        "gap": gap,
        "rule": (
            "test: rows at or after the cut time, except the first `gap` of each series "
            "(purge gap); train: rows before the cut"
        ),
    }
    return Split("time", train.astype(np.int64), test.astype(np.int64), info)


# ---------------------------------------------------------------------- inputs per family
def family_inputs(
    table: Table, split: Split, input_mode: str, window: int, ordered: bool = False
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Return the train/test arrays of one input mode and the constructor params they need.

    ``ordered``: the training rows in table order (the file's order; with a time column,
    by group then time) for a family that reads them as a series (``ordered_rows``); else
    in the split's order (shuffled for a shuffled split).

    Features: one row per table row. Sequence: for each row, the window of the ``window``
    rows of its series ending at it (feature columns only), predicting that row's target;
    rows without a full window are not trained on. Hybrid: the row's features followed by
    its window (``make_hybrid``), with ``sequence_shape=(window, n_features)``.
    """
    if ordered:
        split = Split(split.kind, np.sort(split.train), split.test, split.info)
    if input_mode == "features":
        data = {
            "X_train": table.X[split.train],
            "y_train": table.y[split.train],
            "X_test": table.X[split.test],
            "y_test": table.y[split.test],
        }
        return data, {}
    from .sequences import make_hybrid, make_sequences

    if table.time is None:  # checked by the caller; kept as a guard
        raise RunError(f"{input_mode} families need a time column.")
    if window > table.n_rows:
        raise RunError(f"window={window} is longer than the table ({table.n_rows} rows).")
    windows, ends = make_sequences(table.X, window, groups=table.groups, return_index=True)
    slot = np.full(table.n_rows, -1, dtype=np.int64)
    slot[ends] = np.arange(len(ends))
    train = slot[split.train]
    train = train[train >= 0]
    test = slot[split.test]
    if len(train) == 0:
        raise RunError(
            f"no training row has a full window of {window} rows in its series; lower the "
            "window (--window)."
        )
    if (test < 0).any():  # the purge gap guarantees a window for every test row
        raise RunError(f"a test row has no full window of {window} rows; raise the gap.")
    X_train, X_test = windows[train], windows[test]
    params: dict[str, Any] = {}
    if input_mode == "hybrid":
        X_train = make_hybrid(table.X[ends[train]], X_train)
        X_test = make_hybrid(table.X[ends[test]], X_test)
        params["sequence_shape"] = (window, table.X.shape[1])
    data = {
        "X_train": np.ascontiguousarray(X_train),
        "y_train": table.y[ends[train]],
        "X_test": np.ascontiguousarray(X_test),
        "y_test": table.y[split.test],
    }
    return data, params
