"""The logistic kind's per-photo term (`ident`, keepers.core.taste.model): the photos that get a small credit of their
own, the kernel's width, and the fixed random sketch of a photo's embedding it is measured on."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from keepers.core.taste.features import Seen
from keepers.core.taste.model_solve import _d2

MAX_ANCHORS = 400  # photos with a term of their own, the most compared first: training stays within seconds
NEAR = 1.0  # the per-photo term's kernel falls to 1/1000 at this share of the median distance between neighbours

SKETCH = 64  # dimensions of the per-photo term's fingerprint of a photo


@lru_cache(maxsize=1)
def _projection(dim: int) -> np.ndarray:
    return np.random.default_rng(0).normal(0.0, 1.0 / np.sqrt(SKETCH), (dim, SKETCH))


def sketch(photos: list[Seen]) -> np.ndarray:
    """A fixed random projection of the whole (unit) embedding to `SKETCH` numbers: distances between photos kept
    to within ~20 % (Johnson-Lindenstrauss), where the profile's few PCA directions would let a photo unlike all
    of them (a portrait among landscapes) land next to one of them. Small enough to store with the profile."""
    E = np.stack([p.embedding for p in photos]).astype(np.float64)
    return E @ _projection(E.shape[1])


def _seen(Z: np.ndarray, pi: np.ndarray, oi: np.ndarray) -> tuple[np.ndarray, float]:
    """The photos that get a term of their own (the `MAX_ANCHORS` most compared) and the kernel's gamma: 1/1000 at
    `NEAR` of the median distance from a photo to its nearest other photo (a different photo gets ~nothing)."""
    counts = np.bincount(np.concatenate([pi, oi]), minlength=len(Z))
    S = Z[np.sort(np.argsort(-counts, kind="stable")[:MAX_ANCHORS])]
    d2 = _d2(Z, S)
    d2[d2 < 1e-12] = np.inf  # a photo itself (or an exact copy) is not its neighbour
    nn = np.min(d2, 1)
    nn = nn[np.isfinite(nn)]
    ref = float(np.median(nn)) if len(nn) else 1.0
    return S, float(np.log(1000.0) / max(NEAR * NEAR * ref, 1e-12))
