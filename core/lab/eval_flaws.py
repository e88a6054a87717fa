"""The synthetic flaws `keepers eval` (keepers.core.lab.eval) puts on clean test photos, each at four levels, the
flawed copy saved as a JPEG as a photo reaches Keepers, and the reasons that name each flaw."""

from __future__ import annotations

import dataclasses
import zlib

import numpy as np

LEVELS = (1, 2, 3, 4)

KINDS = ("gaussian_blur", "motion_blur", "noise", "jpeg", "underexpose", "overexpose", "low_contrast", "vignetting",
         "chromatic_aberration", "lowlight")

# the reasons that name each synthetic flaw (a blur reads as soft either way; a dim, noisy scene as either flaw)
NAMES = {"gaussian_blur": {"out_of_focus"}, "motion_blur": {"motion_blur", "out_of_focus"}, "noise": {"noise"},
         "jpeg": {"jpeg_artifacts"}, "underexpose": {"underexposed", "clipped_shadows"},
         "overexpose": {"overexposed", "clipped_highlights"}, "low_contrast": {"low_contrast"},
         "vignetting": {"vignetting"}, "chromatic_aberration": {"chromatic_aberration"},
         "lowlight": {"underexposed", "clipped_shadows", "noise"}}


def distorted(rgb: np.ndarray, kind: str, level: int, key: str) -> np.ndarray:
    """`rgb` with one graded synthetic flaw; `key` (the photo's name) seeds the noise and the smear direction.
    `lowlight` is what a dim scene gives: underexposed, then the sensor's noise on top."""
    from keepers.core.lab import distort

    seed = zlib.crc32(key.encode())
    if kind == "noise":
        out = distort.noise(rgb, level, seed=seed)
    elif kind == "motion_blur":
        out = distort.motion_blur(rgb, level, angle=float(seed % 180))
    elif kind == "lowlight":
        out = distort.noise(distort.underexpose(rgb, level), level, seed=seed)
    else:
        out = distort.DISTORTIONS[kind](rgb, level)
    return saved(out)


SAVE_QUALITY = 92  # what a camera or an editor writes


def saved(rgb: np.ndarray) -> np.ndarray:
    """`rgb` as it reads back from a JPEG file. A flawed photo reaches Keepers as a file, and JPEG smooths fine
    grain: a head that only ever saw noise straight from the generator read a saved noisy photo as clean."""
    import cv2

    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(rgb[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, SAVE_QUALITY])
    return np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1])


def variant_frame(frame, rgb: np.ndarray):
    """A Frame holding `rgb` in place of the photo's pixels (same metadata, its own size)."""
    from keepers.core.types import Frame

    meta = dataclasses.replace(frame.meta, width=rgb.shape[1], height=rgb.shape[0])
    return Frame(frame.photo, np.ascontiguousarray(rgb), meta, 1.0, frame.source)
