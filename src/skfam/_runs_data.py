"""The user's table for :mod:`skfam.runs`: reading, checking, task inference.

Reading needs pandas (``pip install "skfam[pandas]"``), Parquet also pyarrow
(``pip install "skfam[parquet]"``). Nothing here trains anything.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["MissingExtraError", "RunError", "Table", "json_time", "load_table", "require"]

#: Suffixes read as CSV and as Parquet.
CSV_SUFFIXES = (".csv",)
PARQUET_SUFFIXES = (".parquet", ".pq")
#: At most this many distinct whole-number values make an inferred classification target.
MAX_INFERRED_CLASSES = 10
TASKS = ("regression", "classification")


class RunError(ValueError):
    """A run cannot start or be verified: bad data, options or run folder (exit status 2)."""


class MissingExtraError(ImportError):
    """An optional dependency of skfam is missing; the message says which extra installs it."""


def require(module: str, extra: str, what: str) -> Any:
    """Import ``module`` or raise :class:`MissingExtraError` with the pip extra to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f'{what} needs {module}, which is not installed: pip install "skfam[{extra}]"'
        ) from exc


def sha256_file(path: str | os.PathLike) -> str:
    """Return the SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(eq=False)
class Table:
    """A user's table, checked and converted for :func:`skfam.runs.run_families`.

    Build it with :func:`skfam.runs.load_table`. With a time column the rows are sorted by
    group (in order of first appearance), then time; otherwise they keep the source's order.

    Attributes
    ----------
    X : ndarray of float64, shape (n_rows, n_features)
        The feature columns (every column but the target, time and group columns).
    y : ndarray of shape (n_rows,)
        The target: float64 for regression, the labels as given for classification.
    target : str
        Name of the target column.
    task : {"regression", "classification"}
        The task, given or inferred.
    task_reason : str
        Why this task: "given", or the inference rule that applied.
    features : tuple of str
        Names of the feature columns, in the source's order.
    columns : tuple of str
        Every column of the source, in order.
    dtypes : dict of str to str
        The source dtype of each column.
    time : ndarray or None
        The time column (datetime64 or numbers), in table order.
    groups : ndarray of int64 or None
        Group of each row, numbered in order of first appearance (None: one series).
    n_groups : int
        Number of groups (1 without a group column).
    time_column, group_column : str or None
        The columns named for a series.
    rows : ndarray of int64
        Row of the source (0-based, header excluded) of each row of the table.
    source : dict
        Where the data came from: ``{"kind": "file", "path", "format", "sha256"}`` or
        ``{"kind": "frame"}``.
    shape : tuple of (int, int)
        Rows and columns of the source.
    """

    X: np.ndarray
    y: np.ndarray
    target: str
    task: str
    task_reason: str
    features: tuple[str, ...]
    columns: tuple[str, ...]
    dtypes: dict[str, str]
    time: np.ndarray | None
    groups: np.ndarray | None
    n_groups: int
    time_column: str | None
    group_column: str | None
    rows: np.ndarray
    source: dict[str, Any] = field(default_factory=dict)
    shape: tuple[int, int] = (0, 0)

    @property
    def n_rows(self) -> int:
        """Number of rows."""
        return len(self.y)

    @property
    def name(self) -> str:
        """A short name for leaderboards: the file name, or ``"DataFrame"``."""
        path = self.source.get("path")
        return Path(path).name if path else "DataFrame"

    def __repr__(self) -> str:
        series = f", time_column={self.time_column!r}" if self.time_column else ""
        if self.group_column:
            series += f", group_column={self.group_column!r} ({self.n_groups} groups)"
        return (
            f"Table({self.name!r}, {self.n_rows} rows, {len(self.features)} features, "
            f"target={self.target!r}, task={self.task!r}{series})"
        )


# ---------------------------------------------------------------------- reading
def _read(source: Any) -> tuple[Any, dict[str, Any]]:
    """Return the source as a DataFrame and a description of it."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        suffix = path.suffix.lower()
        if suffix not in CSV_SUFFIXES + PARQUET_SUFFIXES:
            raise RunError(
                f"{path}: unknown file type {suffix or '(none)'!r}; use a .csv, .parquet or "
                ".pq file."
            )
        if not path.is_file():
            raise RunError(f"{path}: no such file.")
        if suffix in PARQUET_SUFFIXES:
            require("pyarrow", "parquet", "Reading a Parquet file")
            pd = require("pandas", "parquet", "Reading a Parquet file")
            frame = _read_parquet(pd, path)
            kind = "parquet"
        else:
            pd = require("pandas", "pandas", "Reading a CSV file")
            frame = _read_csv(pd, path)
            kind = "csv"
        description = {
            "kind": "file",
            "path": str(path.resolve()),
            "format": kind,
            "sha256": sha256_file(path),
        }
        return frame, description
    if hasattr(source, "columns") and hasattr(source, "iloc"):
        return source, {"kind": "frame"}
    raise RunError(
        f"source must be a path to a .csv or .parquet file or a pandas DataFrame, got "
        f"{type(source).__name__}."
    )


