"""Lite2 against Lite0 (issue 21 item 8): the same protocols, only the embedding swapped (docs/eval.md, "Lite2
against Lite0"). Reads the embeddings tools/lite2_embed.py cached, prints markdown tables.

a) the people-prefer head: models/train/appeal.py's `held_out` (photo folds, (k, lam) chosen inside the training
   photos), flowers' clear-majority pairs (>= 15 of 22) and holidays' majority pairs, as core/lab/prefer.py reports
   them; seed 0 is the reported protocol, seeds 1-4 re-draw the photo folds (how much of a difference is the draw).
b) taste: tools/taste_eval.py's protocol, per person (first half learns, second half predicts); the setting chosen
   by 5-fold CV on the first halves only (the shipped setting at k 8 / 16 / 32; --full: taste_eval's grid without
   the analyzers' measures), the second halves scored once; also the shipped setting itself. int8 variants only.
cost: CPU and wall ms a photo from the 1024-px analysis image to the features, one thread, variants in turn
(the Lite2 files from CACHE_DIR/out).
c) textures: models/train/textures.py's protocol (5-fold CV of lambda on two thirds, the held-out third once).

    .venv/bin/python tools/lite2_compare.py CACHE_DIR [prefer taste textures cost] [--full [--quick]]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
SEEDS = (0, 1, 2, 3, 4)


def load(cache: Path, name: str) -> tuple[list[str], dict[str, np.ndarray]]:
    with np.load(cache / f"emb_{name}.npz") as z:
        return list(z["paths"]), {k: z[k] for k in z.files if k != "paths"}


def prefer(paths, E, variants) -> list[str]:
    from keepers.models.train import appeal as A

    lines = ["| embedding | flowers clear pairs (seed 0) | holidays pairs (seed 0) | flowers, seeds 0-4 mean | "
             "holidays, seeds 0-4 mean |", "|---|---|---|---|---|"]
    for v in variants:
        emb = dict(zip(paths, E[v]))
        per = {"flowers": [], "holidays": []}
        first = {}
        for seed in SEEDS:
            held = A.held_out(emb, DATA, seed)
            for s in per:
                h, n = A.summary(held["pairs"][s], A.CLEAR if s == "flowers" else 0)
                per[s].append(h / n)
                if seed == 0:
                    first[s] = f"{h}/{n} = {h / n:.3f}"
        lines.append(f"| {v} | {first['flowers']} | {first['holidays']} | {np.mean(per['flowers']):.3f} "
                     f"(min {min(per['flowers']):.3f}) | {np.mean(per['holidays']):.3f} "
                     f"(min {min(per['holidays']):.3f}) |")
        print(lines[-1], file=sys.stderr)
    return lines


def taste(paths, E, variants, quick: bool, full: bool) -> list[str]:
    sys.path.insert(0, str(ROOT / "tools"))
    import taste_eval as TE
    from keepers.core.taste import model as tm
    from keepers.core.taste.features import Seen

    lines = ["| set | embedding | chosen by CV on first halves | its CV | profile, second halves (mean of people) | "
             "shipped setting, second halves |", "|---|---|---|---|---|---|"]
    for name, people in (("flowers", TE.flowers()), ("holidays", TE.holidays())):
        for v in variants:
            seen = {p: Seen(e / np.linalg.norm(e), {}, None, []) for p, e in zip(paths, E[v].astype(np.float64))}
            halves = {}
            for person, pairs in people.items():
                pairs = [(seen[a], seen[b]) for a, b in pairs if a in seen and b in seen]
                halves[person] = (pairs[:len(pairs) // 2], pairs[len(pairs) // 2:])
            # the shipped setting and its k's neighbours: the full grid (57 settings) costs ~5 s a person and setting
            # on this box; --full runs it
            grid = ([p for p in TE.grid(quick) if not p.get("measures")] if full
                    else [{**tm.DEFAULT, "k": k} for k in (8, 16, 32)])
            scored = [(np.mean([tm.cross_validated(first, p) for first, _ in halves.values()]), p) for p in grid]
            cv, best = max(scored, key=lambda s: s[0])
            test = np.mean([tm.agreement(tm.fit(first, best), second) for first, second in halves.values()])
            shipped = np.mean([tm.agreement(tm.fit(first, tm.DEFAULT), second) for first, second in halves.values()])
            lines.append(f"| {name} | {v} | {best} | {cv:.3f} | {test:.3f} | {shipped:.3f} |")
            print(lines[-1], file=sys.stderr)
    return lines


def textures(paths, E, variants) -> list[str]:
    from keepers.models.train import textures as T

    labels = T.dataset()[1]
    classes, y = T.encode_labels(labels)
    none = classes.index(T.NONE)
    test = T.split(y, 3) == 0
    tr = np.flatnonzero(~test)
    folds = T.split(y[tr], 5)
    lines = ["| embedding | chosen lambda | CV log-loss | CV top-1 | held-out top-1 | held-out top-3 | tag recall | "
             "ordinary photos tagged |", "|---|---|---|---|---|---|---|---|"]
    for v in variants:
        plain, flipped = T.normalise(E[v]), T.normalise(E[v + "_mirrored"])

        def train_on(idx):
            return np.concatenate([plain[idx], flipped[idx]]), np.concatenate([y[idx], y[idx]])

        cv = {}
        for lam in T.LAMBDAS:
            oof = np.zeros((len(tr), len(classes)))
            for f in range(5):
                oof[folds == f] = T.predict(T.fit(*train_on(tr[folds != f]), len(classes), lam), plain[tr[folds == f]])
            cv[lam] = oof
        lam = min(T.LAMBDAS, key=lambda x: T.logloss(cv[x], y[tr]))
        thr = next(float(t) for t in T.THRESHOLDS if T.scores(cv[lam], y[tr], none, t)["flooded"] <= T.MAX_FLOOD)
        cs = T.scores(cv[lam], y[tr], none, thr)
        held = T.scores(T.predict(T.fit(*train_on(tr), len(classes), lam), plain[test]), y[test], none, thr)
        lines.append(f"| {v} | {lam:g} | {T.logloss(cv[lam], y[tr]):.3f} | {cs['top1']:.3f} | {held['top1']:.3f} | "
                     f"{held['top3']:.3f} | {held['tag_recall']:.3f} | {held['flooded']:.3f} |")
        print(lines[-1], file=sys.stderr)
    return lines


def cost(cache: Path, lite2_dir: Path, n: int = 20, rounds: int = 5) -> list[str]:
    """ms per photo, one thread, from the analysis image (1024 px) to the features, each variant by the same steps
    as tools/lite2_embed.py (Lite0 int8: the runtime's `frame_embedding`, the subject map included); the variants
    take turns on the same frames so the machine's noise hits them alike; median over rounds."""
    import dataclasses
    import time

    import lite2_embed as LE
    from keepers.core.inference.embedding import default_model, frame_embedding
    from keepers.core.io.loader import load as load_frame
    from keepers.core.types import Photo

    paths = load(cache, "taste")[0][:n]
    frames = [load_frame(Photo(p, "jpeg"), 1024) for p in paths if p.endswith(".jpg")]
    sess, lite0 = LE.sessions(lite2_dir), default_model(["CPUExecutionProvider"])
    runs = {"lite0_int8": lambda f: frame_embedding(f, lite0)}
    for k in ("lite0_fp32", "lite2_fp32", "lite2_int8"):
        runs[k] = lambda f, k=k: sess[k].run(["features"], {"input": LE.crop(f, LE.VARIANTS[k])})
    for f in frames[:3]:
        for run in runs.values():
            run(dataclasses.replace(f))
    wall, cpu = {k: [] for k in runs}, {k: [] for k in runs}
    for _ in range(rounds):
        for k, run in runs.items():
            fresh = [dataclasses.replace(f) for f in frames]  # no halvings or embedding cached on the frame
            t, c = time.perf_counter(), time.thread_time()  # CPU time: what a busy machine disturbs least
            for f in fresh:
                run(f)
            wall[k].append(1000 * (time.perf_counter() - t) / len(fresh))
            cpu[k].append(1000 * (time.thread_time() - c) / len(fresh))
    return ["| embedding | CPU ms a photo | wall ms a photo |", "|---|---|---|"] + [
        f"| {k} | {np.median(cpu[k]):.1f} | {np.median(wall[k]):.1f} |" for k in runs] + [
        f"({len(frames)} photos x {rounds} rounds, medians; load average {os.getloadavg()[0]:.1f})"]


def main(argv=None) -> int:
    args = argv or sys.argv[1:]
    cache, quick = Path(args[0]), "--quick" in args
    only = [a for a in args[1:] if not a.startswith("--")] or ["prefer", "taste", "textures"]
    variants = ["lite0_int8", "lite2_int8", "lite0_fp32", "lite2_fp32"]
    out = []
    if "prefer" in only or "taste" in only:
        paths, E = load(cache, "taste")
        if "prefer" in only:
            out += ["### a) people-prefer head, held out by photos", *prefer(paths, E, variants), ""]
        if "taste" in only:
            out += ["### b) taste per person", *taste(paths, E, variants[:2], quick, "--full" in args), ""]
    if "cost" in only:
        sys.path.insert(0, str(ROOT / "tools"))
        out += ["### cost", *cost(cache, cache / "out"), ""]
    if "textures" in only:
        paths, E = load(cache, "textures")
        # the textures head reads fp32 Lite0 (models/train/textures.py)
        out += ["### c) textures head", *textures(paths, E, ["lite0_fp32", "lite2_fp32"]), ""]
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
