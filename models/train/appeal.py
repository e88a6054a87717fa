"""Train the "people prefer" head: what most people choose between two sound photos -> models/appeal_head.npz.

A pairwise logistic ranker on the EfficientNet-Lite0 embedding (L2-normalised, PCA-whitened to `k` directions),
strongly L2-regularised, learned from ../shared/data/taste: flowers (22 people chose the prettier of the same 400
pairs: the MAJORITY per pair is the label) and holidays (10 people's choices between INRIA Holidays scenes, pooled:
each choice one row). Held out by PHOTOS: photos are split into folds first, a pair trains only if both its photos
are training photos and tests only if both are test photos. `k` and `lam` are chosen by photo-split
cross-validation inside the training photos only; `held_out()` is the protocol core/lab/prefer.py reports.

    .venv/bin/python models/train/appeal.py [--catalog PATH]   (photos analysed once into that catalog)

numpy only; the runtime (keepers.core.analyzers.appeal) reads the npz and does one 1280 x k product.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"
OUT = ROOT / "models" / "appeal_head.npz"
MANIFEST = ROOT / "models" / "manifest" / "appeal_head.json"
CACHE = Path.home() / ".cache" / "keepers" / "appeal"
SEED = 0
FOLDS = 3  # photo folds: a third of the photos held out at a time (pairs inside them tested)
GRID = [(k, lam) for k in (8, 16, 32, 64) for lam in (1.0, 10.0, 100.0)]
CLEAR = 15  # of 22 people: a flower pair with a clear majority


# --- the choices -------------------------------------------------------------------------------------------------

def flower_votes(data: Path = DATA) -> dict[tuple[str, str], list[int]]:
    """(photo a, photo b) with a < b -> [votes for a, votes for b] over the 22 people."""
    d = data / "taste" / "flowers"
    votes: dict[tuple[str, str], list[int]] = {}
    for r in csv.DictReader(open(d / "pairwise_choices.csv")):
        w, l = str(d / "images" / r["winner"]), str(d / "images" / r["loser"])
        a, b = sorted((w, l))
        votes.setdefault((a, b), [0, 0])[0 if w == a else 1] += 1
    return votes


def holiday_votes(data: Path = DATA) -> dict[tuple[str, str], list[int]]:
    """The same for holidays, pooled over its 10 people (only choices whose two photos are present)."""
    d = data / "taste" / "holidays"
    files = {r["id"]: str(d / r["file"]) for r in csv.DictReader(open(d / "manifest.csv")) if r["present"] == "1"}
    votes: dict[tuple[str, str], list[int]] = {}
    for f in sorted((d / "labels").glob("user*.txt")):
        for line in f.read_text().splitlines():
            ids = line.strip().split(",")
            if len(ids) != 2 or ids[0] not in files or ids[1] not in files or ids[0] == ids[1]:
                continue
            w, l = files[ids[0]], files[ids[1]]
            a, b = sorted((w, l))
            votes.setdefault((a, b), [0, 0])[0 if w == a else 1] += 1
    return votes


def rows(votes: dict, mode: str) -> list[tuple[str, str, float]]:
    """Training rows (preferred, other, weight): `majority` one row per pair with a majority; `pooled` one per
    choice (a pair split 3:2 gives 3 rows one way, 2 the other)."""
    out = []
    for (a, b), (x, y) in votes.items():
        if mode == "majority":
            if x != y:
                out.append((a, b, 1.0) if x > y else (b, a, 1.0))
        else:
            out += [(a, b, float(x))] * (x > 0) + [(b, a, float(y))] * (y > 0)
    return out


# --- the model ---------------------------------------------------------------------------------------------------

def unit(E: np.ndarray) -> np.ndarray:
    E = np.asarray(E, np.float64)
    return E / np.maximum(np.linalg.norm(E, axis=-1, keepdims=True), 1e-12)


def fit(emb: dict[str, np.ndarray], train: list[tuple[str, str, float]], k: int, lam: float) -> dict[str, np.ndarray]:
    """PCA (whitened) on the training rows' photos, then argmin sum w log(1 + exp(-d.v)) + lam/2 |v|^2 (Newton)."""
    photos = sorted({p for a, b, _ in train for p in (a, b)})
    X = unit(np.stack([emb[p] for p in photos]))
    mean = X.mean(0)
    _, s, Vt = np.linalg.svd(X - mean, full_matrices=False)
    k = min(k, len(photos) - 1)
    comp, scale = Vt[:k], np.maximum(s[:k] / np.sqrt(max(1, len(photos) - 1)), 1e-6)
    Z = dict(zip(photos, (X - mean) @ comp.T / scale))
    D = np.stack([Z[a] - Z[b] for a, b, _ in train])
    wt = np.array([w for _, _, w in train])
    v = np.zeros(k)
    for _ in range(40):
        p = 1 / (1 + np.exp(-D @ v))
        g = -D.T @ (wt * (1 - p)) + lam * v
        H = (D * (wt * p * (1 - p))[:, None]).T @ D + lam * np.eye(k)
        step = np.linalg.solve(H, g)
        v -= step
        if np.abs(step).max() < 1e-7:
            break
    u = np.array(list(Z.values())) @ v
    # projected once: u = (unit(e) - mean) . w ; standardised over the training photos (one spread = 1)
    return {"mean": mean, "w": comp.T @ (v / scale), "u_mean": np.array(u.mean()), "u_std": np.array(u.std() or 1.0)}


