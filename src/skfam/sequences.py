"""Windows of a time series for the sequence families: :func:`make_sequences`, :func:`make_hybrid`.

Window ``i`` covers rows ``s_i .. s_i + L - 1`` of the series (``s_i`` its start) and its
target is the target at row ``s_i + L - 1 + horizon``: a window never sees a row after its
own end, and its target always lies strictly after it. See ``docs/sequences.md``.
"""

from __future__ import annotations

import itertools
from numbers import Integral, Real
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["OHLCV", "make_hybrid", "make_sequences"]

#: Channels picked by default from a DataFrame, in this order, when present.
OHLCV = ("open", "high", "low", "close", "volume")

_NORMALIZATIONS = ("returns", "zscore")
# Windows normalised per chunk, so temporaries stay small next to the output.
_CHUNK = 16_384


def _is_frame(data: Any) -> bool:
    return hasattr(data, "columns") and hasattr(data, "iloc")


def _is_name(value: Any) -> bool:
    """Whether ``value`` names a column (rather than holding one value per row)."""
    return (
        value is not None
        and not isinstance(value, (list, tuple))
        and not hasattr(value, "__array__")
    )


def _positive_int(value: Any, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}.")
    return int(value)


def _column(frame: Any, name: Any, what: str) -> np.ndarray:
    if name not in frame.columns:
        raise ValueError(f"{what} column {name!r} is not in the DataFrame's columns.")
    return frame[name].to_numpy()


def _frame_values(frame: Any, channels: Any, exclude: set) -> tuple[np.ndarray, list]:
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    if channels is None:
        lower = {str(c).lower(): c for c in frame.columns}
        picked = [lower[name] for name in OHLCV if name in lower]
        if not picked:
            picked = [
                c
                for c in frame.columns
                if c not in exclude and is_numeric_dtype(frame[c]) and not is_bool_dtype(frame[c])
            ]
        if not picked:
            raise ValueError("The DataFrame has no numeric column to make sequences of.")
    else:
        picked = [channels] if isinstance(channels, (str, Integral)) else list(channels)
        if not picked:
            raise ValueError("channels must name at least one column.")
        unknown = [c for c in picked if c not in frame.columns]
        if unknown:
            raise ValueError(
                f"Unknown channel(s) {unknown}; the DataFrame's columns are {list(frame.columns)}."
            )
    bad = [c for c in picked if not is_numeric_dtype(frame[c]) or is_bool_dtype(frame[c])]
    if bad:
        raise ValueError(f"Channel column(s) {bad} are not numeric.")
    return frame[picked].to_numpy(dtype=np.float64), picked


def _as_values(data: Any, channels: Any, exclude: set) -> np.ndarray:
    if _is_frame(data):
        values, _ = _frame_values(data, channels, exclude)
        return values
    values = np.asarray(data)
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2:
        raise ValueError(f"data must be a (T, C) array or a DataFrame, got shape {values.shape}.")
    if channels is not None:
        index = [channels] if isinstance(channels, Integral) else list(channels)
        if not index:
            raise ValueError("channels must name at least one column.")
        if not all(isinstance(i, Integral) and 0 <= i < values.shape[1] for i in index):
            raise ValueError(
                f"Unknown channel(s) {channels!r}: with an array, channels are column "
                f"positions in [0, {values.shape[1]})."
            )
        values = values[:, index]
    if values.dtype.kind not in "fiu":
        raise ValueError(f"data must be numeric, got dtype {values.dtype}.")
    if values.dtype.kind != "f":
        values = values.astype(np.float64)
    return values


