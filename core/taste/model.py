"""The personal ranking model: from pairs (preferred, other) of photos, a utility u(photo) such that the preferred
photo of a pair tends to have the higher u. Three kinds, all small enough to train in well under a second on the
CPU from a few hundred choices (tools/taste_eval.py chose among them by cross-validation on first halves):

- `logistic`: pairwise logistic regression on the difference of the two photos' vectors (the embedding reduced by
  PCA fitted on the profile's own photos, plus the analyzers' standardised measurements), strongly L2-regularised.
  Linear, so its direction can be read back as words (keepers.core.taste.explain).
- `kernel`: the same on RBF-kernel similarities to the training photos (a kernel ranker).
- `ranknet`: a one-hidden-layer network trained on pairs (RankNet), weight decay.

The logistic kind adds a per-photo term (`ident`): each photo the person has chosen between gets its own small credit,
on an RBF that falls to 1/1000 at the usual distance from a photo to its nearest other photo, so what a choice said
of a photo (and of a near copy of it: a frame of the same burst, the same scene) is kept where the embedding's few
directions miss it; a photo unlike any they chose between gets nothing from it. Chosen by 5-fold cross-validation on
the first halves of taste/flowers and taste/holidays (docs/eval.md, Taste): 0.631 -> 0.647 and 0.692 -> 0.727;
the second halves, scored once, moved less: 0.626 -> 0.632 and 0.688 -> 0.696.

The utility is standardised over the training photos (unit spread), so "+1" means one spread of this person's
taste, whatever the kind. numpy only: a few hundred pairs need no framework.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from keepers.core.taste.features import Seen

# chosen by tools/taste_eval.py: 5-fold cross-validation on the first halves of flowers and holidays (docs/eval.md,
# Taste); the analyzers' measurements lowered it (0.595 against 0.623 at k 8), so the embedding alone. `white`: the
# PCA directions are divided by their spread to this power (1: whitened). `ident`: the per-photo term's L2 penalty
DEFAULT = {"kind": "logistic", "k": 16, "lam": 1.0, "measures": False, "white": 0.75, "ident": 0.3}
MAX_ANCHORS = 400  # photos with a term of their own, the most compared first: training stays within seconds
NEAR = 1.0  # the per-photo term's kernel falls to 1/1000 at this share of the median distance between neighbours


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # stable for large |z|


@dataclass
class Model:
    params: dict[str, Any]  # the hyper-parameters it was trained with
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    keys: list[str] = field(default_factory=list)  # the measurements it reads, in order

    # --- photo -> vector -------------------------------------------------------------------------------------------
    def vectors(self, photos: list[Seen]) -> np.ndarray:
        a = self.arrays
        E = np.stack([p.embedding for p in photos]).astype(np.float64)
        Z = (E - a["mean"]) @ a["components"].T / a["pc_scale"]
        if self.keys:
            M = np.array([[p.measures.get(k, np.nan) for k in self.keys] for p in photos], np.float64)
            M = (M - a["m_mean"]) / a["m_std"]
            Z = np.hstack([Z, np.nan_to_num(np.clip(M, -4, 4))])  # a measurement missing for a photo counts as average
        return Z

    def _raw(self, Z: np.ndarray, photos: list[Seen]) -> np.ndarray:
        a, kind = self.arrays, self.params["kind"]
        own = _rbf(sketch(photos), a["seen"], a["seen_gamma"]) @ a["v"] if "v" in a else 0.0  # the per-photo term
        if kind == "logistic":
            return Z @ a["w"] + own
        if kind == "kernel":
            return _rbf(Z, a["anchors"], a["gamma"]) @ a["w"] + own
        h = np.tanh(Z @ a["W1"] + a["b1"])
        return h @ a["w2"] + own

    def utility(self, photos: list[Seen]) -> np.ndarray:
        """Standardised personal utility of each photo (0: this person's average photo, 1: one spread better)."""
        if not photos:
            return np.zeros(0)
        return (self._raw(self.vectors(photos), photos) - self.arrays["u_mean"]) / self.arrays["u_std"]

    def to_json(self) -> dict:
        return {"params": self.params, "keys": self.keys,
                "arrays": {k: np.asarray(v).tolist() for k, v in self.arrays.items()}}

    @classmethod
    def from_json(cls, d: dict) -> "Model":
        return cls(dict(d["params"]), {k: np.asarray(v, np.float64) for k, v in d["arrays"].items()}, list(d["keys"]))


def _d2(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Squared distances between the rows of A and of B (never below 0 from rounding)."""
    return np.maximum((A * A).sum(1)[:, None] + (B * B).sum(1)[None, :] - 2 * A @ B.T, 0.0)


def _rbf(A: np.ndarray, B: np.ndarray, gamma: float) -> np.ndarray:
    return np.exp(-float(gamma) * _d2(A, B))


def _pairwise_logistic(D: np.ndarray, lam, iters: int = 30) -> np.ndarray:
    """argmin_w sum log(1 + exp(-D w)) + 1/2 sum lam w^2, by Newton's method (D: preferred minus other; lam: one
    penalty, or one per column)."""
    w = np.zeros(D.shape[1])
    lam = np.broadcast_to(np.asarray(lam, np.float64), w.shape)
    for _ in range(iters):
        p = _sigmoid(D @ w)
        g = -D.T @ (1 - p) + lam * w
        H = (D * (p * (1 - p))[:, None]).T @ D + np.diag(lam)
        step = np.linalg.solve(H, g)
        w -= step
        if np.abs(step).max() < 1e-6:
            break
    return w


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


def _ranknet(Z: np.ndarray, pi: np.ndarray, oi: np.ndarray, hidden: int, lam: float, epochs: int = 300,
             seed: int = 0) -> dict[str, np.ndarray]:
    """RankNet: u(x) = w2 . tanh(W1 x + b1), trained full-batch with Adam on -log sigmoid(u(pref) - u(other))."""
    rng = np.random.default_rng(seed)
    P = {"W1": rng.normal(0, 1 / np.sqrt(Z.shape[1]), (Z.shape[1], hidden)), "b1": np.zeros(hidden),
         "w2": rng.normal(0, 1 / np.sqrt(hidden), hidden)}
    m = {k: np.zeros_like(v) for k, v in P.items()}
    v2 = {k: np.zeros_like(v) for k, v in P.items()}
    lr, n = 0.01, len(pi)
    for t in range(1, epochs + 1):
        H = np.tanh(Z @ P["W1"] + P["b1"])
        u = H @ P["w2"]
        g_u = np.zeros(len(Z))
        r = -(1 - _sigmoid(u[pi] - u[oi])) / n
        np.add.at(g_u, pi, r)
        np.add.at(g_u, oi, -r)
        G = {"w2": H.T @ g_u + lam * P["w2"] / n}
        gH = np.outer(g_u, P["w2"]) * (1 - H * H)
        G["W1"], G["b1"] = Z.T @ gH + lam * P["W1"] / n, gH.sum(0)
        for k in P:  # Adam
            m[k] = 0.9 * m[k] + 0.1 * G[k]
            v2[k] = 0.999 * v2[k] + 0.001 * G[k] ** 2
            P[k] -= lr * (m[k] / (1 - 0.9 ** t)) / (np.sqrt(v2[k] / (1 - 0.999 ** t)) + 1e-8)
    return P


def _penalties(params: dict, columns: int, measured: int) -> np.ndarray:
    """The L2 penalty of each column: the embedding's `lam`, the measurements' `lam_m` (default `lam`)."""
    lam = float(params["lam"])
    return np.concatenate([np.full(columns - measured, lam), np.full(measured, float(params.get("lam_m", lam)))])


def fit(pairs: list[tuple[Seen, Seen]], params: dict | None = None) -> Model:
    """Train on (preferred, other) pairs. Raises ValueError with fewer than 2 pairs."""
    params = {**DEFAULT, **(params or {})}
    if len(pairs) < 2:
        raise ValueError("a taste needs at least 2 choices")
    photos, index = [], {}
    for p in (x for pair in pairs for x in pair):
        if id(p) not in index:
            index[id(p)] = len(photos)
            photos.append(p)
    pi = np.array([index[id(a)] for a, _ in pairs])
    oi = np.array([index[id(b)] for _, b in pairs])
    E = np.stack([p.embedding for p in photos]).astype(np.float64)
    mean = E.mean(0)
    # PCA of the profile's own photos: the directions in which they differ (at most one fewer than the photos)
    # through the photos' Gram matrix (n x n, n a few hundred): an SVD of the n x 1280 matrix took 0.75 s here
    X = E - mean
    ev, V = np.linalg.eigh(X @ X.T)
    order = np.argsort(ev)[::-1]
    k = max(1, min(int(params["k"]), len(photos) - 1))
    ev, V = np.maximum(ev[order[:k]], 1e-12), V[:, order[:k]]
    components = (X.T @ V / np.sqrt(ev)).T  # unit-length principal directions
    pc_scale = np.maximum(np.sqrt(ev / max(1, len(photos) - 1)), 1e-6)  # whitened: each direction one spread
    pc_scale = pc_scale ** float(params.get("white", 1.0))  # less than whitened: the wider directions count more
    model = Model(params, {"mean": mean, "components": components, "pc_scale": pc_scale})
    if params.get("measures"):
        want = params["measures"]  # True: every measurement; a string: those whose name starts with it ("look.")
        keys = sorted({k for p in photos for k in p.measures if want is True or k.startswith(want)})
        M = np.array([[p.measures.get(k, np.nan) for k in keys] for p in photos], np.float64)
        std = np.nanstd(M, 0)
        ok = np.isfinite(std) & (std > 1e-9)
        model.keys = [k for k, good in zip(keys, ok) if good]
        model.arrays["m_mean"], model.arrays["m_std"] = np.nanmean(M[:, ok], 0), std[ok]
    Z = model.vectors(photos)
    kind = params["kind"]
    if kind == "logistic" and params.get("ident") is not None:
        X = sketch(photos)
        S, gamma = _seen(X, pi, oi)
        K = _rbf(X, S, gamma)
        D = np.hstack([Z[pi] - Z[oi], K[pi] - K[oi]])
        pen = np.concatenate([_penalties(params, Z.shape[1], len(model.keys)), np.full(len(S), float(params["ident"]))])
        wv = _pairwise_logistic(D, pen)
        model.arrays.update(w=wv[:Z.shape[1]], v=wv[Z.shape[1]:], seen=S, seen_gamma=np.array(gamma))
    elif kind == "logistic":
        model.arrays["w"] = _pairwise_logistic(Z[pi] - Z[oi], _penalties(params, Z.shape[1], len(model.keys)))
    elif kind == "kernel":
        gamma = float(params.get("gamma", 1.0)) / Z.shape[1]
        K = _rbf(Z, Z, gamma)
        model.arrays.update(anchors=Z, gamma=np.array(gamma),
                            w=_pairwise_logistic(K[pi] - K[oi], float(params["lam"])))
    elif kind == "ranknet":
        model.arrays.update(_ranknet(Z, pi, oi, int(params.get("hidden", 16)), float(params["lam"])))
    else:
        raise ValueError(f"unknown taste model kind {kind!r}")
    u = model._raw(Z, photos)
    model.arrays["u_mean"], model.arrays["u_std"] = np.array(u.mean()), np.array(max(float(u.std()), 1e-9))
    return model


def agreement(model: Model, pairs: list[tuple[Seen, Seen]]) -> float:
    """Share of pairs whose preferred photo the model ranks higher (a tie counts half)."""
    if not pairs:
        return float("nan")
    ua = model.utility([a for a, _ in pairs])
    ub = model.utility([b for _, b in pairs])
    return float(np.mean(np.where(ua > ub, 1.0, np.where(ua == ub, 0.5, 0.0))))


def cross_validated(pairs: list[tuple[Seen, Seen]], params: dict | None = None, folds: int = 5) -> float | None:
    """Held-out agreement: trained on all folds but one, tested on that one, in turn (None with too few pairs)."""
    if len(pairs) < 2 * folds:
        return None
    hits, n = 0.0, 0
    for f in range(folds):
        train = [p for i, p in enumerate(pairs) if i % folds != f]
        test = [p for i, p in enumerate(pairs) if i % folds == f]
        hits += agreement(fit(train, params), test) * len(test)
        n += len(test)
    return hits / n
