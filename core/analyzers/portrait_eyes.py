"""The eyes of a face the faces analyzer found, read on full-resolution pixels cropped from the photo: red eye (the
red share of the pupil disc, from the iris landmarks, against the iris ring around it) and focus on the eyes (blur
of the eye region at up to twice the analysis resolution). keepers.core.analyzers.portrait judges what they read."""

from __future__ import annotations

import cv2
import numpy as np

from keepers.core.analyzers import noise, sharpness
from keepers.core.types import Frame

# iris radius (px) enough for the red check: the pupil disc it reads (0.55 of the radius) holds ~35 pixels. A 24 MP
# JPEG's 1/4-scale decode, which the loader keeps, gives that for a face of ~100 px at the analysis size (iris radius
# ~0.042 of the face's width); a face that size got a fresh decode for each eye and one for the eye-sharpness check,
# 40-60 ms each, as the rows each needs reach further down
RED_EYE_PX = 6.0


def _eyes(face: dict) -> list[tuple[np.ndarray, float, np.ndarray]]:
    return [(np.array(face[s]["iris_centre"], float), float(face[s]["iris_radius"]), np.array(face[s]["pupil_box"]))
            for s in ("right_eye", "left_eye")]


def _crop(frame: Frame, box, max_gain: float = 8.0,
          min_gain: float | None = None) -> tuple[np.ndarray, float, tuple[int, int]]:
    """Full-resolution pixels of `box` (analysis px), at most `max_gain` x the analysis scale, from an image decoded
    already where one gives `min_gain` (Frame.full_crop): (rgb, gain, origin)."""
    h, w = frame.rgb.shape[:2]
    l, t = max(0, int(np.floor(box[0]))), max(0, int(np.floor(box[1])))
    r, b = min(w, int(np.ceil(box[2]))), min(h, int(np.ceil(box[3])))
    if r - l < 2 or b - t < 2:
        return np.zeros((0, 0, 3), np.uint8), 1.0, (l, t)
    crop = frame.full_crop((l, t, r, b), max_gain=max_gain, min_gain=min_gain)
    gain = crop.shape[1] / (r - l)
    if gain > max_gain:
        f = max_gain / gain
        crop = cv2.resize(crop, (max(1, round(crop.shape[1] * f)), max(1, round(crop.shape[0] * f))),
                          interpolation=cv2.INTER_AREA)
        gain = max_gain
    return np.ascontiguousarray(crop), gain, (l, t)


def red_share(frame: Frame, centre: np.ndarray, radius: float, pupil_box: np.ndarray) -> tuple[float, float]:
    """(share of strongly red pixels in the pupil disc, red level of the pupil / of the iris ring around it), at the
    best resolution to hand. A flash lights the retina: the pupil turns red AND brighter in red than the iris,
    where a brown iris or a dark pupil in a small, soft photo only looks reddish."""
    pad = 1.2 * radius
    # ~12 px of iris radius is plenty, and RED_EYE_PX enough where a decode made already gives that much
    crop, gain, (l, t) = _crop(frame, (centre[0] - pad, centre[1] - pad, centre[0] + pad, centre[1] + pad),
                               max_gain=max(1.0, 12.0 / max(radius, 1e-3)),
                               min_gain=max(1.0, RED_EYE_PX / max(radius, 1e-3)))
    if crop.size == 0:
        return 0.0, 0.0
    rgb = crop.astype(np.float32)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    # red, not orange or brown (green no higher than blue, give or take), and not too dark to tell
    red = ((r - np.maximum(g, b)) > 0.5 * np.maximum(r, 1.0)) & (g - b < 0.15 * r) & (r > 80)
    yy, xx = np.mgrid[: crop.shape[0], : crop.shape[1]]
    cx, cy, rad = (centre[0] - l) * gain, (centre[1] - t) * gain, radius * gain
    d = np.hypot(xx + 0.5 - cx, yy + 0.5 - cy)
    lids = (yy + 0.5 >= (pupil_box[1] - t) * gain) & (yy + 0.5 <= (pupil_box[3] - t) * gain)
    pupil, ring = (d <= 0.55 * rad) & lids, (d > 0.6 * rad) & (d <= 0.95 * rad) & lids
    if pupil.sum() < 4 or ring.sum() < 4:
        return 0.0, 0.0
    return float(red[pupil].mean()), float(r[pupil].mean() / max(float(r[ring].mean()), 1.0))


def eye_blur(frame: Frame, face: dict) -> float | None:
    """Blur (analysis px) of the region around both eyes, measured at up to 2x the analysis resolution; None where
    the crop is too small or nothing in it can be measured."""
    (c1, _, _), (c2, _, _) = _eyes(face)
    d = float(np.hypot(*(c2 - c1)))
    lo, hi = np.minimum(c1, c2), np.maximum(c1, c2)
    half = max(0.35 * d, 8.0)
    crop, gain, _ = _crop(frame, (lo[0] - 0.45 * d, lo[1] - half, hi[0] + 0.45 * d, hi[1] + half), max_gain=2.0,
                          min_gain=sharpness.MIN_REFINE_GAIN)  # as the focus check: a decode made already serves
    if min(crop.shape[:2]) < 32:
        return None
    g = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255
    best = sharpness.measure(g, noise.luma_sigma(g))["best"]
    # at the measure's ceiling no edge around the eyes carries fine detail clear of the crop's own noise: eyes in
    # shadow, narrowed or closed, film grain. That is no reading of focus (clean real photos: a sharp old man's
    # shaded eyes, a candle-lit child read 8.0 and 9.2 px, "Eyes not sharp" took 2.6 and 3.3 points); eyes blurred
    # enough to read there leave no face to detect (the astronaut's face blurred by 4 px reads 3.4-4.0, by 6 px no
    # face is found)
    if best >= sharpness.MAX_BLUR:
        return None
    return best / gain