def utility(head: dict[str, np.ndarray], E: np.ndarray) -> np.ndarray:
    return ((unit(E) - head["mean"]) @ head["w"] - head["u_mean"]) / head["u_std"]


def folds_of(photos: list[str], k: int = FOLDS, seed: int = SEED) -> dict[str, int]:
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(photos))
    return {photos[i]: j % k for j, i in enumerate(order)}


def agreement(head, emb, votes: dict, pairs: list[tuple[str, str]]) -> tuple[int, int]:
    """(pairs ordered the majority's way, pairs) among `pairs` with a strict majority."""
    hit = n = 0
    for a, b in pairs:
        x, y = votes[(a, b)]
        if x == y:
            continue
        ua, ub = utility(head, np.stack([emb[a], emb[b]]))
        n += 1
        hit += (ua > ub) == (x > y)
    return hit, n


SETS = {"flowers": ("majority", 1.0), "holidays": ("pooled", 1.0)}


def train_rows(votes_by_set: dict, keep) -> list[tuple[str, str, float]]:
    out = []
    for name, votes in votes_by_set.items():
        mode, w = SETS[name]
        out += [(a, b, w * x) for a, b, x in rows({p: v for p, v in votes.items() if keep(*p)}, mode)]
    return out


def choose(emb, votes_by_set: dict, photos: set[str], seed: int = SEED) -> tuple[tuple[int, float], float]:
    """(k, lam) with the best photo-split cross-validated agreement inside `photos` (flowers' clear pairs and
    holidays' majority pairs, each set's agreement averaged)."""
    fold = folds_of(sorted(photos), FOLDS, seed + 1)
    best = None
    for k, lam in GRID:
        per_set = {s: [0, 0] for s in votes_by_set}
        for f in range(FOLDS):
            tr = train_rows(votes_by_set, lambda a, b: a in fold and b in fold and fold[a] != f and fold[b] != f)
            head = fit(emb, tr, k, lam)
            for s, votes in votes_by_set.items():
                test = [p for p in votes if all(x in fold and fold[x] == f for x in p)]
                h, n = agreement(head, emb, votes, test)
                per_set[s][0] += h
                per_set[s][1] += n
        score = float(np.mean([h / max(1, n) for h, n in per_set.values()]))
        if best is None or score > best[1] + 1e-9:
            best = ((k, lam), score)
    return best


def held_out(emb: dict[str, np.ndarray], data: Path = DATA, seed: int = SEED) -> dict:
    """The outer protocol: photos in FOLDS folds; per fold, (k, lam) chosen by CV on the other folds' photos, a
    head trained on their pairs, tested on the pairs whose two photos are both in the fold. Returns per set the
    pairs tested, as (a, b, votes, the held-out head's utility difference), and `utility`: each photo's utility
    by the head of the fold that held it out (every photo is held out once)."""
    votes_by_set = {"flowers": flower_votes(data), "holidays": holiday_votes(data)}
    votes_by_set = {s: {p: v for p, v in vs.items() if p[0] in emb and p[1] in emb} for s, vs in votes_by_set.items()}
    photos = sorted({x for vs in votes_by_set.values() for p in vs for x in p})
    fold = folds_of(photos, FOLDS, seed)
    out = {s: [] for s in votes_by_set}
    chosen, held = [], {}
    for f in range(FOLDS):
        train_photos = {p for p in photos if fold[p] != f}
        (k, lam), cv = choose(emb, votes_by_set, train_photos, seed)
        chosen.append({"k": k, "lam": lam, "cv": round(cv, 3)})
        head = fit(emb, train_rows(votes_by_set, lambda a, b: a in train_photos and b in train_photos), k, lam)
        test = [p for p in photos if fold[p] == f]
        held |= dict(zip(test, map(float, utility(head, np.stack([emb[p] for p in test])))))
        for s, votes in votes_by_set.items():
            out[s] += [(a, b, tuple(votes[(a, b)]), held[a] - held[b]) for a, b in votes if fold[a] == f == fold[b]]
    return {"pairs": out, "chosen": chosen, "utility": held}


