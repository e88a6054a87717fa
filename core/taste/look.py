"""What a photo looks like, in the terms a photographer names it by: the colour of its subject (pink and purple, red,
orange and yellow, green, blue, white), how vivid its colours are, how much of the frame the subject fills, whether
it sits off centre, and whether the background is softer than the subject. Read from what the pipeline already keeps
of every photo (the `group` analyzer's 32-pixel CIELAB thumbnail and 4x4 sharpness grid, the embedding's 7x7 subject
map): nothing is measured again, and it is read only for a taste profile (~0.3 ms a photo).

These say in words what a profile prefers (keepers.core.taste.explain). The model does not learn from them: on the
first halves of taste/flowers and taste/holidays they lowered its cross-validated agreement (docs/eval.md, Taste),
the embedding already carrying what they add."""

from __future__ import annotations

import cv2
import numpy as np

from keepers.core.types import Finding

# CIELAB hue angle (degrees from +a*) where each named colour starts, going round: sRGB magenta, violet and pink sit
# at 325-10, red 40, orange 70, yellow 100, green 135, cyan 195, sky blue 235, blue 305 (blue-violet counted as
# purple, as a flower's 'blue' mostly is)
HUES = (("pink", 290), ("red", 20), ("yellow", 50), ("green", 105), ("blue", 180))
CHROMA = 15.0  # C*ab from which a pixel has a colour of its own (below: grey, white or black)
WHITE = (70.0, 12.0)  # L* above and C*ab below which a pixel is white


def colour_of(subject: np.ndarray, lab: np.ndarray) -> dict[str, float]:
    """The subject's share of each named colour: `subject` weights (0-1) over the CIELAB pixels `lab` (float, L*
    0-100, a*, b*)."""
    L, a, b = lab[..., 0], lab[..., 1], lab[..., 2]
    c, h = np.hypot(a, b), np.degrees(np.arctan2(b, a)) % 360
    total = max(float(subject.sum()), 1e-6)
    coloured = subject * (c >= CHROMA)
    starts = [s for _, s in HUES]
    out = {}
    for i, (name, start) in enumerate(HUES):
        end = starts[(i + 1) % len(starts)]
        inside = (h >= start) & (h < end) if start < end else (h >= start) | (h < end)
        out[name] = float((coloured * inside).sum() / total)
    out["white"] = float((subject * ((L > WHITE[0]) & (c < WHITE[1]))).sum() / total)
    return out


def look(findings: list[Finding]) -> dict[str, float]:
    """Named look measures of a photo (empty where the pipeline kept no colour thumbnail of it)."""
    from keepers.core.judge.shot import GroupInput, cielab, read_features

    it = GroupInput("")
    read_features(it, next((f.data for f in findings if f.analyzer == "group"), {}))
    if it.colour is None:
        return {}
    lab = cielab(it.colour).astype(np.float64)  # a*, b* whole numbers: the mean chroma (vivid) summed in float64
    h, w = lab.shape[:2]
    subject = next((f.data.get("subject") for f in findings if f.analyzer == "embedding"), None) or {}
    cam = np.asarray(subject.get("cam") or np.zeros((7, 7)), np.float32)
    # the map covers the frame's centre square (what the network saw); the sides of a wide frame are background
    s, weight = min(h, w), np.zeros((h, w), np.float32)
    y0, x0 = (h - s) // 2, (w - s) // 2
    if cam.max() > 0:
        weight[y0:y0 + s, x0:x0 + s] = np.clip(cv2.resize(cam, (s, s), interpolation=cv2.INTER_LINEAR), 0, 1)
    else:  # nothing stands out: the centre square stands for the subject
        weight[y0:y0 + s, x0:x0 + s] = 1.0
    out = {k: v for k, v in colour_of(weight, lab).items()}
    out["vivid"] = float(np.hypot(lab[..., 1], lab[..., 2]).mean())  # mean C*ab of the frame
    out["fills"] = float(subject.get("share", 0.0))
    ys, xs = np.mgrid[0:cam.shape[0], 0:cam.shape[1]]
    mid = (np.array(cam.shape) - 1) / 2
    centre = ((cam * ys).sum(), (cam * xs).sum()) / cam.sum() if cam.sum() > 0 else mid
    out["off_centre"] = float(np.hypot(*(np.asarray(centre) - mid)) / mid[0])  # 1: the map's edge
    if it.sharp_grid is not None:  # log10 detail under the subject over that around it
        g = cv2.resize(weight, it.sharp_grid.shape[::-1], interpolation=cv2.INTER_AREA)
        grid = np.asarray(it.sharp_grid, np.float32)
        out["soft_background"] = float((grid * g).sum() / max(g.sum(), 1e-6)
                                       - (grid * (1 - g)).sum() / max((1 - g).sum(), 1e-6))
    return out
