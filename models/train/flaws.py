"""Train the per-flaw scorers -> models/flaw_scorers.npz and its manifest entry.

Run `.venv/bin/python models/train/flaws.py` (needs ../shared/data; about 1 min with the features cached by
models/train/quality.py, whose splits, features and RankNet fitting it shares). One scorer per synthetic flaw of
keepers.core.lab.eval (hidden 32, L2 3e-3: the quality head's shape), each ranking the clean training photos above that
flaw's copies of other photos. tools/quality_ceiling.py showed why: a single score for every flaw loses much of
what the features tell about each one (3-fold CV, noise: 0.93 for its own scorer, 0.76 in the quality head). The
scorers say which flaw a photo shows and how strongly; the head's overall score stays as it is. Each scorer's
output is put on the scale of its clean training photos: 0 = their median, +1 = one interquartile range more
flawed. The test parts are scored once, at the end.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import quality as Q  # noqa: E402  (the head's training script: splits, features, RankNet)

ROOT = Q.ROOT
OUT = ROOT / "models" / "flaw_scorers.npz"
MANIFEST = ROOT / "models" / "manifest" / "flaw_scorers.json"
HIDDEN, LAM = 32, 3e-3
PAIRS = 30_000  # random (clean, flawed) pairs per scorer


def fit_scorers(rows: Q.Rows, train: np.ndarray, seed: int = Q.SEED) -> tuple[dict, dict, dict]:
    """One scorer per flaw on the rows marked `train`: (standardisation, kind -> model, kind -> (centre, unit))."""
    from keepers.core.lab.eval import KINDS

    sel = np.flatnonzero(train)
    stats = Q.standardise(rows.blocks(sel), ["features"])
    x = Q.design(rows.blocks(sel), ["features"], stats)
    pos = np.full(len(rows.photo), -1)
    pos[sel] = np.arange(len(sel))
    clean = np.flatnonzero(train & (rows.level == 0) & (rows.real == ""))
    models, calib = {}, {}
    for j, kind in enumerate(KINDS):
        rng = np.random.default_rng(100 * seed + j)
        pr = np.stack([rng.choice(clean, PAIRS), rng.choice(np.flatnonzero(train & (rows.kind == kind)), PAIRS),
                       np.ones(PAIRS)], 1).astype(float)
        pr[:, :2] = pos[pr[:, :2].astype(int)]
        models[kind] = Q.fit_ranknet(x, pr, LAM, HIDDEN, seed=seed)
        s = Q.predict(models[kind], x[pos[clean]])  # higher = cleaner, as trained
        centre, unit = float(np.median(s)), float(np.quantile(s, 0.75) - np.quantile(s, 0.25)) + 1e-9
        calib[kind] = (centre, unit)
    return stats, models, calib


def flawness(rows: Q.Rows, stats: dict, models: dict, calib: dict) -> dict[str, np.ndarray]:
    """kind -> every row's score: 0 = the median clean training photo, higher = more of that flaw."""
    x = Q.design(rows.blocks(np.arange(len(rows.photo))), ["features"], stats)
    return {k: -(Q.predict(m, x) - calib[k][0]) / calib[k][1] for k, m in models.items()}


def own_aucs(rows: Q.Rows, f: dict[str, np.ndarray], photos: np.ndarray) -> dict[str, list[float]]:
    """kind -> its scorer's AUC at levels 1-4: the flawed copies among the rows `photos` marks against the clean
    originals among them."""
    from keepers.core.lab.eval import LEVELS, auc

    ref = photos & (rows.kind == "orig") & (rows.real == "")
    return {k: [auc(v[photos & (rows.kind == k) & (rows.level == lv)], v[ref]) for lv in LEVELS] for k, v in f.items()}


def main() -> int:
    from keepers.core.lab.eval import KINDS, auc, clean_split, defects_split
    from keepers.core.inference.runtime import sha256

    t0 = time.time()
    tr, te = clean_split()
    dtr, dte = defects_split()
    rows = Q.Rows(Q.extract_all([(p, m) for p in tr + te for m in (True, "grey")] + [(p, False) for p in dtr + dte]),
                  tr + te, dtr + dte)
    n_tr, n_all = len(tr), len(tr) + len(te)
    train = np.array([p < n_tr or n_all <= p < n_all + len(dtr) for p in rows.photo])
    stats, models, calib = fit_scorers(rows, train)
    f = flawness(rows, stats, models, calib)
    test = np.array([n_tr <= p < n_all for p in rows.photo])  # the clean test photos and their flawed copies
    ref = test & (rows.kind == "orig")
    held = {k: {"levels": [round(v, 4) for v in lv], "pooled": round(auc(f[k][test & (rows.kind == k)], f[k][ref]), 4)}
            for k, lv in own_aucs(rows, f, test).items()}
    print("held-out test (scored once), AUC of each scorer for its own flaw:", json.dumps(held), flush=True)
    arrays = {"feature_names": np.array(rows.names), "features_mean": stats["features"][0].astype(np.float32),
              "features_scale": stats["features"][1].astype(np.float32), "kinds": np.array(KINDS)}
    for k, m in models.items():
        arrays.update({f"{k}_W1": m["W1"].astype(np.float32), f"{k}_b1": m["b1"].astype(np.float32),
                       f"{k}_w2": m["w2"].astype(np.float32), f"{k}_calib": np.array(calib[k], np.float64)})
    Q.write_npz(OUT, arrays)
    entry = {
        "file": OUT.name, "sha256": sha256(OUT), "bytes": OUT.stat().st_size,
        "source": "trained here: one RankNet scorer per synthetic flaw over the quality head's features "
                  "(models/train/flaws.py)",
        "data": f"../shared/data/clean ({n_tr} train / {len(te)} test photos) with the flaws of "
                "keepers.core.lab.eval.distorted at 4 levels, read back from a q92 JPEG",
        "licence": "Apache-2.0 (weights trained by Keepers); the photos' own terms are in ../shared/data/README.md",
        "inputs": {"features": "keepers.core.analyzers.quality.head_inputs, standardised by features_mean / features_scale, "
                               "clipped to +-6"},
        "outputs": f"per kind in {list(KINDS)}: ReLU MLP (W1, b1, w2) -> s; flaw score = -(s - calib[0]) / calib[1]: "
                   "0 = the median clean training photo, + = more of that flaw",
        "training": {"seed": Q.SEED, "hidden": HIDDEN, "lambda": LAM, "pairs": f"{PAIRS} random (clean training "
                     "photo or its greyscale copy) > (that flaw's copy of any training photo, levels 1-4)"},
        "held_out": held, "recipe": "python models/train/flaws.py",
    }
    MANIFEST.write_text(json.dumps(entry, indent=1) + "\n")
    print(f"wrote {OUT.name} in {time.time() - t0:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
