"""How the taste model's weights are found (keepers.core.taste.model's `fit`): the pairwise logistic regression by
Newton's method, RankNet by Adam, each column's L2 penalty, and the distances and RBF kernel they share. numpy only."""

from __future__ import annotations

import numpy as np


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # stable for large |z|


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
