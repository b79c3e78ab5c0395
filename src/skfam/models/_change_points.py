"""Change-point detection for the ``change_point`` family: ruptures with O(1) segment costs.

ruptures' own costs (``CostL2``, ``CostNormal``) compute a segment's cost from the segment's
rows, in O(length); PELT evaluates a cost for every (admissible start, candidate end) pair,
which makes it quadratic in the series' length. The costs here are subclasses of ruptures'
``BaseCost`` that keep cumulative sums of the signal and of its square, so any segment's cost
takes O(columns), and that can evaluate many segments in one vectorised call
(:meth:`CumulativeCost.errors`).

ruptures' search loops themselves run one Python call per (start, end) pair and copy a dict
per call; :class:`Pelt` and :class:`Binseg` subclass ruptures' classes and replace that
inner loop by one vectorised call per candidate end (PELT) or per segment (binary
segmentation), with the same recursion, pruning and tie-breaking as ruptures'
(``tests/test_change_point.py`` checks that both find ruptures' own breakpoints).

After the search on the grid of candidates (every ``jump`` rows), :func:`refine` moves each
change point to the best row within ``jump`` of it and removes change points that no longer
pay their penalty, so the result is at row resolution whatever the grid.
"""

from __future__ import annotations

from functools import cache
from math import floor
from typing import ClassVar

import numpy as np
import ruptures as rpt
from ruptures.base import BaseCost
from ruptures.costs import NotEnoughPoints

__all__ = ["COSTS", "Binseg", "CostL2", "CostNormal", "CumulativeCost", "Pelt", "refine"]

#: Relative floor of a segment's variance in the "normal" cost (times the column's variance
#: over the whole series), so that a constant segment has a finite cost.
VARIANCE_FLOOR = 1e-8


def robust_noise_scale(column: np.ndarray) -> float:
    """Return a robust estimate of the noise standard deviation of a series.

    The median absolute deviation of the first differences, scaled to a standard deviation
    (``1.4826 * MAD / sqrt(2)``): differences remove the level, so a few mean shifts do not
    inflate it. Falls back to the standard deviation of the differences when more than half
    of them are equal (MAD 0), and returns 0 only for a constant series.
    """
    diffs = np.diff(column)
    if len(diffs) == 0:
        return 0.0
    mad = float(np.median(np.abs(diffs - np.median(diffs))))
    scale = 1.4826 * mad / np.sqrt(2.0)
    if scale > 0:
        return scale
    return float(np.std(diffs)) / np.sqrt(2.0)


