"""Appeal analyzer: what people tend to prefer in a photo and, in photos of people, the moment. It measures; the
judging step (keepers.core.judge.moment) turns these numbers into points.

- `appeal`: the "people prefer" head (models/appeal_head.npz, trained by models/train/appeal.py on the majority
  choices of ../shared/data/taste): a linear utility on the embedding the embedding analyzer computed already
  (read through `requires`, no second run of the network), in spreads of the training photos (0 = average).
- `subject`: how sure the image model is that an animal is in the frame (ImageNet's 398 animal classes), so a
  burst's pick can be a frame where the dog is still there (keepers.core.judge.group).
- people, from the faces analyzer's faces that are large enough to read (`MIN_FACE`): their number, the main
  faces' smile (the emotion model's "happy"), whether every judged face has its eyes open, how far the main face
  turns from the camera, its size in the frame, and whether the frame cuts it.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from keepers.core.analyzers import Analyzer
from keepers.core.hookspecs import hookimpl
from keepers.core.inference.runtime import MODELS_DIR
from keepers.core.types import Finding, Frame

HEAD_FILE = MODELS_DIR / "appeal_head.npz"
ANIMALS = 398  # ImageNet classes 0-397 are animals (tench ... puffer), the rest objects and scenes
MIN_FACE = 0.04  # a face smaller than this share of the frame's long side is a face in a crowd, not the subject
MAIN = 0.5  # faces at least this share of the largest one's size are the main subjects
EDGE = 0.01  # a face box this close to the frame's edge (share of the side) is cut by it


@lru_cache(maxsize=1)
def head() -> dict[str, np.ndarray] | None:
    if not HEAD_FILE.is_file():
        return None
    with np.load(HEAD_FILE) as z:
        return {k: z[k].astype(np.float64) for k in z.files}


def appeal(embedding) -> float | None:
    """The head's utility for one raw embedding (None without the head)."""
    h = head()
    if h is None or embedding is None:
        return None
    x = np.asarray(embedding, np.float64)
    x = x / max(float(np.linalg.norm(x)), 1e-12)
    return float(((x - h["mean"]) @ h["w"] - h["u_mean"]) / h["u_std"])


def people(faces: list[dict], shape: tuple[int, int]) -> dict[str, float]:
    """The moment's numbers from the faces analyzer's faces (largest first) in a frame of `shape` (h, w)."""
    h, w = shape
    side = max(h, w)
    seen = [f for f in faces if _size(f) >= MIN_FACE * side]
    if not seen:
        return {"people": 0.0}
    big = max(_size(f) for f in seen)
    main = [f for f in seen if _size(f) >= MAIN * big]
    judged = [f for f in seen if "eyes_closed" in f]
    x0, y0, x1, y1 = max(seen, key=_size)["box"]
    cut = x0 <= EDGE * w or y0 <= EDGE * h or x1 >= (1 - EDGE) * w or y1 >= (1 - EDGE) * h
    out = {"people": float(len(seen)), "face_size": round(big / side, 3), "face_cut": float(cut),
           "smile": round(float(np.mean([f.get("expression", {}).get("happy", 0.0) for f in main])), 3),
           "yaw": round(float(max(abs(f.get("yaw", 0.0)) for f in main)), 3)}
    if judged:
        out["eyes_open"] = float(np.mean([f["eyes_closed"] < 0.5 for f in judged]))
        out["eyes_judged"] = float(len(judged))
    return out


def _size(f: dict) -> float:
    x0, y0, x1, y1 = f["box"]
    return max(x1 - x0, y1 - y0)


class AppealAnalyzer(Analyzer):
    """Judges nothing (score None, weight 0): the numbers for keepers.core.judge.moment and the burst pick."""

    name = "appeal"
    version = "1"
    requires = ("embedding", "faces")

    def analyze(self, frame: Frame, inputs: dict[str, Finding] | None = None) -> Finding:
        from keepers.core.inference.embedding import FRAME_CACHE

        inputs = inputs or {}
        emb = inputs.get("embedding")
        features: dict[str, float] = {}
        u = appeal(emb.data.get("embedding")) if emb is not None else None
        if u is not None:
            features["appeal"] = round(u, 3)
        cached = frame.__dict__.get(FRAME_CACHE)  # the embedding analyzer's probabilities, on this very frame
        if cached is not None:
            features["subject"] = round(float(np.asarray(cached[1])[:ANIMALS].sum()), 3)
        faces = inputs.get("faces")
        features |= people(faces.data.get("faces", []) if faces is not None else [], frame.rgb.shape[:2])
        return Finding(self.name, self.version, score=None, weight=0.0, features=features)


@hookimpl
def keepers_analyzers(settings):
    return [AppealAnalyzer()]
