"""The face as a whole, for keepers.core.analyzers.portrait: its light against the background's (backlit), the
texture of its cheeks (airbrushed skin) and its share outside the frame (cut off)."""

from __future__ import annotations

import cv2
import numpy as np

from keepers.core.analyzers.portrait_eyes import _eyes
from keepers.core.lab.distort import TO_LINEAR
from keepers.core.types import Frame

SKIN_MIN_EYES = 45  # px between the eyes (analysis image) for skin texture to be judged


def face_ev(frame: Frame, face: dict) -> tuple[float, float]:
    """(stops of the face's middle, stops of the bright part of the background: its 75th percentile)."""
    y8 = cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2GRAY)
    x0, y0, x1, y1 = face["box"]
    w, h = x1 - x0, y1 - y0
    inner = y8[int(max(0, y0 + 0.25 * h)) : int(max(0, y1 - 0.2 * h)), int(max(0, x0 + 0.2 * w)) : int(max(0, x1 - 0.2 * w))]
    mask = np.ones_like(y8, bool)
    mask[int(max(0, y0 - 0.2 * h)) : int(max(0, y1 + 0.6 * h)), int(max(0, x0 - 0.3 * w)) : int(max(0, x1 + 0.3 * w))] = False
    if inner.size < 16 or mask.sum() < 0.1 * mask.size:
        return 0.0, 0.0
    ev = lambda v: float(np.log2(max(TO_LINEAR[int(v)], 1e-4) / 0.18))  # noqa: E731
    return ev(np.median(inner)), ev(np.percentile(y8[mask], 75))


def skin_texture(frame: Frame, face: dict) -> float | None:
    """Robust std (8-bit levels) of the fine detail in both cheeks, or None where the face is too small."""
    (c1, _, _), (c2, _, _) = _eyes(face)
    d = float(np.hypot(*(c2 - c1)))
    if d < SKIN_MIN_EYES:
        return None
    across = (c2 - c1) / d
    down = np.array([-across[1], across[0]])
    if down[1] < 0:
        down = -down
    grey = frame.grey * 255
    hp = grey - cv2.GaussianBlur(grey, (0, 0), 1.0)
    vals = []
    for c, out in ((c1, -across), (c2, across)):
        cx, cy = c + 0.55 * d * down + 0.05 * d * out
        s = 0.14 * d
        patch = hp[int(cy - s) : int(cy + s), int(cx - s) : int(cx + s)]
        if patch.shape[0] >= 6 and patch.shape[1] >= 6 and patch.shape == (int(cy + s) - int(cy - s),) * 2:
            vals.append(1.4826 * float(np.median(np.abs(patch - np.median(patch)))))
    return float(np.median(vals)) if vals else None


def cut_share(frame: Frame, face: dict) -> float:
    """Share of the face box outside the frame."""
    h, w = frame.rgb.shape[:2]
    x0, y0, x1, y1 = face["box"]
    area = max((x1 - x0) * (y1 - y0), 1e-6)
    inside = max(0.0, min(x1, w) - max(x0, 0)) * max(0.0, min(y1, h) - max(y0, 0))
    return float(1 - inside / area)