def _segments(
    n_rows: int, groups: np.ndarray | None, time: np.ndarray | None, max_gap: Any
) -> list[tuple[int, int]]:
    """Return ``[start, stop)`` runs of rows that windows may not cross."""
    breaks = np.zeros(max(n_rows - 1, 0), dtype=bool)  # breaks[t]: between rows t and t+1
    if groups is not None:
        breaks |= groups[1:] != groups[:-1]
    if max_gap is not None:
        if time is None:
            raise ValueError(
                "max_gap needs a time index: pass time=..., or a DataFrame with a DatetimeIndex."
            )
        diff = time[1:] - time[:-1]
        if np.issubdtype(diff.dtype, np.timedelta64):
            gap = np.timedelta64(_as_timedelta(max_gap))
        else:
            if not isinstance(max_gap, Real):
                raise ValueError(f"max_gap must be a number for a numeric time, got {max_gap!r}.")
            gap = max_gap
        # A zero of diff's own dtype (and unit): NumPy deprecates timedelta64's generic unit.
        backwards = (diff < np.zeros((), dtype=diff.dtype)) & ~breaks
        if backwards.any():
            row = int(np.flatnonzero(backwards)[0]) + 1
            raise ValueError(
                f"time must not decrease within a group, but it does at row {row}; sort the "
                "data by group, then time."
            )
        breaks |= diff > gap
    cuts = [0, *(np.flatnonzero(breaks) + 1).tolist(), n_rows]
    return list(itertools.pairwise(cuts))


def _as_timedelta(value: Any) -> Any:
    if hasattr(value, "to_timedelta64"):
        return value.to_timedelta64()
    if isinstance(value, (np.timedelta64,)) or hasattr(value, "total_seconds"):
        return value
    raise ValueError(
        f"max_gap must be a timedelta (e.g. pandas.Timedelta('2D')) for a datetime index, got "
        f"{value!r}."
    )


def _normalize(windows: np.ndarray, starts: np.ndarray, how: str) -> np.ndarray:
    """Materialise ``windows[starts]`` normalised per window, chunk by chunk."""
    n, L, C = len(starts), windows.shape[1], windows.shape[2]
    out = np.empty((n, L, C), dtype=np.float64)
    for lo in range(0, n, _CHUNK):
        block = np.array(windows[starts[lo : lo + _CHUNK]], dtype=np.float64)
        if how == "returns":
            prev, cur = block[:, :-1], block[:, 1:]
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(prev == 0, 0.0, cur / np.where(prev == 0, 1.0, prev) - 1.0)
            # NaN in either value stays NaN; a zero previous value gives 0.
            ratio[np.isnan(prev) | np.isnan(cur)] = np.nan
            out[lo : lo + len(block), 0] = 0.0
            out[lo : lo + len(block), 1:] = ratio
        else:
            out[lo : lo + len(block)] = _zscore(block)
    return out


def _zscore(block: np.ndarray) -> np.ndarray:
    """Standardise each channel of each window over its observed (non-NaN) steps.

    NaN stays NaN (the estimators impute it); a channel with no observed step stays all
    NaN. Without NaN this is ``(x - mean) / std`` with numpy's mean and population std.
    """
    missing = np.isnan(block)
    count = (~missing).sum(axis=1, keepdims=True)
    values = np.where(missing, 0.0, block)
    with np.errstate(divide="ignore", invalid="ignore"):
        centred = block - values.sum(axis=1, keepdims=True) / count
        observed = np.where(missing, 0.0, centred)
        std = np.sqrt((observed * observed).sum(axis=1, keepdims=True) / count)
        return np.where(std > 0, centred / std, 0.0 * centred)


