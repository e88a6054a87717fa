"""The 25 distortion types of KADID-10k at their 5 levels, and how Keepers' score orders them against people.

Written here from the published definitions (Lin, Hosu, Saupe, "KADID-10k: A Large-scale Artificially Distorted IQA
Database", QoMEX 2019: per type, the parameter at each level). KADID's photos are 512x384; the clean photos here are
about 500 px, so sizes in pixels carry over. Differences from the original: colour quantisation has no dither,
denoising is OpenCV's non-local means (KADID used DnCNN), JPEG 2000 is OpenCV's OpenJPEG at KADID's compression
ratios. The human means per type and level are ../shared/data/iqa_labels (KADID DMOS 1-5, TID2013 MOS 0-9).
`distort(rgb, type_id, level, seed)`: rgb uint8 HxWx3 -> rgb uint8; type 1..25 in KADID's order, level 1..5.

Beside it: `kadid_types.py` (the 25 types, each one's parameter at each level, the pixel operations they share),
`kadid_distort.py` (`distort`) and `kadid_copies.py` (people's means per type and level, the copy a cull reads, a
photo's copies scored); this module measures and reports (`keepers eval --only cross_flaw`).
"""

from __future__ import annotations

import numpy as np

from keepers.core.lab.kadid_copies import BLIND, EVERY, MIN_GAP, TID, human, score_copies
from keepers.core.lab.kadid_types import NAMES

# what callers import from here (core/lab/measures.py, models/train/, tests, tools/), from the modules that hold it
from keepers.core.lab.kadid_copies import LABELS, SAVED_AS_IS, copy_of  # noqa: F401
from keepers.core.lab.kadid_distort import distort  # noqa: F401
from keepers.core.lab.kadid_types import P  # noqa: F401


# --- the measure: held-out references, every type x level, judged as a cull judges; ordered as people order them --


def agreement(score: dict[tuple[int, int], float], people: dict[tuple[int, int], float], gap: float) -> float:
    """Over pairs of cells of different types whose people's means differ by `gap` or more: the share our mean
    scores order as people do (ties count half)."""
    cells = [c for c in people if c in score]
    right = n = 0.0
    for i, a in enumerate(cells):
        for b in cells[i + 1:]:
            d = people[a] - people[b]
            if a[0] != b[0] and abs(d) >= gap:
                s = score[a] - score[b]
                right += 0.5 if s == 0 else float((s > 0) == (d > 0))
                n += 1
    return right / max(n, 1)


def measure(data=None, workers: int = 2, every: int = EVERY) -> dict:
    from keepers.core.lab.eval import DATA, _map, clean_split

    data = data or DATA
    _, test = clean_split(data)
    refs = test[::every]
    scored = _map(score_copies, [(str(p),) for p in refs], workers, 5.0, "KADID copies of held-out clean photos")
    return summarise(scored, data) | {"every": every}


def summarise(scored: list[dict[str, float]], data=None) -> dict:
    cell = {(t, lv): float(np.mean([s[f"{t}-{lv}"] for s in scored])) for t in range(1, 26) for lv in range(1, 6)}
    kadid, tid = human(data), human(data, "tid2013")
    return {"photos": len(scored), "orig": float(np.mean([s["orig"] for s in scored])),
            "kadid_pairs": agreement(cell, kadid, MIN_GAP), "tid2013_pairs": agreement(cell, tid, MIN_GAP * 9 / 4),
            "kadid_pairs_seen": agreement({c: v for c, v in cell.items() if c[0] not in BLIND}, kadid, MIN_GAP),
            "cells": {f"{t}-{lv}": round(v, 3) for (t, lv), v in cell.items()},
            "human": {f"{t}-{lv}": v for (t, lv), v in kadid.items()}}


def report(m: dict) -> str:
    goal = "✓" if m["kadid_pairs"] >= 0.85 else "✗"
    lines = [f"{m['photos']} held-out clean photos (1 in {m.get('every', EVERY)} of the clean test split), each as "
             f"25 KADID types x 5 levels, judged as a cull judges (clean originals: mean {m['orig']:.2f})", "",
             "| measure | value | goal |", "|---|---|---|",
             f"| pairs of type x level cells of different types (people {MIN_GAP}+ apart) ordered as KADID-10k's "
             f"people order them | {m['kadid_pairs']:.3f} {goal} | ≥ 0.85 |",
             f"| the same against TID2013 ({len(TID)} shared types, people {MIN_GAP * 9 / 4:.2f}+ MOS apart) | "
             f"{m['tid2013_pairs']:.3f} | |",
             f"| KADID, leaving out the {len(BLIND)} types the head's inputs barely see "
             f"({', '.join(NAMES[t - 1] for t in BLIND)}) | {m['kadid_pairs_seen']:.3f} | |", "",
             "| type | people, levels 1-5 (DMOS) | Keepers, levels 1-5 |", "|---|---|---|"]
    for t, name in enumerate(NAMES, 1):
        h = " ".join(f"{m['human'][f'{t}-{lv}']:.1f}" for lv in range(1, 6))
        k = " ".join(f"{m['cells'][f'{t}-{lv}']:.1f}" for lv in range(1, 6))
        lines.append(f"| {name} | {h} | {k} |")
    return "\n".join(lines)