class CumulativeCost(BaseCost):
    """A ruptures cost from cumulative sums of the (standardised) signal and its square.

    ``fit`` keeps ``c1[t] = sum(x[:t])`` and ``c2[t] = sum(x[:t] ** 2)`` per column, after
    centring and scaling each column over the whole series (for precision: the sums of
    squares then cancel less). Columns that are constant over the whole series carry no
    information and are left out (``n_columns`` counts the others).
    """

    model: ClassVar[str] = ""
    #: Parameters a segment adds per column of the signal (for the "bic" penalty).
    parameters_per_column: ClassVar[int] = 1

    def __init__(self) -> None:
        self.signal = None
        self.min_size = 1

    def fit(self, signal: np.ndarray) -> CumulativeCost:
        """Keep the cumulative sums of ``signal`` (n_samples,) or (n_samples, n_columns)."""
        signal = np.asarray(signal, dtype=np.float64)
        if signal.ndim == 1:
            signal = signal.reshape(-1, 1)
        self.signal = signal
        spread = np.ptp(signal, axis=0) if len(signal) else np.zeros(signal.shape[1])
        varying = signal[:, spread > 0]
        self.n_columns = varying.shape[1]
        scaled = self._standardise(varying)
        if self.n_columns == 1:
            scaled = scaled[:, 0]  # one column: 1-D sums, no sum over columns per segment
        zero = np.zeros((1, *scaled.shape[1:]))
        self.c1 = np.concatenate([zero, np.cumsum(scaled, axis=0)])
        self.c2 = np.concatenate([zero, np.cumsum(scaled * scaled, axis=0)])
        return self

    def _sums(
        self, starts: np.ndarray, ends: np.ndarray | int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Length, sum and sum of squares of each segment (per column when several)."""
        length = np.asarray(ends - starts, dtype=np.float64)
        s1 = self.c1[ends] - self.c1[starts]
        s2 = self.c2[ends] - self.c2[starts]
        if s1.ndim == 2:
            length = length[:, None]
        return length, s1, s2

    @staticmethod
    def _total(per_column: np.ndarray) -> np.ndarray:
        return per_column.sum(axis=1) if per_column.ndim == 2 else per_column

    def _standardise(self, varying: np.ndarray) -> np.ndarray:
        std = varying.std(axis=0) if varying.shape[1] else np.ones(0)
        return (varying - varying.mean(axis=0)) / std

    def errors(self, starts: np.ndarray, ends: np.ndarray | int) -> np.ndarray:
        """Return the costs of the segments ``[starts[i], ends[i])``, vectorised.

        ``ends`` may be one int, the end of every segment.
        """
        raise NotImplementedError

    def error(self, start: int, end: int) -> float:
        """Return the cost of the segment ``[start, end)`` (ruptures' API)."""
        if end - start < self.min_size:
            raise NotEnoughPoints
        return float(self.errors(np.array([start]), np.array([end]))[0])

    def penalty_bic(self, n_samples: int) -> float:
        """Return the BIC penalty of one more segment on this cost's scale.

        A segment adds ``parameters_per_column`` parameters per column, and the position
        where it starts: ``(parameters_per_column * n_columns + 1) * log(n_samples)``.
        """
        parameters = self.parameters_per_column * self.n_columns + 1
        return parameters * float(np.log(n_samples))


class CostL2(CumulativeCost):
    """Mean shift: squared deviations from the segment's mean, in units of the noise variance.

    Each column is divided by its robust noise scale (:func:`robust_noise_scale`), so the
    cost of a segment is ``sum((x - mean) ** 2 / sigma ** 2)``: -2 log-likelihood of a
    Gaussian with a known variance, up to a constant. BIC: one mean per column and the
    start of each segment, a penalty of ``(n_columns + 1) * log(n)`` per segment.
    """

    model: ClassVar[str] = "l2"
    parameters_per_column: ClassVar[int] = 1

    def _standardise(self, varying: np.ndarray) -> np.ndarray:
        scale = np.array([robust_noise_scale(c) for c in varying.T])
        # A column varies (ptp > 0), so its differences are not all zero: scale > 0.
        return (varying - varying.mean(axis=0)) / scale

    def errors(self, starts: np.ndarray, ends: np.ndarray | int) -> np.ndarray:
        """Return ``sum over columns of (S2 - S1 ** 2 / L)`` of each segment."""
        length, s1, s2 = self._sums(starts, ends)
        return self._total(np.maximum(s2 - s1 * s1 / length, 0.0))


class CostNormal(CumulativeCost):
    """Change of mean or variance: Gaussian with a mean and a variance per column and segment.

    The cost of a segment of length ``L`` is ``L * sum over columns of log(var)``, with
    ``var`` the segment's (biased) variance, floored at ``VARIANCE_FLOOR`` times the column's
    variance over the series: -2 log-likelihood of independent Gaussian columns at their
    maximum-likelihood mean and variance, up to a constant. Unlike ruptures' ``CostNormal`` the
    columns are independent (a diagonal covariance), so a segment's cost takes O(columns).
    BIC: a mean and a variance per column, and the start, of each segment:
    ``(2 * n_columns + 1) * log(n)`` per segment.
    """

    model: ClassVar[str] = "normal"
    parameters_per_column: ClassVar[int] = 2

    def __init__(self) -> None:
        super().__init__()
        self.min_size = 2

    def errors(self, starts: np.ndarray, ends: np.ndarray | int) -> np.ndarray:
        """Return ``L * sum over columns of log(max(S2 / L - (S1 / L) ** 2, floor))``."""
        length, s1, s2 = self._sums(starts, ends)
        mean = s1 / length
        # The columns have variance 1 over the series (standardised in fit).
        logs = np.log(np.maximum(s2 / length - mean * mean, VARIANCE_FLOOR))
        return np.asarray(ends - starts, dtype=np.float64) * self._total(logs)


#: The costs by name (the ``cost`` hyperparameter).
COSTS: dict[str, type[CumulativeCost]] = {"l2": CostL2, "normal": CostNormal}


class Pelt(rpt.Pelt):
    """ruptures' PELT with the inner loop over the admissible starts vectorised.

    The recursion is ruptures' ``Pelt._seg``: the candidate ends are the multiples of
    ``jump`` from ``min_size`` on, and the series' end; the start added at each end is
    ``floor((end - min_size) / jump) * jump``; the best start minimises ``F(start) + cost +
    pen`` (the first one of the admissible list on ties); a start stays admissible while
    ``F(start) + cost + pen <= F(end) + pen``. The cost must be a :class:`CumulativeCost`.
    """

    def _seg(self, pen: float) -> dict[tuple[int, int], float]:
        n, jump, min_size = self.n_samples, self.jump, self.min_size
        ends = [k for k in range(0, n, jump) if k >= min_size] + [n]
        best = {0: 0.0}
        previous: dict[int, int] = {}
        # The admissible starts and their F(start), in the first ``m`` places.
        starts = np.empty(len(ends) + 1, dtype=np.intp)
        start_best = np.empty(len(ends) + 1)
        m = 0
        for end in ends:
            start = floor((end - min_size) / jump) * jump
            if start in best:
                starts[m], start_best[m] = start, best[start]
                m += 1
            if m == 0:
                continue
            totals = start_best[:m] + (self.cost.errors(starts[:m], end) + pen)
            i = int(np.argmin(totals))
            best[end] = float(totals[i])
            previous[end] = int(starts[i])
            keep = np.flatnonzero(totals <= best[end] + pen)
            if len(keep) < m:
                m = len(keep)
                starts[:m], start_best[:m] = starts[keep], start_best[keep]
        bkps, end = [], n
        while end != 0:
            start = previous[end]
            bkps.append((start, end))
            end = start
        return {segment: 0.0 for segment in reversed(bkps)}


class Binseg(rpt.Binseg):
    """ruptures' binary segmentation with each segment's split search vectorised.

    ``single_bkp`` returns what ruptures' returns: the split ``bkp`` (a multiple of ``jump``
    from the segment's start, leaving ``min_size`` rows on both sides) of largest gain
    ``cost(start, end) - cost(start, bkp) - cost(bkp, end)``, the largest ``bkp`` on ties.
    """

    @cache  # noqa: B019 (ruptures' own pattern; cleared by fit)
    def single_bkp(self, start: int, end: int) -> tuple[int | None, float]:
        """Return the best split of ``[start, end)`` and its gain (None, 0 when none fits)."""
        candidates = np.arange(start, end, self.jump)
        candidates = candidates[
            (candidates - start >= self.min_size) & (end - candidates >= self.min_size)
        ]
        if len(candidates) == 0:
            return None, 0
        whole = self.cost.error(start, end)
        starts = np.full(len(candidates), start)
        ends = np.full(len(candidates), end)
        gains = whole - self.cost.errors(starts, candidates) - self.cost.errors(candidates, ends)
        # max over (gain, bkp) tuples, as ruptures: the largest bkp among equal gains.
        i = len(gains) - 1 - int(np.argmax(gains[::-1]))
        return int(candidates[i]), float(gains[i])


def _best_split(
    cost: CumulativeCost, left: int, right: int, low: int, high: int
) -> tuple[int, float] | None:
    """Return the row in ``[low, high]`` splitting ``[left, right)`` at least cost, and it."""
    if high < low:
        return None
    rows = np.arange(low, high + 1)
    total = cost.errors(np.full(len(rows), left), rows) + cost.errors(
        rows, np.full(len(rows), right)
    )
    i = int(np.argmin(total))
    return int(rows[i]), float(total[i])


def refine(
    cost: CumulativeCost, bkps: list[int], n_samples: int, jump: int, min_size: int, pen: float
) -> list[int]:
    """Move each change point to its best row within ``jump``, then drop those not worth it.

    ``bkps`` are the starts of the second to last segments (not 0 nor ``n_samples``). A pass
    from left to right moves each change point ``b`` between its neighbours ``a < b < c`` to
    the row ``s`` with ``|s - b| < jump`` (segments of at least ``min_size`` rows) that
    minimises ``cost(a, s) + cost(s, c)``. Then, while a change point's segments cost more
    than the two merged plus the penalty (removing it lowers the penalised cost), the one
    whose removal lowers it most is removed, and the pass is repeated. Each step lowers (or
    keeps) the penalised cost, so the result is at least as good as the search's.
    """
    points = sorted(int(b) for b in bkps)
    for _ in range(len(points) + 1):
        if jump > 1:
            for i, b in enumerate(points):
                left = points[i - 1] if i else 0
                right = points[i + 1] if i + 1 < len(points) else n_samples
                low = max(left + min_size, b - jump + 1)
                high = min(right - min_size, b + jump - 1)
                found = _best_split(cost, left, right, low, high)
                if found is not None and found[1] < cost.error(left, b) + cost.error(b, right):
                    points[i] = found[0]
        if not points:
            return points
        edges = np.array([0, *points, n_samples])
        merged = cost.errors(edges[:-2], edges[2:])
        split = cost.errors(edges[:-2], edges[1:-1]) + cost.errors(edges[1:-1], edges[2:])
        change = merged - split - pen
        worst = int(np.argmin(change))
        if change[worst] >= 0:
            return points
        del points[worst]
    return points
