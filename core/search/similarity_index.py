"""The image index in memory: the search's constants, the PCA basis fitted to the catalog's embeddings, each
photo's 512-bit code and 128-d reduced vector, the Hamming shortlist re-ranked by the reduced vectors, and the
final re-rank by cosine distance over the full embeddings."""

from __future__ import annotations

from typing import Iterable

import numpy as np

MODEL = "embedding"  # embeddings.model key: the analyzer that stores the vectors
TAGS = "tags"  # the analyzer whose data["top"] holds [wnid, probability] pairs
BITS, DIMS = 512, 128
SHORTLIST, RERANK = 1000, 50
REFIT_GROWTH = 4
SEED = 0



def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


class Index:
    """The searchable form of N embeddings: ids, 512-bit codes, 128-d reduced vectors, and the fitted basis."""

    def __init__(self, mean: np.ndarray, basis: np.ndarray):
        self.mean, self.basis = mean.astype(np.float32), basis.astype(np.float32)  # [1280], [1280, DIMS]
        self.projection = np.random.default_rng(SEED).standard_normal((DIMS, BITS)).astype(np.float32)
        self.ids = np.zeros(0, np.int64)
        self.codes = np.zeros((BITS // 64, 0), np.uint64)  # word-major: popcount one word of every photo at a time
        self.reduced = np.zeros((0, DIMS), np.float32)

    @classmethod
    def fit(cls, vectors: np.ndarray) -> "Index":
        """Centre and PCA basis from (a sample of) the embeddings themselves."""
        x = _unit(vectors)
        if len(x) > 20_000:
            x = x[np.random.default_rng(SEED).choice(len(x), 20_000, replace=False)]
        mean = x.mean(0)
        xc = x - mean
        # principal axes from the 1280x1280 covariance (an SVD of the float32 data matrix took 20 s here)
        _, vectors = np.linalg.eigh((xc.T @ xc).astype(np.float64))
        basis = np.ascontiguousarray(vectors[:, ::-1][:, :DIMS], np.float32)
        rank = min(DIMS, len(x) - 1)
        basis[:, max(rank, 0):] = 0  # a small catalog has fewer real components: the rest would be noise
        return cls(mean, basis)

    def encode(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Full embeddings [N, 1280] -> (codes uint8 [N, BITS/8], reduced unit vectors [N, DIMS])."""
        r = (_unit(np.atleast_2d(vectors)) - self.mean) @ self.basis
        return np.packbits(r @ self.projection > 0, axis=1), _unit(r)

    def add(self, ids: np.ndarray, codes: np.ndarray, reduced: np.ndarray) -> None:
        self.ids = np.concatenate([self.ids, np.asarray(ids, np.int64)])
        words = np.ascontiguousarray(codes, np.uint8).view(np.uint64).T
        self.codes = np.ascontiguousarray(np.concatenate([self.codes, words], axis=1))
        self.reduced = np.concatenate([self.reduced, reduced.astype(np.float32)])

    def shortlist(self, vector: np.ndarray, n: int) -> np.ndarray:
        """Ids of the n nearest by Hamming distance, then re-ranked by the reduced vectors."""
        code, red = self.encode(vector)
        if len(self.ids) > SHORTLIST:
            q = code.view(np.uint64)[0]
            ham = np.bitwise_count(self.codes[0] ^ q[0]).astype(np.uint16)
            for w in range(1, len(q)):  # word by word: 4x faster than popcount over [N, 8] then a row sum
                ham += np.bitwise_count(self.codes[w] ^ q[w])
            cand = np.argpartition(ham, SHORTLIST)[:SHORTLIST]
        else:
            cand = np.arange(len(self.ids))
        sims = self.reduced[cand] @ red[0]
        best = cand[np.argsort(-sims, kind="stable")[:n]]
        return self.ids[best]


def _rerank(vector: np.ndarray, ids: Iterable[int], vectors_of, k: int, exclude: int | None):
    ids = [int(i) for i in ids if i != exclude]
    if not ids:
        return []
    vecs = vectors_of(ids)
    keep = [i for i in ids if i in vecs]
    if not keep:
        return []
    d = 1.0 - _unit(np.stack([vecs[i] for i in keep])) @ _unit(vector)
    order = np.argsort(d, kind="stable")[:k]
    return [(keep[j], round(float(d[j]), 6)) for j in order]
