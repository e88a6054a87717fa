"""How much of the per-flaw AUC goals the quality head's features hold, and what one score for every flaw keeps.

`keepers eval` asks one score to rank every clean photo above every flawed one, flaw by flaw (AUC >= 0.95 for blur,
noise, under- and over-exposure). This tool separates two causes of missing that: the features, and the single
score. On the training photos only (3-fold, the folds of models/train/quality.py; the test parts are not read), it
fits for each flaw a dedicated RankNet scorer (hidden 32, L2 3e-3, the shipped head's shape) ranking clean photos
above that flaw's copies of other photos, then prints:
- each dedicated scorer's AUC for its own flaw, per level: what the features can tell;
- the AUCs of one score made of all of them (the least clean-looking of the ten, after putting each on the scale
  of its clean photos): what a single score keeps once every detector's false alarms on clean photos count.

    .venv/bin/python tools/quality_ceiling.py       (about 2 min; features from the training script's cache)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "models" / "train"))

import flaws as F  # noqa: E402  (models/train/flaws.py: the per-flaw scorers' training)
import quality as Q  # noqa: E402  (models/train/quality.py: the head's training script)

from keepers.core.lab.eval import KINDS, clean_split, defects_split  # noqa: E402


def main() -> int:
    t0 = time.time()
    tr, _ = clean_split()
    dtr, _ = defects_split()
    rows = Q.Rows(Q.extract_all([(p, m) for p in tr for m in (True, "grey")] + [(p, False) for p in dtr]), tr, dtr)
    ids = list(range(len(tr) + len(dtr)))
    fold = dict(zip(ids, np.random.default_rng(Q.SEED).permutation(len(ids)) % Q.FOLDS))
    own = np.zeros((Q.FOLDS, len(KINDS), 4))
    combined = []
    for k in range(Q.FOLDS):
        held = np.array([fold[int(p)] == k for p in rows.photo])
        f = F.flawness(rows, *F.fit_scorers(rows, ~held, seed=k))
        levels = F.own_aucs(rows, f, held)
        own[k] = [levels[kind] for kind in KINDS]
        # one score: the flaw a photo shows most, each scorer on the scale of its clean photos; higher = better
        combined.append(Q.metrics(rows, -np.max(list(f.values()), axis=0), {p for p in ids if fold[p] == k}))
        print(f"fold {k + 1}/{Q.FOLDS} ({time.time() - t0:.0f} s)", flush=True)
    print("\ndedicated scorer, its own flaw: AUC clean vs flawed, levels 1-4 (pooled)")
    for j, kind in enumerate(KINDS):
        lv = own[:, j].mean(0)
        print(f"  {kind:22s} " + " ".join(f"{v:.3f}" for v in lv) + f"   ({lv.mean():.3f})")
    m = {key: float(np.mean([c[key] for c in combined])) for key in combined[0]}
    print("\none score, the least clean-looking of the ten:")
    print(f"  pairs {m['pairs']:.3f}, clean vs real defects {m['real_auc']:.3f}; per flaw: "
          + ", ".join(f"{kind} {m['auc_' + kind]:.3f}" for kind in KINDS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
