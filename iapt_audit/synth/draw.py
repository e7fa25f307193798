"""Small vectorised drawing helpers shared by the generator's modules."""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def categorical(rng: np.random.Generator, mix: dict, size: int) -> np.ndarray:
    """Indices into ``list(mix)`` drawn with the mix's shares (normalised)."""
    shares = np.fromiter(mix.values(), float)
    return rng.choice(len(shares), size=size, p=shares / shares.sum())


def labels(mix: dict, index: np.ndarray) -> pa.Array:
    """The codes (keys of ``mix``) at ``index``, as an Arrow string array."""
    return pa.array(list(mix), pa.string()).take(pa.array(index))


def lognormal_days(rng: np.random.Generator, median_sigma: tuple[float, float], size: int,
                   minimum: int = 0) -> np.ndarray:
    """Whole days from a lognormal given by its median and sigma."""
    median, sigma = median_sigma
    return np.maximum(minimum, np.rint(rng.lognormal(np.log(median), sigma, size))).astype(np.int64)


def uniform_days(rng: np.random.Generator, bounds: tuple[int, int], size: int) -> np.ndarray:
    """Whole days uniform on [low, high]."""
    return rng.integers(bounds[0], bounds[1] + 1, size)


def extra_count(rng: np.random.Generator, mean_shape: tuple[float, float], size: int) -> np.ndarray:
    """Negative binomial counts with the given mean and shape (over-dispersed Poisson)."""
    mean, shape = mean_shape
    return rng.negative_binomial(shape, shape / (shape + mean), size)