def _read_csv(pd: Any, path: Path) -> Any:
    try:
        header = pd.read_csv(path, header=None, nrows=1, dtype=str).iloc[0].tolist()
        # round_trip: every number is read as the nearest float64, as Python's float() does.
        frame = pd.read_csv(path, float_precision="round_trip")
    except pd.errors.EmptyDataError:
        raise RunError(f"{path}: the file is empty.") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise RunError(f"{path}: not a readable CSV file: {exc}") from None
    duplicated = sorted({str(c) for c in header if header.count(c) > 1})
    if duplicated:
        raise RunError(f"{path}: duplicated column names {duplicated}; each must be unique.")
    return frame


def _read_parquet(pd: Any, path: Path) -> Any:
    try:
        return pd.read_parquet(path, engine="pyarrow")
    except (OSError, ValueError) as exc:
        raise RunError(f"{path}: not a readable Parquet file: {exc}") from None


def json_time(value: Any) -> Any:
    """Return a time (datetime64 or number) as JSON: ISO 8601 text or a number."""
    if isinstance(value, np.datetime64):
        return str(np.datetime_as_string(value, unit="auto"))
    return value.item() if hasattr(value, "item") else value


# ---------------------------------------------------------------------- checking
def _is_number(pd: Any, column: Any) -> bool:
    types = pd.api.types
    return bool(
        (types.is_numeric_dtype(column) or types.is_bool_dtype(column))
        and not types.is_complex_dtype(column)
    )


def _numeric_values(column: Any) -> np.ndarray:
    """Return a numeric or boolean column as float64, missing values as NaN."""
    return column.to_numpy(dtype=np.float64, na_value=np.nan)


def _labels(pd: Any, column: Any, target: str) -> np.ndarray:
    """Return the target of a classification as a numpy array of labels."""
    types = pd.api.types
    if types.is_bool_dtype(column):
        return column.to_numpy(dtype=bool)
    if _is_number(pd, column):
        values = column.to_numpy()
        if values.dtype.kind == "f" and not np.all(values == np.floor(values)):
            raise RunError(
                f"target column {target!r} holds numbers that are not whole, so it cannot be "
                "class labels; use task='regression' (--task regression)."
            )
        if values.dtype.kind not in "fiub":  # e.g. nullable Int64 without missing values
            values = column.to_numpy(dtype=np.int64)
        return values
    inferred = types.infer_dtype(column, skipna=False)
    if inferred != "string":
        raise RunError(
            f"target column {target!r} mixes values of several types ({inferred}); class "
            "labels must all be text or all be numbers."
        )
    return column.to_numpy(dtype=str)


def _infer_task(pd: Any, column: Any, target: str) -> tuple[str, str]:
    """Return the task of a target column and the rule that decided it."""
    if not _is_number(pd, column) or pd.api.types.is_bool_dtype(column):
        return "classification", f"target {target!r} is not numeric"
    values = _numeric_values(column)
    distinct = np.unique(values)
    if np.all(distinct == np.floor(distinct)) and len(distinct) <= MAX_INFERRED_CLASSES:
        return "classification", (
            f"target {target!r} holds {len(distinct)} distinct whole numbers (at most "
            f"{MAX_INFERRED_CLASSES} make classes)"
        )
    return "regression", (
        f"target {target!r} is numeric with {len(distinct)} distinct values (not at most "
        f"{MAX_INFERRED_CLASSES} whole numbers)"
    )


