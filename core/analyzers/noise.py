"""Noise: grain in the smooth parts of the photo, luma and chroma, in 8-bit levels at analysis scale.

The residual of Immerkær's Laplacian-difference mask (zero on flat and linearly shaded areas, std = sigma on white
noise) is averaged per 16x16 block; texture also leaves a residual, so the estimate is taken from the calmest
blocks (a low quantile), which in almost every photo include some sky, skin or wall. The `floor` is the very
calmest 8x8 blocks' residual: near 0 wherever a photo has any truly clean patch, which slight grain takes away.
"""

from __future__ import annotations

import cv2
import numpy as np

from keepers.core.analyzers import Analyzer
from keepers.core.types import Finding, Frame, Reason

MIN_SIDE = 32

_MASK = np.array([1, -2, 1], np.float32)  # Immerkær's 3x3 mask is this column times this row, over 6
_MAD = float(np.sqrt(np.pi / 2))  # mean |x| -> std for a Gaussian
_BLOCK = 16
_QUANTILE = 0.1
_QUANTILE_BIAS = 0.89  # the 10 % quantile of 16x16-block estimates of pure noise, relative to the true sigma
# The floor: the 0.2 % quantile of 8x8 blocks (~20 blocks at 1024 px). On the quality training photos (3-fold CV of the
# noise flaw scorer, models/train/flaws.py), slight grain (level 1) told from clean photos with AUC 0.80 without it;
# with it 0.85 (0.1 %: 0.86, 0.5 %: 0.84, the 10 % of 16x16 blocks alone: 0.72); pooled over levels 0.934 -> 0.954
_FLOOR_BLOCK, _FLOOR_QUANTILE = 8, 0.002
# levels above which grain is visible at screen size: lower when it has colour (fine texture such as fur or foliage
# passes for luma noise, hardly ever for chroma noise); chroma counts a little less, as camera JPEGs smooth it away
_FLAG, _FLAG_LUMA_ONLY, _CHROMA = 3.2, 4.5, 1.5
_BAD = 11.0  # levels at which it is as bad as it gets


def _block_means(a: np.ndarray, b: int) -> np.ndarray:
    h, w = a.shape[:2]
    return cv2.resize(a[: h // b * b, : w // b * b], (w // b, h // b), interpolation=cv2.INTER_AREA)


def _mask(a: np.ndarray, scale: float, out: np.ndarray | None = None) -> np.ndarray:
    """Immerkær's mask (times `scale`) as float32, applied as two 3-tap passes: straight from uint8, 4x cheaper
    than the 3x3 filter (1.2 ms at 1024 px) and than a float copy of the plane."""
    return cv2.sepFilter2D(a, cv2.CV_32F, _MASK, _MASK * (scale / 6.0), dst=out)


def _unclipped(mean: np.ndarray, least: int) -> np.ndarray:
    """Blocks neither black nor white (clipped blocks have no noise left to see); all of them if too few are."""
    valid = (mean > 0.04) & (mean < 0.96)
    return valid if valid.sum() >= least else np.ones_like(valid)


def _estimate(y: np.ndarray, chroma: list[np.ndarray] | None = None, floor: bool = False
              ) -> tuple[float, float, float, float | None]:
    """Luma and chroma noise std, in units of `y`, from the calmest blocks; Immerkær's whole-image; and, when
    `floor`, the calmest 8x8 blocks' mean residual (a third of this estimate's cost: only the frame's is read).
    `chroma`: Cr and Cb as uint8 planes, read in units of 1/255."""
    residual = np.abs(_mask(y, 1.0))
    mean, by = _block_means(y, _BLOCK), _block_means(residual, _BLOCK)
    valid = _unclipped(mean, 8)
    q = np.quantile(by[valid], [_QUANTILE, 2 * _QUANTILE])
    lowest = None
    if floor:  # before the chroma overwrites the residual
        fine = _block_means(residual, _FLOOR_BLOCK)
        lowest = _MAD * float(np.quantile(fine[_unclipped(_block_means(y, _FLOOR_BLOCK), 30)], _FLOOR_QUANTILE))
    c = 0.0
    if chroma is not None:
        for i, plane in enumerate(chroma):  # into the luma's residual, which is not needed any more
            r = _mask(plane, 1 / 255.0, out=residual if i == 0 else None)
            np.abs(r, out=r)
            if i:
                cv2.add(residual, r, dst=residual)
        bc = _block_means(residual, _BLOCK)
        c = _MAD * float(np.median(bc[valid & (by <= q[1])])) / np.sqrt(2)
    return _MAD * float(q[0]) / _QUANTILE_BIAS, c, _MAD * float(by.mean()), lowest


def luma_sigma(grey: np.ndarray) -> float:
    """Noise std of a luma image (float, [0, 1])."""
    return _estimate(grey)[0]


def levels(frame: Frame) -> dict[str, float]:
    """Noise std in 8-bit levels: luma `y`, chroma `c`, Immerkær's whole-image `immerkaer` (texture-biased), and
    the `floor` (the calmest patches' residual: near 0 in a clean photo).

    Computed once per frame: the sharpness analyzer uses it too."""
    cached = frame.__dict__.get("_noise_levels")
    if cached is None:
        _, cr, cb = cv2.split(cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2YCrCb))  # 8-bit: rounding adds ~0.3 levels
        ny, nc, ni, nf = _estimate(frame.grey, [cr, cb], floor=True)
        cached = frame.__dict__["_noise_levels"] = {"y": ny * 255, "c": nc * 255, "immerkaer": ni * 255,
                                                    "floor": nf * 255}
    return cached


def blocking(grey8: np.ndarray) -> float:
    """JPEG blocking: the step across the 8 px grid lines over the steps beside them (mean over rows, every 4th),
    the median over the grid lines, both directions. ~1 without compression; 1.3 at quality 50, 3 at 15. The median
    over lines tells blocks from a pattern that falls on the grid: a checkerboard of 40 px squares steps on one line
    in five (the quality head's mean-based blockiness read it as heavy compression)."""
    out = []
    for a in (grey8, grey8.T):
        col = np.abs(np.diff(a[::4].astype(np.float32), axis=1)).mean(axis=0)
        n = (len(col) - 1) // 8
        if n < 4:
            return 1.0
        on = col[7 : 8 * n : 8]
        beside = 0.5 * (col[6 : 8 * n : 8] + col[8 : 8 * n + 1 : 8][: len(on)])
        out.append(float(np.median((on + 0.5) / (beside + 0.5))))
    return float(np.mean(out))


class NoiseAnalyzer(Analyzer):
    name = "noise"
    version = "3"  # 2: the floor feature; 3: JPEG blocking on the file's own pixel grid (`blocking`)
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
                    "noise_floor": float(n["floor"]), "noise_level": level}
        if frame.meta.iso:
            features["iso"] = float(frame.meta.iso)
        if frame.scale >= 0.999:  # the analysis image is the file's pixels: its 8 px grid is the encoder's
            features["blocking"] = blocking(frame.grey8)
        return Finding(self.name, self.version, 1.0 - 0.85 * severity, reasons, weight=self.weight,
                       features=features)
