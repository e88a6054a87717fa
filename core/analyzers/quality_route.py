"""Which checks a photo gets (`route`): portrait (a face large enough to matter), landscape (the embedding's
ImageNet classes of open scenery) or other. Kept apart from the analyzer as the one rule that sends a photo to the
portrait or the landscape checks."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from keepers.core.types import Finding, Frame

# ImageNet classes of open scenery: their summed probability routes a photo to the landscape checks
SCENERY = ("n09193705", "n09246464", "n09288635", "n09332890", "n09399592", "n09421951", "n09428293", "n09468604",
           "n09472597", "n02894605", "n03933933", "n02814860", "n03160309", "n04532670", "n02859443", "n07802026",
           "n11879895", "n03042490")
LANDSCAPE_P = 0.25
PORTRAIT_FACE = 0.12  # the largest face's side / the frame's long side


def route(frame: Frame, faces: Finding | None, probs: np.ndarray) -> str:
    """portrait (a face large enough to matter), landscape (open scenery) or other."""
    found = [f for f in (faces.data.get("faces", []) if faces else []) if f.get("score", 0) >= 0.9]
    if found:
        b = found[0]["box"]
        if max(b[2] - b[0], b[3] - b[1]) >= PORTRAIT_FACE * max(frame.rgb.shape[:2]):
            return "portrait"
    if float(sum(probs[i] for i in _scenery_index(len(probs)))) >= LANDSCAPE_P:
        return "landscape"
    return "other"


@lru_cache(maxsize=1)
def _scenery_index(n: int) -> tuple[int, ...]:
    from keepers.core.inference.embedding import classes

    ids = [w for w, _ in classes()]
    return tuple(ids.index(w) for w in SCENERY if w in ids)
