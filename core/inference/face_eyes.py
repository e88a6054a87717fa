"""The eyes, from the iris model: both eyes' crops in one batch (the subject's left eye mirrored, as faces.py's
docstring tells), then each eye's numbers from its 76 points (openness, iris, pupil box, lids) and its shade (the
iris against the skin below), and eye_in, which moves those numbers from a crop's pixels into the image's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from keepers.core.inference.face_crop import Pyramid, square_roi, to_image, traced
from keepers.core.inference.runtime import OnnxModel

# iris-model contour indices: lower lid 0..8 (corners 0 and 8), upper lid 9..15 (above lower 1..7); iris 71..75
LOWER, UPPER, IRIS = slice(0, 9), slice(9, 16), 71
EYES = {"right_eye": (33, 133, False), "left_eye": (362, 263, True)}  # (start corner, end corner, mirror)
LUMA = np.float32([0.2989, 0.587, 0.114])  # RGB -> grey (ITU-R 601 weights)


def _iris(pts: np.ndarray) -> tuple[np.ndarray, float]:
    """The iris's centre and radius from the iris model's 76 points (its centre, then 4 on the rim)."""
    c, ring = pts[IRIS, :2], pts[IRIS + 1 : IRIS + 5, :2]
    return c, float(np.linalg.norm(ring - c, axis=1).mean())


def _eye(pts: np.ndarray) -> dict[str, Any]:
    """Eye numbers from the iris model's 76 points (image px)."""
    lower, upper = pts[LOWER, :2], pts[UPPER, :2]
    axis = lower[8] - lower[0]
    width = float(np.hypot(*axis)) + 1e-6
    normal = np.array([-axis[1], axis[0]]) / width
    gaps = np.abs((lower[2:7] - upper[1:6]) @ normal)  # the middle 5 of the 7 lid-to-lid gaps
    c, rad = _iris(pts)
    lid = np.concatenate([lower, upper])
    box = (c[0] - rad, max(c[1] - rad, lid[:, 1].min()), c[0] + rad, min(c[1] + rad, lid[:, 1].max()))
    return {"openness": float(gaps.mean() / width), "width": width, "iris_centre": c.astype(float),
            "iris_radius": rad, "pupil_box": np.array(box, float), "upper_lid": upper, "lower_lid": lower,
            "contour": pts[:IRIS], "iris": pts[IRIS:]}


def both_eyes(pyr: Pyramid, pts: np.ndarray, model: OnnxModel, trace: dict | None) -> dict[str, dict]:
    """Both eyes through the iris model in one batch; the subject's left eye mirrored in and back out."""
    rois, crops = [], []
    for i, j, mirror in EYES.values():
        side = 2.3 * float(np.hypot(*(pts[j, :2] - pts[i, :2])))
        crop, a = pyr.crop((pts[i, :2] + pts[j, :2]) / 2, square_roi(pts, i, j, 1.0)[1], side, 64, mirror)
        rois.append((a, side))
        crops.append(crop.astype(np.float32) / 255)
    out = model.run({"image": traced(trace, "iris", np.stack(crops))})[0].reshape(2, 76, 3)
    return {key: _eye(to_image(a, o, 64, side)) | {"shade": _iris_shade(c, o)}
            for key, (a, side), o, c in zip(EYES, rois, out, crops)}


_GRID = np.mgrid[0:64, 0:64].astype(np.float32) + 0.5  # pixel centres (y, x) of the iris model's 64 px eye crop


def _iris_shade(crop: np.ndarray, pts: np.ndarray) -> float:
    """How light the iris disc is against the skin just below the eye (mean luma, iris / skin), in the iris model's
    eye crop (RGB, [0, 1]; `pts` its 76 points in crop px). An open eye shows a dark iris (median 0.39 on the labelled
    eyes' train half); a shut one shows its lid, nearly as light as skin (0.65). NaN where either area is empty."""
    yy, xx = _GRID
    c, r = _iris(pts)
    iris = (xx - c[0]) ** 2 + (yy - c[1]) ** 2 <= (0.7 * r) ** 2  # inside the rim: no white of the eye
    low = pts[LOWER, :2][np.argsort(pts[LOWER, 0])]
    x0, x1 = low[0, 0], low[-1, 0]
    below = yy - np.interp(xx, low[:, 0], low[:, 1])  # px under the lower lid
    skin = (xx >= x0 + 0.2 * (x1 - x0)) & (xx <= x1 - 0.2 * (x1 - x0)) & (below > 0.5 * r) & (below < 1.5 * r)
    if not iris.any() or not skin.any():
        return float("nan")
    grey = crop @ LUMA
    return float(grey[iris].mean() / max(float(grey[skin].mean()), 1e-3))


def eye_in(eye: dict[str, Any], scale: tuple[float, float], origin: tuple[float, float]) -> dict[str, Any]:
    """One eye's numbers (Face.right_eye / left_eye) moved from a crop's pixels into the image's: a point p of the
    crop is at p / scale + origin. The openness and shade, ratios, are kept as measured."""
    pts = np.concatenate([eye["contour"], eye["iris"]]).astype(np.float64)
    pts[:, :2] = pts[:, :2] / np.asarray(scale) + np.asarray(origin)
    pts[:, 2] /= scale[0]
    return _eye(pts) | {"openness": eye["openness"], "shade": eye["shade"]}