def _time_values(pd: Any, column: Any, name: str, where: str) -> np.ndarray:
    types = pd.api.types
    if types.is_bool_dtype(column) or types.is_complex_dtype(column):
        raise RunError(
            f"{where}time column {name!r} must hold dates or numbers, not {column.dtype}."
        )
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        column = column.dt.tz_convert("UTC").dt.tz_localize(None)
    elif types.is_numeric_dtype(column):
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)
        if np.isnan(values).any():
            raise RunError(
                f"{where}time column {name!r} has {int(np.isnan(values).sum())} missing values."
            )
        return column.to_numpy() if column.dtype.kind in "iu" else values
    elif not types.is_datetime64_any_dtype(column):
        try:
            column = pd.to_datetime(column, format="ISO8601")
        except (ValueError, TypeError) as exc:
            reason = (str(exc).splitlines() or [type(exc).__name__])[0]
            reason = reason.split(" You might want")[0]
            raise RunError(
                f"{where}time column {name!r} could not be read as ISO 8601 dates (e.g. "
                f"2024-01-31 or 2024-01-31T09:30:00) or numbers: {reason}"
            ) from None
        if isinstance(column.dtype, pd.DatetimeTZDtype):
            column = column.dt.tz_convert("UTC").dt.tz_localize(None)
    values = column.to_numpy(dtype="datetime64[ns]")
    missing = int(np.isnat(values).sum())
    if missing:
        raise RunError(f"{where}time column {name!r} has {missing} missing values.")
    return values


def _check_names(
    frame: Any, target: Any, time_column: Any, group_column: Any, where: str
) -> list[str]:
    columns = list(frame.columns)
    odd = [c for c in columns if not isinstance(c, str)]
    if odd:
        raise RunError(
            f"{where}column names must be strings, got {odd[:5]}; rename them, e.g. "
            "df.columns = df.columns.astype(str)."
        )
    duplicated = sorted({c for c in columns if columns.count(c) > 1})
    if duplicated:
        raise RunError(f"{where}duplicated column names {duplicated}; each must be unique.")
    named = {"target": target, "time_column": time_column, "group_column": group_column}
    for role, name in named.items():
        if name is None and role != "target":
            continue
        if not isinstance(name, str):
            raise RunError(f"{role} must be a column name (a string), got {name!r}.")
        if name not in columns:
            raise RunError(f"{where}{role} {name!r} is not a column; the columns are {columns}.")
    given = [n for n in named.values() if n is not None]
    if len(set(given)) < len(given):
        raise RunError(
            f"target, time_column and group_column must be different columns, got {named}."
        )
    if group_column is not None and time_column is None:
        raise RunError(
            "group_column separates the series of a time-ordered table; give time_column too "
            "(--time-column), or leave the group column out."
        )
    return columns


