"""Scale benchmarks of the grouping and similarity code on synthetic data (`make bench`; the tests time them
too): kept out of the modules they measure."""

from __future__ import annotations

import math
import time

import cv2
import numpy as np

from keepers.core.judge import group as G
from keepers.core.search import similarity as S


def synthetic_shoot(n: int = 5000, dim: int = 1280, seed: int = 0) -> tuple[list[G.GroupInput], list[int]]:
    """A shoot of clustered embeddings with capture times: scenes of 1-10 frames, bursts 0.1-1 s apart, scenes
    5-120 s apart; a tenth of the scenes without capture time. Returns the inputs and each one's true scene."""
    rng = np.random.default_rng(seed)
    items, truth, t, scene = [], [], 1.6e9, 0
    while len(items) < n:
        size = min(n - len(items), int(rng.integers(1, 11)))
        centre = rng.standard_normal(dim).astype(np.float32)
        scene_thumb = cv2.GaussianBlur(rng.random((48, 64), np.float32), (0, 0), 2) * 255
        scene_grid = rng.uniform(-4, -1, (G.GRID, G.GRID))
        timed = rng.random() > 0.1
        for _ in range(size):
            e = centre + 0.45 * rng.standard_normal(dim).astype(np.float32)  # cosine ~0.8 within a scene
            thumb = np.clip(scene_thumb + rng.normal(0, 2, (48, 64)), 0, 255).astype(np.uint8)
            items.append(G.GroupInput(key=f"/shoot/IMG_{len(items):05d}.JPG", time=t if timed else None,
                                    camera="Cam", embedding=e, thumb=thumb,
                                    sharp_grid=scene_grid + rng.normal(0, 0.05, (G.GRID, G.GRID)),
                                    quality=float(rng.uniform(1, 10))))
            truth.append(scene)
            t += float(rng.uniform(0.1, 1.0))
        t += float(rng.uniform(5, 120))
        scene += 1
    return items, truth


def bench_group(n: int = 5000, repeat: int = 3) -> float:
    """Seconds to group `n` photos from stored embeddings (the best of `repeat` runs)."""
    items, _ = synthetic_shoot(n)
    best = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        G.group(items)
        best = min(best, time.perf_counter() - t0)
    return best


def bench_knn(n: int = 100_000, queries: int = 50, dim: int = 1280, seed: int = 0) -> dict[str, float]:
    """Time `Index.shortlist` + exact re-rank (full vectors read from SQLite, as `similar` does) over n synthetic
    clustered embeddings; recall@10 against an exhaustive search."""
    from types import SimpleNamespace

    try:
        import pysqlite3.dbapi2 as sqlite3
    except ImportError:  # pragma: no cover
        import sqlite3
    rng = np.random.default_rng(seed)
    centres = rng.gamma(0.5, 1.0, (max(n // 50, 1), dim)).astype(np.float32)  # sparse, non-negative like ReLU6
    x = np.maximum(centres[rng.integers(0, len(centres), n)] + rng.normal(0, 0.3, (n, dim)).astype(np.float32), 0)
    t0 = time.perf_counter()
    index = S.Index.fit(x)
    codes, reduced = index.encode(x)
    index.add(np.arange(n), codes, reduced)
    build = time.perf_counter() - t0
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE embeddings (photo_id INTEGER, model TEXT, vector BLOB, PRIMARY KEY (photo_id, model))")
    db.executemany("INSERT INTO embeddings VALUES (?, ?, ?)", ((i, S.MODEL, x[i].tobytes()) for i in range(n)))
    store = SimpleNamespace(db=db)
    unit = S._unit(x)
    times, recall = [], []
    for q in rng.choice(n, queries, replace=False):
        t = time.perf_counter()
        ids = index.shortlist(x[q], max(S.RERANK, 30) + 1)
        got = S._rerank(x[q], ids, lambda ids: S._vectors(store, ids), 10, int(q))
        times.append(time.perf_counter() - t)
        exact = np.argsort(-(unit @ unit[q]))[:11]
        recall.append(len({i for i, _ in got} & (set(exact.tolist()) - {int(q)})) / 10)
    return {"n": n, "build_s": round(build, 2), "query_ms_median": round(1000 * float(np.median(times)), 2),
            "query_ms_p95": round(1000 * float(np.percentile(times, 95)), 2), "recall_at_10": round(float(np.mean(recall)), 3)}
