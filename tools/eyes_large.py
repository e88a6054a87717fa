"""Closed eyes on large photos: does judging a small face's eyes again at full resolution pay for its decode?

The labelled eye photos (../shared/data/eyes, the held-out half of keepers.core.lab.eval.eye_split) are face crops of
at most ~200 px, so `keepers eval` analyses them at their own size and never reaches the faces analyzer's second,
full-resolution look (REFINE_BELOW). Here each one is pasted into a 6000x4000 scene (an enlarged sample photo,
with grain) at a size that makes the face `--face` px wide at the 1024 px analysis size, saved as a quality-92
JPEG, and culled as a photographer's 24 MP frame would be: as shipped (the second look reads the loader's own
1/4-scale decode when that shows the face REFINE_ENOUGH px wide, else decodes at most MAX_REFINE_GAIN x the analysis
scale: the 1/2-scale decode), always decoding afresh for that look ("fresh", before faces analyzer version 4), with a
full decode for it, and with no second look. Prints closed-eye precision / recall / F1 and seconds per photo for
each. The paste enlarges a ~200 px crop, so the second look sees at most the crop's own detail.

    .venv/bin/python tools/eyes_large.py [--per-class 100] [--face 60] [--variants shipped,fresh]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
VARIANTS = ("shipped", "fresh", "full", "none")


def build(files: list[str], folder: Path, face_px: int) -> list[Path]:
    import cv2
    from PIL import Image

    from keepers.core.lab.demo import sample_photo

    back = cv2.resize(sample_photo("coffee"), (6000, 4000), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    rng = np.random.default_rng(0)
    out = []
    for i, f in enumerate(files):
        crop = np.asarray(Image.open(DATA / "eyes" / f).convert("RGB"))
        side = round(face_px * 6000 / 1024 / 0.8)  # the face the detectors find spans about 80 % of the crop
        tile = cv2.resize(crop, (side, side), interpolation=cv2.INTER_CUBIC)
        y, x = int(rng.integers(200, 4000 - side - 200)), int(rng.integers(200, 6000 - side - 200))
        big = back.copy()
        big[y : y + side, x : x + side] = tile
        big += rng.normal(0, 2.0, big.shape[:2])[..., None]
        path = folder / f"eye_{i:04d}.jpg"
        Image.fromarray(np.clip(big, 0, 255).astype(np.uint8)).save(path, quality=92)
        out.append(path)
    return out


def _init(variant: str) -> None:
    from keepers.core.workers import prepare_worker

    prepare_worker()
    import keepers.core.analyzers.faces as fa

    if variant == "none":
        fa.REFINE_BELOW = 0
    elif variant == "fresh":  # never the loader's own decode: the second look decodes again (before version 4)
        fa.REFINE_ENOUGH = float("inf")
    elif variant == "full":
        fa.MAX_REFINE_GAIN = fa.REFINE_ENOUGH = float("inf")
    from keepers.core.lab import eval as ev

    ev._init(5.0)  # keepers eval's default


def _closed(path: str) -> tuple[bool, float]:
    from keepers.core.lab import eval as ev

    t = time.perf_counter()
    return ev.closed_eye_photo(path), time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--per-class", type=int, default=100, help="closed and open photos each, from the held-out half")
    ap.add_argument("--face", type=int, default=60, help="face width at the analysis size, px")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--variants", default=",".join(VARIANTS), help=f"which of {', '.join(VARIANTS)}")
    args = ap.parse_args()
    if not (DATA / "eyes" / "labels.csv").is_file():
        print(f"needs {DATA / 'eyes'}", file=sys.stderr)
        return 2
    from keepers.core.lab.eval import eye_split

    _, test = eye_split(DATA)
    closed = [f for f, c in test if c][: args.per_class]
    opened = [f for f, c in test if not c][: args.per_class]
    truth = np.array([True] * len(closed) + [False] * len(opened))
    with tempfile.TemporaryDirectory() as tmp:
        print(f"building {len(truth)} 24 MP photos, face ~{args.face} px at the analysis size...", flush=True)
        paths = [str(p) for p in build(closed + opened, Path(tmp), args.face)]
        for variant in args.variants.split(","):
            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(args.workers, mp_context=ctx, initializer=_init, initargs=(variant,)) as pool:
                said, secs = zip(*pool.map(_closed, paths, chunksize=1))
            said = np.array(said)
            tp, fp, fn = (int((said & truth).sum()), int((said & ~truth).sum()), int((~said & truth).sum()))
            p, r = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
            print(f"{variant:>5}: closed eyes P {p:.3f} R {r:.3f} F1 {2 * p * r / max(p + r, 1e-9):.3f}; "
                  f"{np.median(secs):.2f} s a photo (median, one worker)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
