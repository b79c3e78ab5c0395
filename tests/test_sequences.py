"""make_sequences and make_hybrid: alignment, no look-ahead, views, groups, gaps, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from skfam import make_hybrid, make_sequences


def _series(T: int = 20, C: int = 3) -> np.ndarray:
    # Row t, channel c holds 100 * t + c: every value names its row.
    return (100.0 * np.arange(T)[:, None] + np.arange(C)[None, :]).astype(np.float64)


def test_windows_and_targets_are_aligned_without_look_ahead():
    data = _series()
    target = np.arange(20.0) * 1000
    X, y, end = make_sequences(data, 4, target=target, horizon=2, return_index=True)
    assert X.shape == (20 - 4 - 2 + 1, 4, 3)
    for i in range(len(X)):
        rows = X[i, :, 0] / 100
        assert rows.tolist() == list(range(i, i + 4))  # window i covers rows i .. i+3
        assert end[i] == i + 3
        assert y[i] == target[i + 3 + 2]  # target at the window end + horizon
        # The target row lies strictly after every row the window sees.
        assert y[i] / 1000 > rows.max()
    # The last window's target is the last row: nothing past the end.
    assert y[-1] == target[-1]


def test_without_target_keeps_every_full_window():
    X = make_sequences(_series(10), 3)
    assert X.shape == (8, 3, 3)
    assert X[-1, -1, 0] == 900


def test_step_strides_window_starts():
    X, y = make_sequences(_series(20), 4, target=np.arange(20.0), step=3)
    assert (X[:, 0, 0] / 100).tolist() == [0, 3, 6, 9, 12, 15]
    assert y.tolist() == [4, 7, 10, 13, 16, 19]


def test_result_is_a_read_only_zero_copy_view():
    data = _series(50)
    X, _ = make_sequences(data, 10, target=data[:, 0])
    assert np.shares_memory(X, data)
    assert not X.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        X[0, 0, 0] = 1.0
    assert X.base is not None


def test_normalised_or_grouped_result_is_a_fresh_array():
    data = _series(30)
    X = make_sequences(data, 5, normalization="zscore")
    assert not np.shares_memory(X, data)
    X = make_sequences(data, 5, groups=np.repeat([0, 1], 15))
    assert not np.shares_memory(X, data)
    assert X.dtype == np.float64


def test_groups_never_cross_a_boundary():
    data = _series(12, 1)
    groups = np.array(["a"] * 5 + ["b"] * 7)
    X, y, end = make_sequences(data, 3, target=np.arange(12.0), groups=groups, return_index=True)
    # Group a (rows 0..4): starts 0, 1 (target rows 3, 4); group b (rows 5..11): starts 5..8.
    assert (X[:, 0, 0] / 100).tolist() == [0, 1, 5, 6, 7, 8]
    assert y.tolist() == [3, 4, 8, 9, 10, 11]
    for window, last in zip(X, end, strict=True):
        rows = (window[:, 0] / 100).astype(int)
        assert len(set(groups[rows])) == 1
        assert groups[last + 1] == groups[rows[0]]  # the target row is in the same group


def test_group_and_target_columns_of_a_dataframe():
    frame = pd.DataFrame(
        {
            "symbol": ["x"] * 6 + ["y"] * 6,
            "Close": np.arange(12.0),
            "volume": np.arange(12.0) * 10,
            "note": ["n"] * 12,
        }
    )
    X, y = make_sequences(frame, 2, target="Close", groups="symbol")
    assert X.shape == (8, 2, 2)  # OHLCV columns present: close, volume (in that order)
    assert X[0].tolist() == [[0.0, 0.0], [1.0, 10.0]]
    assert y.tolist() == [2, 3, 4, 5, 8, 9, 10, 11]


def test_default_channels_are_numeric_columns_without_ohlcv():
    frame = pd.DataFrame({"a": np.arange(5.0), "b": np.arange(5), "s": list("vwxyz")})
    X = make_sequences(frame, 2)
    assert X.shape == (4, 2, 2)


def test_time_gaps_split_windows():
    days = [1, 2, 3, 4, 8, 9, 10, 11]
    index = pd.DatetimeIndex([f"2024-01-{d:02d}" for d in days])
    frame = pd.DataFrame({"close": np.arange(8.0)}, index=index)
    X, y = make_sequences(frame, 2, target="close", max_gap=pd.Timedelta("1D"))
    # Runs: rows 0..3 and 4..7 (a four-day gap between rows 3 and 4).
    assert X[:, 0, 0].tolist() == [0, 1, 4, 5]
    assert y.tolist() == [2, 3, 6, 7]
    # Numeric time through the time argument.
    X = make_sequences(np.arange(6.0), 2, time=np.array([0, 1, 2, 10, 11, 12]), max_gap=1)
    assert X[:, 0, 0].tolist() == [0, 1, 3, 4]


def test_time_going_backwards_in_a_group_is_an_error():
    with pytest.raises(ValueError, match="time must not decrease"):
        make_sequences(np.arange(6.0), 2, time=np.array([0, 1, 2, 1, 4, 5]), max_gap=3)
    with pytest.raises(ValueError, match="max_gap needs a time index"):
        make_sequences(np.arange(6.0), 2, max_gap=3)


def test_returns_normalisation():
    data = np.array([[1.0, 0.0], [2.0, 0.0], [3.0, 5.0], [6.0, np.nan], [6.0, 1.0]])
    X = make_sequences(data, 3, normalization="returns")
    assert X.shape == (3, 3, 2)
    np.testing.assert_allclose(X[0, :, 0], [0.0, 1.0, 0.5])
    np.testing.assert_allclose(X[1, :, 0], [0.0, 0.5, 1.0])  # first step 0 in every window
    assert X[0, :, 1].tolist() == [0.0, 0.0, 0.0]  # 0 -> 0 and 0 -> 5: zero division gives 0
    assert X[1, 0, 1] == 0.0 and np.isnan(X[1, 2, 1])  # NaN stays NaN
    assert np.isnan(X[2, 1, 1]) and np.isnan(X[2, 2, 1])


def test_zscore_normalisation_uses_only_the_window():
    data = np.cumsum(np.random.default_rng(0).normal(size=(40, 2)), axis=0)
    data[10:, 1] = 3.0  # a constant channel
    X = make_sequences(data, 6, normalization="zscore")
    np.testing.assert_allclose(X.mean(axis=1)[:, 0], 0.0, atol=1e-12)
    np.testing.assert_allclose(X.std(axis=1)[:, 0], 1.0)
    assert (X[20:, :, 1] == 0).all()
    # Changing rows after a window's end does not change that window.
    changed = data.copy()
    changed[30:] += 100
    Xc = make_sequences(changed, 6, normalization="zscore")
    np.testing.assert_array_equal(Xc[:25], X[:25])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sequence_length": 0}, "sequence_length must be an int >= 1"),
        ({"sequence_length": 21}, "longer than the series"),
        ({"sequence_length": 3, "horizon": 0}, "horizon must be an int >= 1"),
        ({"sequence_length": 3, "step": 0}, "step must be an int >= 1"),
        ({"sequence_length": 3, "channels": [5]}, "Unknown channel"),
        ({"sequence_length": 3, "normalization": "minmax"}, "normalization must be"),
        ({"sequence_length": 3, "target": np.zeros(4)}, "target must have one value per row"),
        ({"sequence_length": 3, "groups": "sym"}, "names a column, but data is not a Data"),
        ({"sequence_length": 20, "target": np.zeros(20)}, "no window of length 20"),
    ],
)
def test_bad_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_sequences(_series(20), **kwargs)


def test_bad_dataframe_channels_raise():
    frame = pd.DataFrame({"close": np.arange(5.0), "s": list("abcde")})
    with pytest.raises(ValueError, match="Unknown channel"):
        make_sequences(frame, 2, channels=["open"])
    with pytest.raises(ValueError, match="not numeric"):
        make_sequences(frame, 2, channels=["close", "s"])
    with pytest.raises(ValueError, match="column 'nope' is not in"):
        make_sequences(frame, 2, target="nope")
    with pytest.raises(ValueError, match="must be numeric"):
        make_sequences(np.array([["a"], ["b"], ["c"]]), 2)


def test_make_hybrid_layout():
    features = np.arange(6.0).reshape(3, 2)
    sequence = np.arange(24.0).reshape(3, 4, 2)
    X = make_hybrid(features, sequence)
    assert X.shape == (3, 2 + 8)
    np.testing.assert_array_equal(X[:, :2], features)
    # Column F + t * C + c is channel c at step t.
    assert X[1, 2 + 3 * 2 + 1] == sequence[1, 3, 1]
    assert make_hybrid(features, sequence[:, :, 0]).shape == (3, 6)
    with pytest.raises(ValueError, match="rows"):
        make_hybrid(features[:2], sequence)


def _plain_zscore(window: np.ndarray) -> np.ndarray:
    """(L, C) window standardised per channel over its observed values, written plainly."""
    out = np.full(window.shape, np.nan)
    for c in range(window.shape[1]):
        column = window[:, c]
        seen = ~np.isnan(column)
        if not seen.any():
            continue
        mean = column[seen].mean()
        std = column[seen].std()
        out[seen, c] = (column[seen] - mean) / std if std > 0 else 0.0
    return out


def test_zscore_ignores_nan_and_keeps_it_in_place():
    # One NaN used to turn every window containing it into all-NaN windows.
    data = np.cumsum(np.random.default_rng(1).normal(size=(60, 3)), axis=0)
    data[10, 0] = np.nan
    data[30:36, 1] = np.nan  # a whole window of channel 1 (rows 30..35) is missing
    data[40:, 2] = 7.0  # constant, with a NaN inside
    data[45, 2] = np.nan
    X = make_sequences(data, 6, normalization="zscore")
    for i in range(len(X)):
        np.testing.assert_allclose(X[i], _plain_zscore(data[i : i + 6]), rtol=1e-12, atol=1e-12)
    assert np.isnan(X[:, :, 0]).sum() == 6  # the one NaN, once in each of its 6 windows
    assert np.isnan(X[30, :, 1]).all()  # nothing observed: stays missing
    assert X[45, 1, 2] == 0.0 and np.isnan(X[45, 0, 2])


@pytest.mark.parametrize("channels", [[], ()])
def test_empty_channels_are_an_error_for_arrays_and_dataframes(channels):
    # An array used to give 0-channel windows while a DataFrame raised.
    with pytest.raises(ValueError, match="channels must name at least one column"):
        make_sequences(_series(10), 3, channels=channels)
    frame = pd.DataFrame(_series(10), columns=["a", "b", "c"])
    with pytest.raises(ValueError, match="channels must name at least one column"):
        make_sequences(frame, 3, channels=channels)
