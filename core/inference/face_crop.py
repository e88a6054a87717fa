"""The image as the face models see it: a Deferred image (made only when its pixels are needed), its Pyramid of
halvings to cut square, rotated crops from, the square ROI around a set of points, and crop points mapped back to
the image. Shared by the detector (face_detect.py), FaceMesh (face_mesh.py) and the iris model (face_eyes.py);
`traced` keeps each model's input tensors for the parity check (models/export/human_faces.py).
"""

from __future__ import annotations

from typing import Callable

import cv2
import numpy as np


class Deferred:
    """An image made only when its pixels are needed, its shape known ahead: the second face search's 384 px copy
    (1.6 ms) serves only the landmarks of a face found, and on most photos none is."""

    def __init__(self, shape: tuple[int, ...], make: Callable[[], np.ndarray]):
        self.shape, self._make, self._image = shape, make, None

    def pixels(self) -> np.ndarray:
        if self._image is None:
            self._image = self._make()
        return self._image


def pixels(rgb: np.ndarray | Deferred) -> np.ndarray:
    return rgb.pixels() if isinstance(rgb, Deferred) else rgb


class Pyramid:
    """The image and its halvings, so a crop is never resampled by more than 2x (bilinear aliasing)."""

    def __init__(self, rgb: np.ndarray | Deferred):
        self._rgb = rgb
        self._levels: list[np.ndarray] | None = None

    @property
    def levels(self) -> list[np.ndarray]:
        if self._levels is None:
            self._levels = [pixels(self._rgb)]
        return self._levels

    def crop(self, center, axis, side: float, out: int, mirror: bool = False):
        """Square crop of `side` px around `center`, its x axis along unit `axis`, resampled to out x out.
        Returns the crop and A (2x3) mapping crop coordinates (continuous, px of `out`) to image coordinates."""
        ex = np.asarray(axis, np.float64) * side / out
        ey = np.array([-ex[1], ex[0]])
        ex = -ex if mirror else ex
        a = np.stack([ex, ey, np.asarray(center, np.float64) - out / 2 * (ex + ey)], 1)
        k = 0
        while side / out / 2**k > 2 and min(self.levels[k].shape[:2]) > 32:
            if k + 1 == len(self.levels):
                self.levels.append(cv2.pyrDown(self.levels[k]))
            k += 1
        m = a / 2**k
        m[:, 2] += 0.5 * (m[:, 0] + m[:, 1]) - 0.5  # pixel centres: src = A (dst + 0.5) - 0.5
        crop = cv2.warpAffine(self.levels[k], m, (out, out), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_CONSTANT)
        return crop, a


def to_image(a: np.ndarray, pts: np.ndarray, out: int, side: float) -> np.ndarray:
    xy = pts[:, :2] @ a[:, :2].T + a[:, 2]
    return np.concatenate([xy, pts[:, 2:3] * side / out], 1).astype(np.float32)


def square_roi(pts: np.ndarray, start: int, end: int, scale: float):
    """Square ROI around points, rotated so pts[start] -> pts[end] is horizontal: (centre, axis, side)."""
    v = pts[end, :2] - pts[start, :2]
    axis = v / (np.hypot(*v) + 1e-9)
    local = pts[:, :2] @ np.stack([axis, [-axis[1], axis[0]]], 1)
    lo, hi = local.min(0), local.max(0)
    centre = ((lo + hi) / 2) @ np.stack([axis, [-axis[1], axis[0]]])
    return centre, axis, float(max(hi - lo)) * scale


def traced(trace: dict | None, name: str, x: np.ndarray) -> np.ndarray:
    if trace is not None:
        trace.setdefault(name, []).append(x)
    return x