def summary(pairs: list[tuple[str, str, tuple[int, int], float]], clear: int = 0) -> tuple[int, int]:
    """(ordered the majority's way, pairs with a majority of at least `clear` votes, strict)."""
    hit = n = 0
    for _, _, (x, y), d in pairs:
        if x == y or max(x, y) < clear:
            continue
        n += 1
        hit += (d > 0) == (x > y)
    return hit, n


# --- the photos, through the one data path ----------------------------------------------------------------------

def embeddings(paths: list[str], catalog_path: Path) -> dict[str, np.ndarray]:
    """path -> raw embedding, as a cull computes it (analysed once into `catalog_path`, read back after)."""
    from keepers.core.io.catalog import Catalog
    from keepers.core.pipeline import Cull
    from keepers.core.settings import Settings

    catalog_path.parent.mkdir(parents=True, exist_ok=True)
    settings = Settings.load(catalog=catalog_path)
    out = {}
    for r in Cull(settings, Catalog(settings.catalog), dry_run=True).run(paths):
        e = next((f.data.get("embedding") for f in r.findings if f.analyzer == "embedding"), None)
        if e is not None:
            out[r.photo.path] = np.asarray(e, np.float32)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--catalog", type=Path, default=CACHE / "catalog.db")
    args = ap.parse_args(argv)
    fv, hv = flower_votes(), holiday_votes()
    paths = sorted({x for vs in (fv, hv) for p in vs for x in p})
    emb = embeddings(paths, args.catalog)
    report = held_out(emb)
    result = {s: summary(report["pairs"][s], CLEAR if s == "flowers" else 0) for s in report["pairs"]}
    print("held out (photos):", {s: f"{h}/{n} = {h / max(1, n):.3f}" for s, (h, n) in result.items()},
          "chosen per fold:", report["chosen"])
    votes_by_set = {"flowers": {p: v for p, v in fv.items() if all(x in emb for x in p)},
                    "holidays": {p: v for p, v in hv.items() if all(x in emb for x in p)}}
    (k, lam), cv = choose(emb, votes_by_set, set(emb))
    head = fit(emb, train_rows(votes_by_set, lambda a, b: True), k, lam)
    np.savez(OUT, **{n: np.asarray(v, np.float32) for n, v in head.items()})
    MANIFEST.write_text(json.dumps({
        "file": OUT.name, "sha256": hashlib.sha256(OUT.read_bytes()).hexdigest(), "bytes": OUT.stat().st_size,
        "source": "trained here: pairwise logistic ranker over efficientnet_lite0 features (models/train/appeal.py)",
        "data": "../shared/data/taste: flowers (22 people x 400 pairs, majority per pair) and holidays (10 people's "
                "choices, pooled)",
        "licence": "Apache-2.0 (weights trained by Keepers); the photos' terms are research / internal use",
        "inputs": "embedding [1280] float32 from efficientnet_lite0 (raw pooled features)",
        "preprocessing": "L2-normalise, subtract `mean`",
        "outputs": "utility = (x . w - u_mean) / u_std: one spread of the training photos' appeal = 1",
        "training": {"seed": SEED, "k": k, "lam": lam, "cv": round(cv, 3), "grid": GRID,
                     "selection": f"{FOLDS}-fold photo-split cross-validation (pairs inside held-out photos)"},
        "held_out": {s: {"right": h, "pairs": n, "share": round(h / max(1, n), 3),
                         "pairs_are": f">= {CLEAR} of 22" if s == "flowers" else "a strict majority of its people"}
                     for s, (h, n) in result.items()} | {"chosen_per_fold": report["chosen"]},
        "recipe": "python models/train/appeal.py",
    }, indent=1) + "\n")
    print(f"wrote {OUT} (k {k}, lam {lam}, cv {cv:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