def make_sequences(
    data: Any,
    sequence_length: int,
    *,
    target: Any = None,
    horizon: int = 1,
    channels: Any = None,
    normalization: str | None = None,
    groups: Any = None,
    time: Any = None,
    max_gap: Any = None,
    step: int = 1,
    return_index: bool = False,
) -> Any:
    """Cut a time series into overlapping windows for the sequence families.

    Window ``i`` starts at row ``s_i`` and covers rows ``s_i .. s_i + L - 1`` (``L`` =
    ``sequence_length``); starts are ``step`` rows apart. Its target is ``target`` at row
    ``s_i + L - 1 + horizon``, so a target is never a value from inside or before its
    window, and no window sees a row after its own end. Windows whose target row would lie
    past the end of the series (or of its group / gap-free run) are dropped: with a target
    there are ``floor((T - L - horizon) / step) + 1`` windows per run of ``T`` rows,
    without one ``floor((T - L) / step) + 1``.

    Memory: without ``normalization``, ``groups`` and ``max_gap``, ``X`` is a read-only,
    zero-copy view of the input (:func:`numpy.lib.stride_tricks.sliding_window_view`),
    so a long series does not take ``L`` times its memory (a float array is viewed as it
    is; an int array or a DataFrame is first converted to one float64 (T, C) array), and
    ``y`` is a read-only strided view of a float ``target``. With
    ``normalization``, ``groups`` or ``max_gap``, ``X`` is one materialised float64 (or the
    input's float dtype) array of ``N * L * C`` values.

    Parameters
    ----------
    data : array-like of shape (T, C) or (T,), or DataFrame
        The series, rows in time order. A DataFrame's columns are picked by ``channels``.
    sequence_length : int
        ``L``, the number of rows in each window (>= 1, <= T).
    target : array-like of shape (T,) or column name, default=None
        The value to predict; None returns only ``X``.
    horizon : int, default=1
        How many rows after the window's last row the target lies (>= 1).
    channels : list of column names (DataFrame) or positions (array), default=None
        The channels, in order. None: for a DataFrame, the columns open, high, low, close,
        volume that are present (matched case-insensitively), else every numeric column
        except ``groups``; for an array, every column.
    normalization : {None, "returns", "zscore"}, default=None
        Per-window normalisation, which sees only the window's own rows:

        * ``"returns"``: step ``t`` becomes ``x_t / x_{t-1} - 1`` (both inside the window)
          and the first step 0; a zero ``x_{t-1}`` gives 0, NaN stays NaN.
        * ``"zscore"``: each channel of each window minus its mean over the window, divided
          by its (population) standard deviation; a constant channel gives 0. Both
          statistics use the window's observed values only: a NaN stays NaN where it was
          (the estimators impute it) and does not spread to the rest of its window.
    groups : array-like of shape (T,) or column name, default=None
        Group ids (e.g. the symbol); windows never cross a row where the id changes. Rows
        of a group must be contiguous and in time order.
    time : array-like of shape (T,), default=None
        Time of each row (datetime64 or numbers), for ``max_gap``; a DataFrame's
        DatetimeIndex is used when not given.
    max_gap : timedelta or number, default=None
        Windows never cross two consecutive rows further apart than this in ``time``.
        ``time`` must not decrease within a group (ValueError).
    step : int, default=1
        Rows between the starts of consecutive windows (counted from the start of each
        group / gap-free run).
    return_index : bool, default=False
        Also return the row of each window's last step (an int array of shape (N,)).

    Returns
    -------
    X : ndarray of shape (N, L, C)
        The windows.
    y : ndarray of shape (N,)
        Only when ``target`` is given: the target of each window.
    index : ndarray of int64, shape (N,)
        Only when ``return_index``: the row of each window's last step.

    Raises
    ------
    ValueError
        ``L < 1`` or longer than the series, ``horizon < 1``, ``step < 1``, an unknown or
        non-numeric channel, an empty ``channels``, a target or groups of the wrong length,
        an unknown normalisation, or time going backwards within a group.

    Examples
    --------
    >>> import numpy as np
    >>> from skfam import make_sequences
    >>> series = np.arange(12.0).reshape(6, 2)  # 6 rows, 2 channels
    >>> X, y = make_sequences(series, 3, target=series[:, 0])
    >>> X.shape, y.tolist()
    ((3, 3, 2), [6.0, 8.0, 10.0])
    >>> X[0, :, 0].tolist()  # window 0 covers rows 0..2, its target is row 3
    [0.0, 2.0, 4.0]
    >>> bool(np.shares_memory(X, series)), X.flags.writeable
    (True, False)
    """
    L = _positive_int(sequence_length, "sequence_length")
    horizon = _positive_int(horizon, "horizon")
    step = _positive_int(step, "step")
    if normalization is not None and normalization not in _NORMALIZATIONS:
        raise ValueError(
            f"normalization must be None or one of {_NORMALIZATIONS}, got {normalization!r}."
        )
    frame = data if _is_frame(data) else None
    # The groups column is an id, never a channel; the target column may be one (its past).
    exclude = {groups} if frame is not None and _is_name(groups) else set()
    values = _as_values(data, channels, exclude)
    T = len(values)
    if L > T:
        raise ValueError(f"sequence_length={L} is longer than the series ({T} rows).")

    def per_row(value: Any, what: str) -> np.ndarray | None:
        if value is None:
            return None
        if _is_name(value):
            if frame is None:
                raise ValueError(f"{what}={value!r} names a column, but data is not a DataFrame.")
            return _column(frame, value, what)
        array = np.asarray(value)
        if array.ndim != 1 or len(array) != T:
            raise ValueError(f"{what} must have one value per row ({T}), got shape {array.shape}.")
        return array

    y_all = per_row(target, "target")
    group_ids = per_row(groups, "groups")
    if time is None and max_gap is not None and frame is not None:
        index = frame.index
        if np.issubdtype(np.asarray(index).dtype, np.datetime64):
            time = index.to_numpy()
    times = per_row(time, "time")
    if y_all is not None and y_all.dtype.kind in "fiub":
        y_all = y_all.astype(np.float64) if y_all.dtype.kind != "f" else y_all
    lookahead = horizon if y_all is not None else 0
    segments = _segments(T, group_ids, times, max_gap)
    windows = sliding_window_view(values, L, axis=0).transpose(0, 2, 1)  # (T-L+1, L, C)
    if len(segments) == 1:
        stop = T - L - lookahead  # last start
        if stop < 0:
            raise ValueError(
                f"A series of {T} rows has no window of length {L} with a target {horizon} "
                "row(s) after its end."
            )
        starts = None
        n = stop // step + 1
    else:
        parts = [np.arange(a, b - L - lookahead + 1, step) for a, b in segments]
        starts = np.concatenate(parts) if parts else np.empty(0, dtype=np.intp)
        n = len(starts)
    if starts is None and normalization is None:
        X = windows[: n * step : step]
    else:
        if starts is None:
            starts = np.arange(0, n * step, step)
        if normalization is None:
            X = windows[starts]
        else:
            X = _normalize(windows, starts, normalization)
    out: list[Any] = [X]
    if starts is None:  # one run: the targets are a strided view, no index array needed
        if y_all is not None:
            first = L - 1 + horizon
            targets = y_all[first : first + n * step : step]
            targets.flags.writeable = False
            out.append(targets)
        if return_index:
            out.append(np.arange(L - 1, L - 1 + n * step, step, dtype=np.int64))
    else:
        if y_all is not None:
            out.append(y_all[starts + L - 1 + horizon])
        if return_index:
            out.append((starts + L - 1).astype(np.int64))
    return out[0] if len(out) == 1 else tuple(out)


