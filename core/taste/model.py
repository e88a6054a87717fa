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

Beside it: `model_utility.py` (the trained `Model`: a photo's vector, the utility, the JSON in a profile),
`model_ident.py` (the per-photo term: which photos get one, its kernel's width, a photo's sketch) and
`model_solve.py` (the solvers: pairwise logistic by Newton, RankNet by Adam, the penalties, the RBF kernel); this
module trains (`fit`) and measures (`agreement`, `cross_validated`).
"""

from __future__ import annotations

import numpy as np

from keepers.core.taste.features import Seen
from keepers.core.taste.model_ident import _seen, sketch
from keepers.core.taste.model_solve import _pairwise_logistic, _penalties, _ranknet, _rbf
from keepers.core.taste.model_utility import Model

# what callers import from here (core/taste/explain.py, store.py, tests, tools/), from the modules that hold it
from keepers.core.taste.model_ident import MAX_ANCHORS, NEAR, SKETCH  # noqa: F401

# chosen by tools/taste_eval.py: 5-fold cross-validation on the first halves of flowers and holidays (docs/eval.md,
# Taste); the analyzers' measurements lowered it (0.595 against 0.623 at k 8), so the embedding alone. `white`: the
# PCA directions are divided by their spread to this power (1: whitened). `ident`: the per-photo term's L2 penalty
DEFAULT = {"kind": "logistic", "k": 16, "lam": 1.0, "measures": False, "white": 0.75, "ident": 0.3}


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