def load_table(
    source: Any,
    target: str,
    *,
    task: str | None = None,
    time_column: str | None = None,
    group_column: str | None = None,
) -> Table:
    """Read and check a table for :func:`skfam.runs.run_families`.

    Every column other than ``target``, ``time_column`` and ``group_column`` is a feature
    and must be numeric (booleans count as 0/1); missing values (NaN) in features are allowed
    (the estimators impute them), infinities are not.

    The task, when not given, is inferred: **classification** when the target is not
    numeric (text, booleans), or when it holds at most 10 distinct whole numbers;
    **regression** otherwise. The rule that applied is in ``Table.task_reason``.

    With ``time_column``, rows are sorted by group (in order of first appearance), then by
    time, with a stable sort; two rows of one group with the same time are an error.

    Parameters
    ----------
    source : str, path-like or pandas.DataFrame
        A ``.csv`` file (needs pandas: ``pip install "skfam[pandas]"``), a ``.parquet`` /
        ``.pq`` file (needs pyarrow: ``pip install "skfam[parquet]"``), or a DataFrame.
    target : str
        The column to predict.
    task : {"regression", "classification"}, default=None
        None infers it (see above).
    time_column : str, default=None
        A column of dates (datetime, or text in ISO 8601) or numbers giving each row's time.
        With it the split is by time and the sequence families can run.
    group_column : str, default=None
        A column naming the series a row belongs to (e.g. a symbol); needs ``time_column``.

    Returns
    -------
    table : Table
        The checked table.

    Raises
    ------
    RunError
        A missing or unreadable file, an empty table, a column that does not exist, a
        non-numeric or infinite feature column, a target with missing values, a target that
        does not suit the task, missing or duplicated times.
    ImportError
        pandas (or, for Parquet, pyarrow) is not installed; the message gives the extra.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from skfam.runs import load_table
    >>> frame = pd.DataFrame({"x": np.arange(40.0), "y": np.arange(40.0) * 2})
    >>> table = load_table(frame, "y")
    >>> table.task, table.features, table.task_reason
    ('regression', ('x',), "target 'y' is numeric with 40 distinct values (not at most 10 whole numbers)")
    """  # noqa: E501
    frame, description = _read(source)
    pd = require("pandas", "pandas", "Reading a table")
    where = f"{source}: " if description["kind"] == "file" else ""
    columns = _check_names(frame, target, time_column, group_column, where)
    n_rows = len(frame)
    if n_rows == 0:
        raise RunError(f"{where}the table has no rows.")
    features = [c for c in columns if c not in (target, time_column, group_column)]
    if not features:
        raise RunError(f"{where}the table has no feature column besides the target.")
    text = [c for c in features if not _is_number(pd, frame[c])]
    if text:
        raise RunError(
            f"{where}feature columns {text} are not numeric; every column but the target, "
            "time and group columns must hold numbers (encode or drop these columns)."
        )
    X = np.column_stack([_numeric_values(frame[c]) for c in features])
    infinite = [c for c, bad in zip(features, np.isinf(X).any(axis=0), strict=True) if bad]
    if infinite:
        raise RunError(f"{where}feature columns {infinite} hold infinite values.")
    y_column = frame[target]
    missing = int(y_column.isna().sum())
    if missing:
        raise RunError(
            f"{where}target column {target!r} has {missing} missing values; drop those rows "
            "or fill them."
        )
    if task is None:
        task, reason = _infer_task(pd, y_column, target)
    elif task not in TASKS:
        raise RunError(f"task must be one of {TASKS} or None, got {task!r}.")
    else:
        reason = "given"
    if task == "regression":
        if not _is_number(pd, y_column) or pd.api.types.is_bool_dtype(y_column):
            raise RunError(
                f"{where}regression needs a numeric target; column {target!r} is {y_column.dtype}."
            )
        y = _numeric_values(y_column)
        if np.isinf(y).any():
            raise RunError(f"{where}target column {target!r} holds infinite values.")
    else:
        y = _labels(pd, y_column, target)
        if len(np.unique(y)) < 2:
            raise RunError(
                f"{where}classification needs at least 2 classes; target {target!r} has one."
            )
    rows = np.arange(n_rows, dtype=np.int64)
    time = groups = None
    n_groups = 1
    if time_column is not None:
        time = _time_values(pd, frame[time_column], time_column, where)
        if group_column is not None:
            group = frame[group_column]
            if int(group.isna().sum()):
                raise RunError(
                    f"{where}group column {group_column!r} has {int(group.isna().sum())} "
                    "missing values."
                )
            codes, uniques = pd.factorize(group, sort=False)
            groups = codes.astype(np.int64)
            n_groups = len(uniques)
            order = np.lexsort((time, groups))  # stable: by group, then time
        else:
            uniques = None
            order = np.argsort(time, kind="stable")
        X, y, time, rows = X[order], y[order], time[order], rows[order]
        groups = None if groups is None else groups[order]
        same_group = (
            np.ones(n_rows - 1, dtype=bool) if groups is None else groups[1:] == groups[:-1]
        )
        repeated = np.flatnonzero(same_group & (time[1:] == time[:-1]))
        if len(repeated):
            first = repeated[0]
            which = "" if groups is None else f" in group {uniques[groups[first]]!r}"
            raise RunError(
                f"{where}time {json_time(time[first])} appears more than once{which} (rows "
                f"{rows[first]} and {rows[first + 1]} of the source); each time may appear "
                "once per series."
            )
    return Table(
        X=X,
        y=y,
        target=target,
        task=task,
        task_reason=reason,
        features=tuple(features),
        columns=tuple(columns),
        dtypes={c: str(frame[c].dtype) for c in columns},
        time=time,
        groups=groups,
        n_groups=n_groups,
        time_column=time_column,
        group_column=group_column,
        rows=rows,
        source=description,
        shape=(n_rows, len(columns)),
    )
