"""The internal validation split used by early stopping."""

from __future__ import annotations

import warnings

import numpy as np

__all__ = [
    "resolve_early_stopping",
    "resolve_split_kind",
    "validation_split",
    "windows_overlap",
]

_KINDS = ("auto", "time", "shuffle", "stratified")


def resolve_early_stopping(setting: bool | str, n_samples: int, auto_min_samples: int) -> bool:
    """Turn ``early_stopping`` ("auto", True, False) into a bool for ``n_samples`` rows."""
    if setting == "auto":
        return n_samples >= auto_min_samples
    return bool(setting)


def resolve_split_kind(kind: str, *, sequence: bool, classes: bool) -> str:
    """Return the split kind for ``kind`` ("auto": time for overlapping windows, else by task).

    Parameters
    ----------
    kind : {"auto", "time", "shuffle", "stratified"}
        The setting.
    sequence : bool
        Whether the rows are overlapping windows of one series (see :func:`windows_overlap`).
    classes : bool
        Whether the target holds class labels.
    """
    if kind not in _KINDS:
        raise ValueError(f"validation split must be one of {_KINDS}, got {kind!r}.")
    if kind != "auto":
        return kind
    if sequence:
        return "time"
    return "stratified" if classes else "shuffle"


#: Consecutive window pairs that :func:`windows_overlap` compares at most (evenly spaced).
_OVERLAP_PAIRS = 256


def windows_overlap(X: np.ndarray) -> bool:
    """Return whether most consecutive windows of ``X`` are shifted copies of each other.

    Windows cut from one series (:func:`skfam.make_sequences`, any step shorter than the
    window) share all but their first ``s`` steps with the next window: ``X[i + 1, :L - s]
    == X[i, s:]``. A set of independent series (a classification archive, one series per
    row) does not. Up to 256 evenly spaced pairs are compared (NaN equal to NaN); the
    windows overlap when at least half of them do.

    Parameters
    ----------
    X : ndarray of shape (n_samples, L, C)
        Windows in their given order.
    """
    n, length = X.shape[0], X.shape[1]
    if n < 2 or length < 2:
        return False
    pairs = np.unique(np.linspace(0, n - 2, min(n - 1, _OVERLAP_PAIRS)).astype(np.intp))
    hits = 0
    for i in pairs:
        a, b = X[i], X[i + 1]
        # Candidate shifts: steps of `a` equal to the first step of `b`.
        first = np.all((a[1:] == b[0]) | (np.isnan(a[1:]) & np.isnan(b[0])), axis=1)
        for s in np.flatnonzero(first) + 1:
            if np.array_equal(a[s:], b[: length - s], equal_nan=True):
                hits += 1
                break
    return hits * 2 >= len(pairs)


def validation_split(
    n_samples: int,
    fraction: float,
    seed: int,
    *,
    kind: str = "shuffle",
    y_classes: np.ndarray | None = None,
    gap: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Return sorted ``(train_idx, valid_idx)`` for the internal validation split.

    Parameters
    ----------
    n_samples : int
        Rows to split.
    fraction : float
        Share of rows in the validation part, in (0, 1).
    seed : int
        Seed of the "split" stream (unused for a time-ordered split).
    kind : {"time", "shuffle", "stratified"}, default="shuffle"
        See :func:`resolve_split_kind`.
    y_classes : ndarray of int, default=None
        Encoded class labels, for stratification.
    gap : int, default=0
        For a time-ordered split, rows dropped between the training and the validation part
        (a purge gap, so overlapping windows do not leak).

    Raises
    ------
    ValueError
        When either part would be empty, or a stratified split misses a class.
    """
    if kind not in _KINDS[1:]:
        raise ValueError(f"validation split must be one of {_KINDS[1:]}, got {kind!r}.")
    n_valid = int(np.ceil(n_samples * fraction))
    n_train = n_samples - n_valid - (gap if kind == "time" else 0)
    if n_valid < 1 or n_train < 1:
        raise ValueError(
            f"Early stopping needs a validation split, but {n_samples} samples with "
            f"validation fraction {fraction}{f' and gap {gap}' if kind == 'time' else ''} "
            "leave an empty part; pass early_stopping=False or more data."
        )
    rng = np.random.default_rng(seed)
    if kind == "time":
        return np.arange(n_train), np.arange(n_samples - n_valid, n_samples)
    if kind == "stratified":
        if y_classes is None:
            raise ValueError("A stratified validation split needs class labels.")
        counts = np.bincount(y_classes)
        if (counts[counts > 0] < 2).any():
            warnings.warn(
                "A class has a single member, so the validation split for early stopping "
                "cannot be stratified; it is shuffled instead.",
                UserWarning,
                stacklevel=3,
            )
        else:
            valid = []
            for label in np.flatnonzero(counts):
                members = np.flatnonzero(y_classes == label)
                take = round(len(members) * fraction)
                take = min(max(take, 1), len(members) - 1)
                valid.append(rng.permutation(members)[:take])
            valid_idx = np.sort(np.concatenate(valid))
            return np.setdiff1d(np.arange(n_samples), valid_idx), valid_idx
    order = rng.permutation(n_samples)
    return np.sort(order[n_valid:]), np.sort(order[:n_valid])
