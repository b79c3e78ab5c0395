"""The leaderboard of a run: ranking, ``leaderboard.csv`` and the plot (``leaderboard.png``)."""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from ._runs_data import RunError, require
from ._runs_verify import read_manifest

__all__ = ["LEADERBOARD_FIELDS", "PLOT_HINT", "leaderboard", "plot_leaderboard", "write_csv"]

PLOT_HINT = 'pip install "skfam[plot]"'


def leaderboard(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rank the trained entries per (task, dataset), best score first."""
    boards: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for entry in entries:
        if entry["status"] == "ok":
            boards.setdefault((entry["task"], entry["dataset"]), []).append(entry)
    rows = []
    for (task, dataset), members in sorted(boards.items()):
        ranked = sorted(
            members,
            key=lambda e: (e["score"] is None, -(e["score"] or 0.0), e["name"]),
        )
        for rank, entry in enumerate(ranked, start=1):
            rows.append(
                {
                    "rank": rank,
                    "family": entry["family"],
                    "task": task,
                    "dataset": dataset,
                    "metric": entry["metric"],
                    "score": entry["score"],
                    "fit_seconds": entry["fit_seconds"],
                    "variant": entry["variant"] or "default",
                    "model_file": entry["model"]["file"],
                }
            )
    return rows


LEADERBOARD_FIELDS = (
    "rank",
    "family",
    "task",
    "dataset",
    "metric",
    "score",
    "fit_seconds",
    "variant",
    "model_file",
)


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write the leaderboard rows as CSV, one header line first."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=LEADERBOARD_FIELDS)
        writer.writeheader()
        writer.writerows(rows)


# ---------------------------------------------------------------------- the plot
def leaderboard_of(run_or_dir: Any) -> list[dict[str, Any]]:
    if isinstance(run_or_dir, list):
        return run_or_dir
    if hasattr(run_or_dir, "leaderboard") and hasattr(run_or_dir, "manifest"):  # a Run
        return run_or_dir.leaderboard
    if isinstance(run_or_dir, (str, os.PathLike)):
        manifest = read_manifest(Path(run_or_dir))
        return leaderboard(manifest["families"])
    raise TypeError(f"run_or_dir must be a Run or a run folder, got {type(run_or_dir).__name__}.")


def plot_leaderboard(run_or_dir: Any, path: str | os.PathLike | None = None) -> Any:
    """Draw a run's leaderboard: the score of each family, with its fit time.

    One row of two panels per leaderboard (task and dataset): the held-out score of each
    family (best at the top) and its fit time in seconds.

    Parameters
    ----------
    run_or_dir : Run or path
        A :class:`Run`, or a run folder (its ``manifest.json`` is read).
    path : path, default=None
        Also save the figure there (PNG by its suffix).

    Returns
    -------
    figure : matplotlib.figure.Figure
        The figure (made without pyplot, so no window opens).

    Raises
    ------
    ImportError
        matplotlib is not installed (``pip install "skfam[plot]"``).
    RunError
        The run folder has no readable manifest, or the run trained no family.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from skfam.runs import load_table, plot_leaderboard, run_families
    >>> rng = np.random.default_rng(0)
    >>> frame = pd.DataFrame({"a": rng.normal(size=120), "y": rng.normal(size=120)})
    >>> run = run_families(load_table(frame, "y"), ["lightgbm"], variant="fast")
    >>> figure = plot_leaderboard(run)
    >>> [tick.get_text() for tick in figure.axes[0].get_yticklabels()]
    ['lightgbm']
    """
    require("matplotlib", "plot", "Plotting a leaderboard")
    from matplotlib.figure import Figure

    rows = leaderboard_of(run_or_dir)
    boards: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        boards.setdefault((row["task"], row["dataset"]), []).append(row)
    if not boards:
        raise RunError("the run has no trained family: there is no leaderboard to plot.")
    n = len(boards)
    tallest = max(len(b) for b in boards.values())
    figure = Figure(figsize=(9, 0.5 + n * (0.6 + 0.35 * tallest)), layout="constrained")
    axes = figure.subplots(n, 2, squeeze=False, width_ratios=(3, 2))
    for (score_ax, time_ax), ((task, dataset), board) in zip(
        axes, sorted(boards.items()), strict=True
    ):
        board = sorted(board, key=lambda r: r["rank"], reverse=True)  # best at the top
        names = [r["family"] for r in board]
        scores = [np.nan if r["score"] is None else float(r["score"]) for r in board]
        seconds = [float(r["fit_seconds"]) for r in board]
        positions = np.arange(len(board))
        score_ax.barh(positions, scores, color="tab:blue")
        score_ax.set_yticks(positions, names)
        score_ax.set_xlabel(f"{board[0]['metric']} on held-out rows (higher is better)")
        score_ax.set_title(f"{task} on {dataset}", loc="left")
        for y, value in zip(positions, scores, strict=True):
            if math.isfinite(value):
                score_ax.annotate(
                    f"{value:.3f}",
                    (value, y),
                    xytext=(3, 0),
                    textcoords="offset points",
                    va="center",
                    fontsize=8,
                )
        time_ax.barh(positions, seconds, color="tab:gray")
        time_ax.set_yticks(positions, [])
        time_ax.set_xlabel("fit time (s)")
        for y, value in zip(positions, seconds, strict=True):
            time_ax.annotate(
                f"{value:.1f} s",
                (value, y),
                xytext=(3, 0),
                textcoords="offset points",
                va="center",
                fontsize=8,
            )
    if path is not None:
        figure.savefig(path, dpi=100)
    return figure
