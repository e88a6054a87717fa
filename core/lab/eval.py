"""`keepers eval`: how well the quality engine judges photos it never saw, on ../shared/data.

The sets are split into train and test ONCE, here, by a fixed seed; models/train/quality.py trains on the train
parts only and this command scores the test parts: reference-vs-distorted pairs of the same photo, clean vs real
defect photos (AUC), per-flaw AUC of clean vs synthetically distorted photos, whether a flawed photo judged bad
names its flaw first, closed-eye precision/recall/F1. Photos go through the same analyzers and the same decide step
as a cull, not a shortcut.

`evaluate` makes the numbers, read it first; the parts: `eval_split.py` (the seeded train and test split of each
set), `eval_flaws.py` (the synthetic flaws and the reasons that name them), `eval_score.py` (one test photo through
the analyzers and the judging step, in a pool of worker processes) and `eval_report.py` (the Markdown).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from keepers.core.lab.eval_flaws import KINDS, LEVELS, NAMES
from keepers.core.lab.eval_score import _map, closed_eye_photo, score_photo
from keepers.core.lab.eval_split import DATA, clean_split, defects_split, eye_split

# every other name this module held, from the modules that now hold it: models/train, tools, tests and the other
# parts of keepers eval (core/lab/kadid*.py, falsealarms.py, prefer.py, reasons.py, measures.py) read them here
from keepers.core.lab.eval_flaws import SAVE_QUALITY, distorted, saved, variant_frame  # noqa: F401
from keepers.core.lab.eval_report import report  # noqa: F401
from keepers.core.lab.eval_score import _init, _pool_init, _state  # noqa: F401
from keepers.core.lab.eval_split import CLEAN_SETS, SEED, TEST_SHARE, _perm  # noqa: F401


def auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """P(a positive scores above a negative), ties counted half."""
    pos, neg = np.asarray(pos, float), np.asarray(neg, float)
    if not len(pos) or not len(neg):
        return float("nan")
    d = pos[:, None] - neg[None, :]
    return float(((d > 0).sum() + 0.5 * (d == 0).sum()) / d.size)


def evaluate(data: Path = DATA, every: int = 1, workers: int = 2, good_threshold: float = 5.0) -> dict:
    """All the numbers of `keepers eval` on the test parts (every `every`-th photo of each)."""
    _, clean = clean_split(data)
    _, bad = defects_split(data)
    clean, bad = clean[::every], bad[::every]
    t0 = time.time()
    scored = _map(score_photo, [(str(p), True) for p in clean] + [(str(p), False) for p in bad], workers,
                  good_threshold, "clean test photos with their distortions, and real-defect test photos")
    # each flaw's own scorer: its score for that flaw, clean originals against their flawed copies
    flaw = {kind: {lv: auc(np.array([s[f"{kind}-{lv}"][1][kind] for s in scored[: len(clean)]]),
                           np.array([s["orig"][1][kind] for s in scored[: len(clean)]])) for lv in LEVELS}
            for kind in KINDS}
    # a flawed copy judged bad: does the first of its reasons name the flaw?
    first = {kind: [bool(s[f"{kind}-{lv}"][2]) and s[f"{kind}-{lv}"][2][0] in NAMES[kind]
                    for s in scored[: len(clean)] for lv in LEVELS if s[f"{kind}-{lv}"][0] < good_threshold]
             for kind in KINDS}
    scored = [{k: v[0] for k, v in s.items()} for s in scored]  # the overall scores, from here on
    sc, sb = scored[: len(clean)], scored[len(clean):]
    orig = np.array([s["orig"] for s in sc])
    real = np.array([s["orig"] for s in sb])
    dist = [(s["orig"], v, k) for s in sc for k, v in s.items() if k != "orig"]
    out = {"photos": {"clean": len(clean), "real_defects": len(bad)},
           "pairs_right": float(np.mean([o > v for o, v, _ in dist])),
           "pairs_right_by_kind": {kind: float(np.mean([o > v for o, v, k in dist if k.startswith(kind + "-")]))
                                   for kind in KINDS},
           "clean_vs_real_defect_auc": auc(orig, real),
           "goodbad_subset_auc": auc(np.array([s["orig"] for p, s in zip(clean, sc)
                                               if p.parent.name in ("CBSD68", "McMaster")]), real),
           "real_defects_judged_bad": float((real < good_threshold).mean()),
           "clean_judged_good": float((orig >= good_threshold).mean()),
           "flaw_auc": {kind: auc(orig, np.array([v for _, v, k in dist if k.startswith(kind + "-")]))
                        for kind in KINDS},
           "flaw_auc_by_level": {kind: {lv: auc(orig, np.array([s[f"{kind}-{lv}"] for s in sc])) for lv in LEVELS}
                                 for kind in KINDS},
           # all levels pooled: the mean of the per-level AUCs, as every level has one copy of each photo
           "flaw_scorer_auc": {kind: float(np.mean(list(flaw[kind].values()))) for kind in KINDS},
           "flaw_scorer_auc_by_level": flaw,
           "first_reason_names_flaw": float(np.mean(sum(first.values(), []))),
           "first_reason_names_flaw_by_kind": {k: float(np.mean(v)) if v else float("nan") for k, v in first.items()},
           "flawed_judged_bad": {k: len(v) for k, v in first.items()}}
    _, eyes = eye_split(data)
    eyes = eyes[::every]
    said = _map(closed_eye_photo, [(str(data / "eyes" / f),) for f, _ in eyes], workers, good_threshold,
                "labelled eye test photos")
    truth = np.array([c for _, c in eyes])
    pred = np.array(said)
    tp = int((pred & truth).sum())
    p, r = tp / max(1, pred.sum()), tp / max(1, truth.sum())
    out["closed_eyes"] = {"photos": len(eyes), "precision": p, "recall": r, "f1": 2 * p * r / max(p + r, 1e-9)}
    out["seconds"] = round(time.time() - t0, 1)
    return out
