"""Graded synthetic distortions of a real photo, for tests, the demo and training pairs.

Every distortion is `f(rgb uint8 HxWx3, level 1..4) -> rgb uint8`; level 1 is slight, 4 is severe. Sizes are in
pixels of the image given; photometric changes (exposure, noise, vignetting) are applied in linear light.
"""

from __future__ import annotations

import cv2
import numpy as np

_GAUSS_SIGMA = (1.0, 2.0, 3.5, 5.5)  # px
_MOTION_LEN = (5, 9, 15, 23)  # px, length of the smear
_NOISE_STD = (3.0, 6.0, 10.0, 16.0)  # 8-bit levels per channel at mid-grey
_UNDER_EV = (1.0, 1.7, 2.5, 3.3)
_OVER_EV = (0.7, 1.2, 1.8, 2.5)
_CONTRAST = (0.7, 0.5, 0.35, 0.2)  # factor applied to deviations from the mean
_VIGNETTE_EV = (0.5, 1.0, 1.7, 2.5)  # darkening at the corners
_CA_PX = (0.5, 1.0, 2.0, 3.5)  # red/blue shift at the corners, outward/inward
_JPEG_Q = (50, 30, 15, 7)

_LIN = ((np.arange(256) / 255.0 + 0.055) / 1.055) ** 2.4
_LIN[:11] = np.arange(11) / 255.0 / 12.92
TO_LINEAR = _LIN.astype(np.float32)  # sRGB code value -> linear light


def _pick(table: tuple, level: int):
    if not 1 <= level <= len(table):
        raise ValueError(f"level must be 1..{len(table)}, got {level}")
    return table[level - 1]


def to_srgb(lin: np.ndarray) -> np.ndarray:
    """Linear light (float, any range) -> sRGB uint8, clipping out-of-range values like a sensor would."""
    x = np.clip(lin, 0.0, 1.0)
    s = np.where(x <= 0.0031308, x * 12.92, 1.055 * np.power(x, 1 / 2.4) - 0.055)
    return np.clip(s * 255.0 + 0.5, 0, 255).astype(np.uint8)


def gaussian_blur(rgb: np.ndarray, level: int) -> np.ndarray:
    """Defocus-like blur."""
    s = _pick(_GAUSS_SIGMA, level)
    return cv2.GaussianBlur(rgb, (0, 0), s, borderType=cv2.BORDER_REFLECT)


def motion_kernel(length: float, angle: float) -> np.ndarray:
    """An anti-aliased straight smear of `length` px at `angle` degrees (0 = horizontal), summing to 1."""
    k = int(np.ceil(length)) | 1
    up = 8  # draw at 8x, then area-average down: sub-pixel accurate line
    canvas = np.zeros((k * up, k * up), np.float32)
    c, r = (k * up - 1) / 2, (length - 1) * up / 2
    dx, dy = r * np.cos(np.radians(angle)), -r * np.sin(np.radians(angle))
    cv2.line(canvas, (round(c - dx), round(c - dy)), (round(c + dx), round(c + dy)), 1.0, up, cv2.LINE_AA)
    kern = cv2.resize(canvas, (k, k), interpolation=cv2.INTER_AREA)
    return kern / kern.sum()


def motion_blur(rgb: np.ndarray, level: int, angle: float = 30.0) -> np.ndarray:
    """Camera shake / subject movement: a straight smear."""
    return cv2.filter2D(rgb, -1, motion_kernel(_pick(_MOTION_LEN, level), angle), borderType=cv2.BORDER_REFLECT)


def noise(rgb: np.ndarray, level: int, seed: int = 0) -> np.ndarray:
    """Sensor-like noise: signal-dependent (shot + read noise in linear light), per channel (so both luma grain and
    chroma blotches), slightly correlated between neighbours as demosaicing leaves it."""
    std = _pick(_NOISE_STD, level) / 255.0
    rng = np.random.default_rng(seed)
    lin = TO_LINEAR[rgb]
    k = std / np.sqrt(0.214)  # so the std is `std` at mid-grey (0.214 linear ~ 0.5 sRGB)
    sigma = np.sqrt(k * k * lin + (0.25 * std) ** 2)
    n = rng.standard_normal(rgb.shape).astype(np.float32)
    n = cv2.GaussianBlur(n, (0, 0), 0.5) * 1.56  # demosaic correlation; 1.56 restores the unit std
    return to_srgb(lin + sigma * n)


gaussian_noise = noise


def underexpose(rgb: np.ndarray, level: int) -> np.ndarray:
    return to_srgb(TO_LINEAR[rgb] * 2.0 ** -_pick(_UNDER_EV, level))


def overexpose(rgb: np.ndarray, level: int) -> np.ndarray:
    """Brighter in linear light; what passes 1.0 clips, as on a sensor."""
    return to_srgb(TO_LINEAR[rgb] * 2.0 ** _pick(_OVER_EV, level))


def low_contrast(rgb: np.ndarray, level: int) -> np.ndarray:
    """Flat, hazy tones: deviations from the mean shrink."""
    f = _pick(_CONTRAST, level)
    x = rgb.astype(np.float32)
    m = x.mean(axis=(0, 1), keepdims=True)
    return np.clip(m + (x - m) * f + 0.5, 0, 255).astype(np.uint8)


def _radius2(h: int, w: int) -> np.ndarray:
    """Squared distance from the centre, 1 at the corners."""
    y, x = np.ogrid[:h, :w]
    cy, cx = (h - 1) / 2, (w - 1) / 2
    return (((y - cy) ** 2 + (x - cx) ** 2) / (cy * cy + cx * cx)).astype(np.float32)


def vignetting(rgb: np.ndarray, level: int) -> np.ndarray:
    """Lens falloff shaped like the cos^4 law, (1 + c r^2)^-2, darkening the corners by the level's EV."""
    ev = _pick(_VIGNETTE_EV, level)
    c = 2.0 ** (ev / 2) - 1
    gain = (1.0 + c * _radius2(*rgb.shape[:2])) ** -2
    return to_srgb(TO_LINEAR[rgb] * gain[..., None])


def _scale_about_centre(ch: np.ndarray, s: float) -> np.ndarray:
    h, w = ch.shape
    m = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), 0.0, s)
    return cv2.warpAffine(ch, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)


def chromatic_aberration(rgb: np.ndarray, level: int) -> np.ndarray:
    """Lateral CA: red magnified, blue shrunk about the centre, each by the level's shift at the corners."""
    h, w = rgb.shape[:2]
    s = _pick(_CA_PX, level) / np.hypot((h - 1) / 2, (w - 1) / 2)
    out = rgb.copy()
    out[..., 0] = _scale_about_centre(rgb[..., 0], 1 + s)
    out[..., 2] = _scale_about_centre(rgb[..., 2], 1 - s)
    return out


def jpeg(rgb: np.ndarray, level: int) -> np.ndarray:
    """Heavy JPEG compression (blocking, ringing, colour bleeding)."""
    ok, buf = cv2.imencode(".jpg", rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, _pick(_JPEG_Q, level)])
    return np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1])


DISTORTIONS = {"gaussian_blur": gaussian_blur, "motion_blur": motion_blur, "noise": noise,
               "underexpose": underexpose, "overexpose": overexpose, "low_contrast": low_contrast,
               "vignetting": vignetting, "chromatic_aberration": chromatic_aberration, "jpeg": jpeg}
