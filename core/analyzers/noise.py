"""Noise: grain in the smooth parts of the photo, luma and chroma, in 8-bit levels at analysis scale.

The residual of Immerkær's Laplacian-difference mask (zero on flat and linearly shaded areas, std = sigma on white
noise) is averaged per 16x16 block; texture also leaves a residual, so the estimate is taken from the calmest
blocks (a low quantile), which in almost every photo include some sky, skin or wall.
"""

from __future__ import annotations

import cv2
import numpy as np

from keepers.core.analyzers import Analyzer
from keepers.core.types import Finding, Frame, Reason

MIN_SIDE = 32

_MASK = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32) / 6.0
_MAD = float(np.sqrt(np.pi / 2))  # mean |x| -> std for a Gaussian
_BLOCK = 16
_QUANTILE = 0.1
_QUANTILE_BIAS = 0.89  # the 10 % quantile of 16x16-block estimates of pure noise, relative to the true sigma
# levels above which grain is visible at screen size: lower when it has colour (fine texture such as fur or foliage
# passes for luma noise, hardly ever for chroma noise); chroma counts a little less, as camera JPEGs smooth it away
_FLAG, _FLAG_LUMA_ONLY, _CHROMA = 3.2, 4.5, 1.5
_BAD = 11.0  # levels at which it is as bad as it gets


def _block_means(a: np.ndarray, b: int) -> np.ndarray:
    h, w = a.shape[:2]
    return cv2.resize(a[: h // b * b, : w // b * b], (w // b, h // b), interpolation=cv2.INTER_AREA)


def _estimate(y: np.ndarray, chroma: np.ndarray | None = None) -> tuple[float, float, float]:
    """Luma and chroma (HxWx2) noise std, units of the input, from the calmest blocks; and Immerkær's whole-image."""
    blocks = _block_means(cv2.merge([y, np.abs(cv2.filter2D(y, -1, _MASK))]), _BLOCK)
    mean, by = blocks[..., 0], blocks[..., 1]
    valid = (mean > 0.04) & (mean < 0.96)  # clipped blocks have no noise left to see
    if valid.sum() < 8:
        valid = np.ones_like(valid)
    q = np.quantile(by[valid], [_QUANTILE, 2 * _QUANTILE])
    c = 0.0
    if chroma is not None:
        bc = _block_means(np.abs(cv2.filter2D(chroma, -1, _MASK)), _BLOCK).sum(axis=2)
        c = _MAD * float(np.median(bc[valid & (by <= q[1])])) / np.sqrt(2)
    return _MAD * float(q[0]) / _QUANTILE_BIAS, c, _MAD * float(by.mean())


def luma_sigma(grey: np.ndarray) -> float:
    """Noise std of a luma image (float, [0, 1])."""
    return _estimate(grey)[0]


def levels(frame: Frame) -> dict[str, float]:
    """Noise std in 8-bit levels: luma `y`, chroma `c`, and Immerkær's whole-image `immerkaer` (texture-biased).

    Computed once per frame: the sharpness analyzer uses it too."""
    cached = frame.__dict__.get("_noise_levels")
    if cached is None:
        _, cr, cb = cv2.split(cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2YCrCb))  # 8-bit: rounding adds ~0.3 levels
        # split and merged, not sliced: numpy converts a strided 2-of-3-channel slice 5x slower (5 ms at 1024 px)
        ny, nc, ni = _estimate(frame.grey, cv2.merge([cr, cb]).astype(np.float32) * (1 / 255.0))
        cached = frame.__dict__["_noise_levels"] = {"y": ny * 255, "c": nc * 255, "immerkaer": ni * 255}
    return cached


class NoiseAnalyzer(Analyzer):
    name = "noise"
    version = "1"
    weight = 0.5

    def analyze(self, frame: Frame) -> Finding:
        if min(frame.rgb.shape[:2]) < MIN_SIDE:  # a thumbnail-sized image shows too little to judge
            return Finding(self.name, self.version, None)
        n = levels(frame)
        level = float(np.hypot(n["y"], 0.8 * n["c"]))
        severity = float(np.clip((level - 2.0) / (_BAD - 2.0), 0.0, 1.0))
        reasons = []
        if not ((level >= _FLAG and n["c"] >= _CHROMA) or n["y"] >= _FLAG_LUMA_ONLY):
            severity *= 0.5  # unconfirmed: as likely fine texture as grain
        else:
            iso = frame.meta.iso
            hint = f"ISO {iso:g}" if iso else "high ISO?"
            kind = "grain and colour blotches" if n["c"] > 0.8 * n["y"] else "grain"
            reasons.append(Reason("noise", f"Noise: visible {kind} in smooth areas ({hint})", severity))
        features = {"noise_y": float(n["y"]), "noise_c": float(n["c"]), "noise_immerkaer": float(n["immerkaer"]),
                    "noise_level": level}
        if frame.meta.iso:
            features["iso"] = float(frame.meta.iso)
        return Finding(self.name, self.version, 1.0 - 0.85 * severity, reasons, weight=self.weight,
                       features=features)
