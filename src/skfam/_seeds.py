"""The one place where seeds are resolved and derived.

An estimator's ``random_state`` is resolved once in ``fit`` (``None`` takes ``base_seed`` from
the SST) and stored as ``random_state_``. Every internal random stream then gets its own
seed, derived from that int and the stream's name with :class:`numpy.random.SeedSequence`, so
streams are independent of each other and of the order in which they are consumed.
"""

from __future__ import annotations

import zlib
from numbers import Integral

import numpy as np

from ._sst import load_defaults

__all__ = ["STREAMS", "derive_seed", "resolve_random_state"]

#: Names of the internal random streams. A family may only derive seeds for these.
STREAMS = (
    "model",  # the library's own seed (LightGBM seed, XGBoost seed, ...)
    "init",  # torch weight initialisation
    "loader",  # batch shuffling of the DataLoader
    "split",  # internal validation split
    "dropout",  # dropout masks and other training-time torch randomness
    "subsample",  # row / column subsampling done by skfam itself
    "cv",  # inner cross-validation folds
    "members",  # seeds handed to members of an ensemble
    "experts",  # seeds handed to the experts of a regime family (change_point, gmm_regime)
    "order",  # the order of the rows in each pass of an online learner (ftrl_proximal)
    "noise",  # the noise a generative net predicts from (gan: the fixed predictive draws)
    "adapt",  # training-time randomness of a fine-tuning step (meta_learning's adapt)
)


def resolve_random_state(random_state: int | np.random.RandomState | None) -> int:
    """Return the int seed an estimator uses for ``random_state``.

    Parameters
    ----------
    random_state : int, RandomState instance or None
        None takes ``base_seed`` from the SST (``configs/defaults.yaml`` or
        :func:`skfam.set_config`); an int is used as is; a RandomState instance gives one
        draw, as scikit-learn does.

    Returns
    -------
    seed : int
        In ``[0, 2**32)``.
    """
    if random_state is None:
        return int(load_defaults()["base_seed"])
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(np.iinfo(np.int32).max))
    if isinstance(random_state, Integral) and not isinstance(random_state, bool):
        if not 0 <= int(random_state) < 2**32:
            raise ValueError(f"random_state must lie in [0, 2**32), got {random_state}.")
        return int(random_state)
    raise ValueError(
        f"random_state must be None, an int or a numpy RandomState, got {random_state!r}."
    )


def derive_seed(seed: int, stream: str, index: int = 0) -> int:
    """Return the seed of ``stream`` (and its ``index``-th member) derived from ``seed``.

    Parameters
    ----------
    seed : int
        The estimator's ``random_state_``.
    stream : str
        One of :data:`STREAMS`.
    index : int, default=0
        Distinguishes several consumers of one stream (e.g. ensemble members).

    Returns
    -------
    derived : int
        In ``[0, 2**31)``, which every library of the project accepts.

    Examples
    --------
    >>> from skfam._seeds import derive_seed
    >>> derive_seed(42, "model") == derive_seed(42, "model") != derive_seed(42, "split")
    True
    """
    if stream not in STREAMS:
        raise ValueError(f"Unknown random stream {stream!r}; known: {STREAMS}.")
    sequence = np.random.SeedSequence(seed, spawn_key=(zlib.crc32(stream.encode()), index))
    return int(sequence.generate_state(1, dtype=np.uint32)[0] >> 1)
