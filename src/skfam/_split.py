"""The internal validation split used by early stopping."""

from __future__ import annotations

import warnings

import numpy as np

__all__ = ["resolve_early_stopping", "validation_split"]

_KINDS = ("auto", "time", "shuffle", "stratified")


def resolve_early_stopping(setting: bool | str, n_samples: int, auto_min_samples: int) -> bool:
    """Turn ``early_stopping`` ("auto", True, False) into a bool for ``n_samples`` rows."""
    if setting == "auto":
        return n_samples >= auto_min_samples
    return bool(setting)


def validation_split(
    n_samples: int,
    fraction: float,
    seed: int,
    *,
    kind: str = "auto",
    y_classes: np.ndarray | None = None,
    sequence: bool = False,
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
    kind : {"auto", "time", "shuffle", "stratified"}, default="auto"
        "auto" is "time" for sequence input, "stratified" for classifiers (``y_classes``
        given) and "shuffle" otherwise.
    y_classes : ndarray of int, default=None
        Encoded class labels, for stratification.
    sequence : bool, default=False
        Whether rows are ordered windows of a series.
    gap : int, default=0
        For a time-ordered split, rows dropped between the training and the validation part
        (a purge gap, so overlapping windows do not leak).

    Raises
    ------
    ValueError
        When either part would be empty, or a stratified split misses a class.
    """
    if kind not in _KINDS:
        raise ValueError(f"validation split must be one of {_KINDS}, got {kind!r}.")
    if kind == "auto":
        kind = "time" if sequence else ("stratified" if y_classes is not None else "shuffle")
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
