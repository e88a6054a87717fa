"""Lite2 against Lite0 on quality (issue 21 item 8, a second opinion): does the embedding alone carry the KADID-10k
damage as people rank it? Clean TRAINING photos (keepers.core.lab.eval.clean_split; the held-out ones the KADID
measure reports are not touched) get KADID's 25 types x 5 levels (core/lab/kadid.copy_of: the copy a cull would
read); each copy is embedded by Lite0 int8 and Lite2 int8 (the analysis image, the network's resize, as
tools/lite2_embed.py). A ridge regression from the unit embedding to people's mean for that type and level is
trained on 4 of 5 photo folds (lambda by CV inside them) and predicts the fifth; the cells' mean predictions on
held-out photos are then ordered against people's means (kadid.agreement, pairs of different types >= 0.5 apart)
as the KADID measure orders the cull's scores. No reference photo is used: the runtime has none either.

    .venv/bin/python tools/lite2_kadid.py CACHE_DIR [PHOTOS]   (the Lite2 files in CACHE_DIR/out; default 30 photos)
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
LAMBDAS = (1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1.0)
FOLDS = 5


def embed(cache: Path, n: int) -> dict:
    target = cache / f"kadid_{n}.npz"
    if target.is_file():
        with np.load(target) as z:
            return {k: z[k] for k in z.files}
    import lite2_embed as LE
    from keepers.core.inference.embedding import default_model, preprocess
    from keepers.core.io.loader import load
    from keepers.core.lab import kadid
    from keepers.core.lab.eval import DATA, clean_split
    from keepers.core.types import Photo

    train, _ = clean_split(DATA)
    refs = train[::max(1, len(train) // n)][:n]
    sess, lite0 = LE.sessions(cache / "out"), default_model(["CPUExecutionProvider"])
    rows = {"photo": [], "type": [], "level": [], "lite0_int8": [], "lite2_int8": []}
    for i, p in enumerate(refs):
        rgb = load(Photo(str(p), "jpeg"), 1024).rgb
        for t in range(1, 26):
            for lv in range(1, 6):
                c = kadid.copy_of(rgb, t, lv, Path(p).name)
                rows["photo"].append(i)
                rows["type"].append(t)
                rows["level"].append(lv)
                rows["lite0_int8"].append(lite0.embed_batch(preprocess(c))[0][0])
                rows["lite2_int8"].append(sess["lite2_int8"].run(["features"], {"input": at260(c)})[0][0])
        print(f"  {i + 1}/{len(refs)}", file=sys.stderr)
    out = {k: np.array(v) for k, v in rows.items()}
    np.savez(target, **out)
    return out


def at260(rgb):
    """embedding.preprocess's steps at Lite2's 260: short side to 260 (area), centre crop, (x - 127) / 128."""
    import cv2

    h, w = rgb.shape[:2]
    s = 260 / min(h, w)
    size = max(260, round(w * s)), max(260, round(h * s))
    img = cv2.resize(np.ascontiguousarray(rgb), size, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)
    left, top = (size[0] - 260) // 2, (size[1] - 260) // 2
    return ((img[top:top + 260, left:left + 260].astype(np.float32) - 127.0) / 128.0).transpose(2, 0, 1)[None].copy()


def ridge(X, y, lam):
    mean, ym = X.mean(0), y.mean()
    Xc = X - mean
    w = np.linalg.solve(Xc.T @ Xc + lam * len(X) * np.eye(X.shape[1]), Xc.T @ (y - ym))
    return lambda Z: (Z - mean) @ w + ym


def main(argv=None) -> int:
    from keepers.core.lab import kadid

    args = argv or sys.argv[1:]
    cache, n = Path(args[0]), int(args[1]) if len(args) > 1 else 30
    d = embed(cache, n)
    people = kadid.human()
    y = np.array([people[(t, lv)] for t, lv in zip(d["type"], d["level"])])
    fold = d["photo"] % FOLDS
    print("| embedding | KADID pairs ordered as people (held-out photos) | the 9 types the head is blind to excluded | "
          "lambdas chosen |\n|---|---|---|---|")
    for v in ("lite0_int8", "lite2_int8"):
        X = d[v] / np.linalg.norm(d[v], axis=1, keepdims=True)
        pred, chosen = np.zeros(len(y)), []
        for f in range(FOLDS):
            tr = fold != f
            inner = d["photo"][tr] % (FOLDS - 1)  # photo folds inside the training photos

            def cv(lam):
                err = 0.0
                for g in range(FOLDS - 1):
                    m = ridge(X[tr][inner != g], y[tr][inner != g], lam)
                    err += float(((m(X[tr][inner == g]) - y[tr][inner == g]) ** 2).sum())
                return err

            lam = min(LAMBDAS, key=cv)
            chosen.append(lam)
            pred[~tr] = ridge(X[tr], y[tr], lam)(X[~tr])
        cell = {(t, lv): float(pred[(d["type"] == t) & (d["level"] == lv)].mean()) for t in range(1, 26)
                for lv in range(1, 6)}
        seen = {c: s for c, s in cell.items() if c[0] not in kadid.BLIND}
        print(f"| {v} | {kadid.agreement(cell, people, kadid.MIN_GAP):.3f} | "
              f"{kadid.agreement(seen, people, kadid.MIN_GAP):.3f} | {chosen} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