def make_hybrid(X_features: Any, X_sequence: Any) -> np.ndarray:
    """Join tabular features and sequences into the 2-D input of the hybrid family.

    Parameters
    ----------
    X_features : array-like of shape (N, F)
        Tabular features of each sample.
    X_sequence : array-like of shape (N, L, C) or (N, L)
        The sequence of each sample ((N, L) is read as (N, L, 1)).

    Returns
    -------
    X : ndarray of float64, shape (N, F + L * C)
        ``[features | sequence flattened time-major]``: column ``F + t * C + c`` is channel
        ``c`` at step ``t``. Pass ``sequence_shape=(L, C)`` to the hybrid estimator.

    Examples
    --------
    >>> import numpy as np
    >>> from skfam import make_hybrid
    >>> make_hybrid(np.zeros((4, 3)), np.ones((4, 5, 2))).shape
    (4, 13)
    """
    features = np.asarray(X_features, dtype=np.float64)
    sequence = np.asarray(X_sequence, dtype=np.float64)
    if features.ndim == 1:
        features = features[:, None]
    if features.ndim != 2:
        raise ValueError(f"X_features must be 2-D (N, F), got shape {features.shape}.")
    if sequence.ndim == 2:
        sequence = sequence[:, :, None]
    if sequence.ndim != 3:
        raise ValueError(f"X_sequence must be (N, L, C) or (N, L), got shape {sequence.shape}.")
    if len(features) != len(sequence):
        raise ValueError(
            f"X_features has {len(features)} rows but X_sequence has {len(sequence)}."
        )
    return np.hstack([features, sequence.reshape(len(sequence), -1)])
