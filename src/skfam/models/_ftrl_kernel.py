"""The numba kernels of the ``ftrl_proximal`` family: FTRL-Proximal, one row at a time.

McMahan et al. (2013), "Ad Click Prediction: a View from the Trenches", Algorithm 1, with
one ``(z, n)`` pair per coordinate and output: ``z`` and ``n`` are float64 arrays of shape
``(n_features + 1, K)``; row ``n_features`` is the intercept (a coordinate whose value is
always 1, without l1 or l2), and ``K`` is 1 (squared loss, binary logistic) or the number
of classes (softmax). For each row, in the order given:

1. for every present coordinate ``i`` (observed and non-zero: NaN and 0 add nothing and
   learn nothing) and output ``k``: ``w = 0`` if ``|z| <= l1``, else
   ``w = -(z - sgn(z) l1) / ((beta + sqrt(n)) / alpha + l2)``;
2. the score ``p_k = sum_i w_ik x_i`` (coordinates in increasing index order) ``+ b_k``;
3. the loss gradient ``d_k = s * (f(p)_k - y_k)`` (``s`` the row's weight; ``f`` the identity,
   the sigmoid, or the softmax);
4. for every present coordinate: ``g = d_k x_i``, ``sigma = (sqrt(n + g^2) - sqrt(n)) /
   alpha``, ``z += g - sigma w``, ``n += g^2``.

The updates are written as they are computed. A row whose update is not finite stops the
pass (the kernel returns its position); with ``rollback`` every coordinate the call
changed was listed, with its ``(z, n)`` of before the call, and is restored, so the state
is the one of before the call; without, the caller abandons the state (``fit`` and the
first ``partial_fit`` fail as a whole). After a pass that succeeded, ``w`` (the closed-form
weights) is rewritten: for the listed coordinates, or for all without a list.

The rows are read in chunks into contiguous buffers, then learned; with ``threads`` >= 2
a second thread reads the next chunk meanwhile. No fastmath: the sums run in a fixed
order, so the bits depend on nothing but the data, the order and the hyperparameters (not
on the threads).
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext

import numba
import numpy as np

__all__ = ["LOGISTIC", "SOFTMAX", "SQUARED", "learn", "refresh_weights", "scores"]

SQUARED, LOGISTIC, SOFTMAX = 0, 1, 2

_jit = numba.njit(cache=True, nogil=True)
# The per-row and per-entry helpers are inlined into the loops in numba's IR: a call that
# gets arrays counts references to each of them, which per entry cost more than the
# arithmetic (measured: a per-entry helper taking the rollback log made a pass 5x slower).
_inline = numba.njit(cache=True, nogil=True, inline="always")


@_inline
def _closed_form(z: float, root_n: float, alpha: float, beta: float, l1: float, l2: float):
    """Return the weight of one coordinate from its ``z`` and ``sqrt(n)``."""
    if abs(z) <= l1:
        return 0.0
    if z > 0.0:
        return -(z - l1) / ((beta + root_n) / alpha + l2)
    return -(z + l1) / ((beta + root_n) / alpha + l2)


@_inline
def _sigmoid(score: float) -> float:
    if score >= 0.0:
        return 1.0 / (1.0 + math.exp(-score))
    e = math.exp(score)
    return e / (1.0 + e)


@_inline
def _gather_dense(X, row, cols, vals, e):
    """Append the present entries of a dense row (not NaN, not 0) at ``e``; return the end."""
    for c in range(X.shape[1]):
        x = X[row, c]
        if x != x or x == 0.0:
            continue
        cols[e] = c
        vals[e] = x
        e += 1
    return e


@_inline
def _gather_csr(data, indices, start, stop, cols, vals, e):
    """Append the present stored entries ``start:stop`` of a CSR row; return the end.

    The rows are canonical (sorted indices, no duplicates).
    """
    for p in range(start, stop):
        x = data[p]
        if x != x or x == 0.0:
            continue
        cols[e] = indices[p]
        vals[e] = x
        e += 1
    return e


@_inline
def _log_first_touch(c, z, n, mark, touched, saved_z, saved_n, count):
    """List coordinate ``c`` (and its ``(z, n)`` of before the call) the first time it changes."""
    mark[c] = 1
    t = count[0]
    touched[t] = c
    for k in range(z.shape[1]):
        saved_z[t, k] = z[c, k]
        saved_n[t, k] = n[c, k]
    count[0] = t + 1


@_inline
def _log_first_touch1(c, z, n, mark, touched, saved_z, saved_n, count):
    """:func:`_log_first_touch` for 1-D ``z`` and ``n`` (one output)."""
    mark[c] = 1
    t = count[0]
    touched[t] = c
    saved_z[t, 0] = z[c]
    saved_n[t, 0] = n[c]
    count[0] = t + 1


@_inline
def _delta(score, target, s, loss, track):
    """Return the weighted loss gradient of a one-output row and, if tracked, its loss."""
    value = 0.0
    if loss == SQUARED:
        residual = score - target
        if track:
            value = s * 0.5 * residual * residual
        return s * residual, value
    if track:
        value = s * (max(score, 0.0) - target * score + math.log1p(math.exp(-abs(score))))
    return s * (_sigmoid(score) - target), value


@_inline
def _step_one(
    a,
    m,
    cols,
    vals,
    target,
    s,
    z,
    n,
    wbuf,
    rbuf,
    params,
    loss,
    intercept,
    mark,
    touched,
    saved_z,
    saved_n,
    count,
    logging,
    track,
):
    """Learn one row of a one-output model (squared or logistic loss).

    ``cols[a:a + m]``, ``vals[a:a + m]`` are the row's present entries; ``z`` and ``n``
    are 1-D (the one output); ``wbuf`` and ``rbuf`` receive each entry's ``w`` and ``sqrt(n)``. The
    updates are written as they are computed; returns ``(finite, weighted loss before the
    update)``, and a caller that gets ``finite`` False restores the state from its log or
    abandons it.
    """
    alpha, beta, l1, l2 = params[0], params[1], params[2], params[3]
    bias = z.shape[0] - 1
    score = 0.0
    for j in range(m):
        c = cols[a + j]
        z_c = z[c]
        w = 0.0
        if abs(z_c) > l1:  # else w is 0, and so is its part in the update: no sqrt needed
            root = math.sqrt(n[c])
            w = _closed_form(z_c, root, alpha, beta, l1, l2)
            rbuf[j] = root
        wbuf[j] = w
        score += w * vals[a + j]
    b_root = 0.0
    b_w = 0.0
    if intercept:
        b_root = math.sqrt(n[bias])
        b_w = _closed_form(z[bias], b_root, alpha, beta, 0.0, 0.0)
        score += b_w
    delta, value = _delta(score, target, s, loss, track)
    if not math.isfinite(delta):
        return False, value
    finite = True
    for j in range(m):
        c = cols[a + j]
        g = delta * vals[a + j]
        n_new = n[c] + g * g
        w = wbuf[j]
        if w == 0.0:  # z += g - sigma * 0, bit for bit
            z_new = z[c] + g
        else:
            z_new = z[c] + (g - (math.sqrt(n_new) - rbuf[j]) / alpha * w)
        finite = finite and math.isfinite(z_new) and math.isfinite(n_new)
        if logging and mark[c] == 0:
            _log_first_touch1(c, z, n, mark, touched, saved_z, saved_n, count)
        z[c] = z_new
        n[c] = n_new
    if intercept:
        n_new = n[bias] + delta * delta
        z_new = z[bias] + (delta - (math.sqrt(n_new) - b_root) / alpha * b_w)
        finite = finite and math.isfinite(z_new) and math.isfinite(n_new)
        if logging and mark[bias] == 0:
            _log_first_touch1(bias, z, n, mark, touched, saved_z, saved_n, count)
        z[bias] = z_new
        n[bias] = n_new
    return finite, value


@_inline
def _step_softmax(
    a,
    m,
    cols,
    vals,
    target,
    s,
    z,
    n,
    work,
    scores,
    delta,
    params,
    intercept,
    mark,
    touched,
    saved_z,
    saved_n,
    count,
    logging,
    track,
):
    """Learn one row of a softmax model (``K`` outputs); as :func:`_step_one` otherwise.

    ``work`` receives, per entry and class, ``w`` and ``sqrt(n)``; the intercept takes the
    free slot ``a + m`` after the row's entries.
    """
    alpha, beta, l1, l2 = params[0], params[1], params[2], params[3]
    K = z.shape[1]
    bias = z.shape[0] - 1
    if intercept:
        cols[a + m] = bias
        vals[a + m] = 1.0
        m += 1
    for k in range(K):
        scores[k] = 0.0
    for j in range(m):
        c = cols[a + j]
        x = vals[a + j]
        reg1 = l1 if c != bias else 0.0
        reg2 = l2 if c != bias else 0.0
        for k in range(K):
            root = math.sqrt(n[c, k])
            w = _closed_form(z[c, k], root, alpha, beta, reg1, reg2)
            work[j, k, 0] = w
            work[j, k, 1] = root
            scores[k] += w * x
    label = int(target)
    top = scores[0]
    for k in range(1, K):
        if scores[k] > top:
            top = scores[k]
    total = 0.0
    for k in range(K):
        total += math.exp(scores[k] - top)
    finite = math.isfinite(total)
    for k in range(K):
        delta[k] = s * (math.exp(scores[k] - top) / total - (1.0 if k == label else 0.0))
        finite = finite and math.isfinite(delta[k])
    value = s * (top + math.log(total) - scores[label]) if track else 0.0
    if not finite:
        return False, value
    for j in range(m):
        c = cols[a + j]
        x = vals[a + j]
        if logging and mark[c] == 0:
            _log_first_touch(c, z, n, mark, touched, saved_z, saved_n, count)
        for k in range(K):
            g = delta[k] * x
            n_new = n[c, k] + g * g
            z_new = z[c, k] + (g - (math.sqrt(n_new) - work[j, k, 1]) / alpha * work[j, k, 0])
            finite = finite and math.isfinite(z_new) and math.isfinite(n_new)
            z[c, k] = z_new
            n[c, k] = n_new
    return finite, value


@_jit
def _finish(finite, z, n, w, params, log, logging):
    """End a call: restore the logged coordinates (failed, with a log), or refresh ``w``.

    With a log only the changed coordinates get their ``w`` again; without one, all do.
    """
    _, touched, saved_z, saved_n, count = log
    K = z.shape[1]
    if not finite:
        if logging:
            for t in range(count[0]):
                c = touched[t]
                for k in range(K):
                    z[c, k] = saved_z[t, k]
                    n[c, k] = saved_n[t, k]
        return
    if not logging:
        refresh_weights(z, n, w, params)
        return
    alpha, beta, l1, l2 = params[0], params[1], params[2], params[3]
    bias = z.shape[0] - 1
    for t in range(count[0]):
        c = touched[t]
        reg1 = l1 if c != bias else 0.0
        reg2 = l2 if c != bias else 0.0
        for k in range(K):
            w[c, k] = _closed_form(z[c, k], math.sqrt(n[c, k]), alpha, beta, reg1, reg2)


#: Entries gathered per chunk of rows: the rows of a chunk are read (in the order given)
#: into contiguous buffers first, so the reads of shuffled rows overlap instead of stalling
#: the learning one row at a time (and, with two threads, happen while the previous chunk
#: is learned); 2**16 entries keep the buffers in the CPU's caches.
_CHUNK_ENTRIES = 1 << 16


@_jit
def _widest(X_dense, indptr, sparse):
    """Return the most entries a row can hold."""
    if not sparse:
        return X_dense.shape[1]
    widest = 0
    for row in range(indptr.shape[0] - 1):
        widest = max(widest, indptr[row + 1] - indptr[row])
    return widest


@_jit
def _gather_chunk(X_dense, data, indices, indptr, sparse, y, sw, order, first, last, buffer):
    """Copy the present entries, targets and weights of rows ``order[first:last]``.

    Each row's entries go to ``cols``/``vals`` from ``starts[i]``, followed by one free
    slot (the softmax step puts the intercept there). Returns the entries written.
    """
    cols, vals, starts, bounds, targets, weights = buffer
    # First the rows' bounds, targets and weights (independent reads that overlap), then
    # their entries.
    for t in range(first, last):
        row = order[t]
        if sparse:
            bounds[t - first, 0] = indptr[row]
            bounds[t - first, 1] = indptr[row + 1]
        targets[t - first] = y[row]
        weights[t - first] = sw[row]
    e = 0
    for t in range(first, last):
        starts[t - first] = e
        if sparse:
            e = _gather_csr(
                data, indices, bounds[t - first, 0], bounds[t - first, 1], cols, vals, e
            )
        else:
            e = _gather_dense(X_dense, order[t], cols, vals, e)
        e += 1
    starts[last - first] = e
    return e


@_jit
def _learn_chunk(rows, buffer, z, n, params, loss, intercept, log, logging, track, work):
    """Learn the ``rows`` rows gathered in ``buffer``, in order.

    Returns ``(index of the row whose update is not finite, or -1; sum of the losses)``.
    """
    cols, vals, starts, _, targets, weights = buffer
    wbuf, rbuf, workk, scores, delta = work
    mark, touched, saved_z, saved_n, count = log
    z1 = z.reshape(z.size)
    n1 = n.reshape(n.size)
    total = 0.0
    for i in range(rows):
        a = starts[i]
        m = starts[i + 1] - 1 - a
        if loss == SOFTMAX:
            ok, value = _step_softmax(
                a,
                m,
                cols,
                vals,
                targets[i],
                weights[i],
                z,
                n,
                workk,
                scores,
                delta,
                params,
                intercept,
                mark,
                touched,
                saved_z,
                saved_n,
                count,
                logging,
                track,
            )
        else:
            ok, value = _step_one(
                a,
                m,
                cols,
                vals,
                targets[i],
                weights[i],
                z1,
                n1,
                wbuf,
                rbuf,
                params,
                loss,
                intercept,
                mark,
                touched,
                saved_z,
                saved_n,
                count,
                logging,
                track,
            )
        if not ok:
            return i, total
        total += value
    return -1, total


def _buffer(chunk: int, span: int) -> tuple[np.ndarray, ...]:
    """(cols, vals, starts, bounds, targets, weights) for ``chunk`` rows of ``span`` slots."""
    return (
        np.empty(chunk * span, np.int64),
        np.empty(chunk * span, np.float64),
        np.empty(chunk + 1, np.int64),
        np.empty((chunk, 2), np.int64),
        np.empty(chunk, np.float64),
        np.empty(chunk, np.float64),
    )


def learn(
    X,
    y: np.ndarray,
    sample_weight: np.ndarray,
    order: np.ndarray,
    z: np.ndarray,
    n: np.ndarray,
    w: np.ndarray,
    params: np.ndarray,
    loss: int,
    intercept: bool,
    *,
    rollback: bool,
    track: bool,
    threads: int = 1,
) -> tuple[int, float]:
    """Learn the rows ``order`` of ``X`` (dense C-ordered float64, or canonical CSR) in order.

    ``z``, ``n`` and ``w`` (``(n_features + 1, K)`` float64) are updated in place;
    ``params`` is ``[alpha, beta, l1, l2]``. Returns ``(failed, loss)``: the position in
    ``order`` of the first row whose update is not finite (-1: none; the rows before it
    are learned, unless ``rollback``, which restores ``z`` and ``n`` to their values of
    before the call), and the sum of the weighted losses of the rows before their update
    (0 unless ``track``).

    With ``threads`` >= 2, a second thread reads the rows of the next chunk while this one
    learns the current chunk: the learning itself stays one row after another, so the
    result is the same bits for any ``threads``.
    """
    n_coords, K = z.shape
    sparse = hasattr(X, "indptr")
    if rollback:
        entries = X.nnz if sparse else X.shape[0] * X.shape[1]
        capacity = min(n_coords, entries + 1)
    else:
        n_coords = capacity = 1
    log = (
        np.zeros(n_coords, dtype=np.uint8),
        np.empty(capacity, dtype=np.int64),
        np.empty((capacity, K), dtype=np.float64),
        np.empty((capacity, K), dtype=np.float64),
        np.zeros(1, dtype=np.int64),
    )
    y = np.ascontiguousarray(y, dtype=np.float64)
    order = np.ascontiguousarray(order, dtype=np.int64)
    if sparse:
        dense = np.empty((0, 0), dtype=np.float64)
        data, indices, indptr = X.data, X.indices, X.indptr
    else:
        dense = X
        data = np.empty(0, dtype=np.float64)
        indices = indptr = np.zeros(1, dtype=np.int32)
    span = int(_widest(dense, indptr, sparse)) + 1
    chunk = max(1, _CHUNK_ENTRIES // span)
    firsts = range(0, len(order), chunk)
    pipelined = threads >= 2 and len(firsts) > 1
    buffers = [_buffer(min(chunk, len(order)), span) for _ in range(2 if pipelined else 1)]
    work = (
        np.empty(span, np.float64),
        np.empty(span, np.float64),
        np.empty((span, K, 2), np.float64),
        np.empty(K, np.float64),
        np.empty(K, np.float64),
    )

    def gather(index: int) -> tuple[np.ndarray, ...]:
        first = firsts[index]
        buffer = buffers[index % len(buffers)]
        last = min(len(order), first + chunk)
        _gather_chunk(
            dense, data, indices, indptr, sparse, y, sample_weight, order, first, last, buffer
        )
        return buffer

    total = 0.0
    with ThreadPoolExecutor(max_workers=1) if pipelined else nullcontext() as pool:
        pending = pool.submit(gather, 0) if pipelined else None
        for index, first in enumerate(firsts):
            if pipelined:
                buffer = pending.result()
                if index + 1 < len(firsts):
                    pending = pool.submit(gather, index + 1)
            else:
                buffer = gather(index)
            rows = min(len(order), first + chunk) - first
            failed, value = _learn_chunk(
                rows, buffer, z, n, params, loss, intercept, log, rollback, track, work
            )
            total += value
            if failed >= 0:
                _finish(False, z, n, w, params, log, rollback)
                return first + int(failed), float(total)
    _finish(True, z, n, w, params, log, rollback)
    return -1, float(total)


@_jit
def refresh_weights(z, n, w, params):
    """Write the closed-form weight of every coordinate into ``w`` (the last row: intercept)."""
    alpha, beta, l1, l2 = params[0], params[1], params[2], params[3]
    bias = z.shape[0] - 1
    for c in range(z.shape[0]):
        reg1 = l1 if c != bias else 0.0
        reg2 = l2 if c != bias else 0.0
        for k in range(z.shape[1]):
            w[c, k] = _closed_form(z[c, k], math.sqrt(n[c, k]), alpha, beta, reg1, reg2)


@_jit
def _scores_dense(X, w, intercept, out):
    d = X.shape[1]
    K = w.shape[1]
    for r in range(X.shape[0]):
        for k in range(K):
            out[r, k] = 0.0
        for c in range(d):
            x = X[r, c]
            if x != x or x == 0.0:
                continue
            for k in range(K):
                out[r, k] += w[c, k] * x
        if intercept:
            for k in range(K):
                out[r, k] += w[d, k]


@_jit
def _scores_csr(data, indices, indptr, w, intercept, out):
    K = w.shape[1]
    bias = w.shape[0] - 1
    for r in range(indptr.shape[0] - 1):
        for k in range(K):
            out[r, k] = 0.0
        for p in range(indptr[r], indptr[r + 1]):
            x = data[p]
            if x != x or x == 0.0:
                continue
            c = indices[p]
            for k in range(K):
                out[r, k] += w[c, k] * x
        if intercept:
            for k in range(K):
                out[r, k] += w[bias, k]


def scores(X, w: np.ndarray, intercept: bool) -> np.ndarray:
    """Return the scores ``X w + b`` of shape ``(n_rows, K)``, NaN and 0 entries absent.

    The same sums, in the same order, as the kernel's scores while learning.
    """
    out = np.empty((X.shape[0], w.shape[1]), dtype=np.float64)
    if hasattr(X, "indptr"):
        _scores_csr(X.data, X.indices, X.indptr, w, intercept, out)
    else:
        _scores_dense(X, w, intercept, out)
    return out
