"""KADID-10k's 25 distortion types in its order, each one's parameter at levels 1..5, and the pixel operations
`distort` (kadid_distort.py) builds them from: float to uint8, Lab and back, a defocus disk, a tone curve, a
lookup table, white noise, a channel quantised."""

from __future__ import annotations

import cv2
import numpy as np


NAMES = ("gaussian_blur", "lens_blur", "motion_blur", "color_diffusion", "color_shift", "color_quantization",
         "color_saturation_1", "color_saturation_2", "jpeg2000", "jpeg", "white_noise", "white_noise_color_component",
         "impulse_noise", "multiplicative_noise", "denoise", "brighten", "darken", "mean_shift", "jitter",
         "non_eccentricity_patch", "pixelate", "quantization", "color_block", "high_sharpen", "contrast_change")
P = {  # the parameter at levels 1..5
    "gaussian_blur": (0.1, 0.5, 1, 2, 5), "lens_blur": (1, 2, 4, 6, 8), "motion_blur": (1, 2, 4, 6, 10),
    "color_diffusion": (1, 3, 6, 8, 12), "color_shift": (1, 3, 6, 8, 12), "color_quantization": (64, 48, 32, 16, 8),
    "color_saturation_1": (0.4, 0.2, 0.1, 0, -0.4), "color_saturation_2": (1, 2, 3, 6, 9),
    "jpeg2000": (16, 32, 45, 120, 170), "jpeg": (43, 36, 24, 7, 4),
    "white_noise": (0.001, 0.002, 0.003, 0.005, 0.01), "white_noise_color_component": (1e-4, 5e-4, 1e-3, 2e-3, 3e-3),
    "impulse_noise": (0.001, 0.005, 0.01, 0.02, 0.03), "multiplicative_noise": (0.001, 0.005, 0.01, 0.02, 0.05),
    "denoise": (0.001, 0.002, 0.003, 0.005, 0.01), "brighten": (0.1, 0.2, 0.4, 0.7, 1.1),
    "darken": (0.05, 0.1, 0.2, 0.4, 0.8), "mean_shift": (0.15, 0.08, 0, -0.08, -0.15),
    "jitter": (0.05, 0.1, 0.2, 0.5, 1), "non_eccentricity_patch": (20, 40, 60, 80, 100),
    "pixelate": (0.01, 0.05, 0.1, 0.2, 0.5), "quantization": (20, 16, 13, 10, 7), "color_block": (2, 4, 6, 8, 10),
    "high_sharpen": (1, 2, 3, 6, 12), "contrast_change": (0.3, 0.15, 0, -0.4, -0.6)}


def _u8(x: np.ndarray) -> np.ndarray:
    return np.clip(x * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb.astype(np.float32) / 255, cv2.COLOR_RGB2LAB)  # L 0-100, a/b about -128..127


def _rgb(lab: np.ndarray) -> np.ndarray:
    return _u8(cv2.cvtColor(lab.astype(np.float32), cv2.COLOR_LAB2RGB))


def _disk(r: float) -> np.ndarray:
    """A defocus disk of radius r px, anti-aliased (drawn at 8x, averaged down), summing to 1."""
    k, up = 2 * int(np.ceil(r)) + 1, 8
    c = np.zeros((k * up, k * up), np.float32)
    cv2.circle(c, (k * up // 2, k * up // 2), int(r * up), 1.0, -1, cv2.LINE_AA)
    d = cv2.resize(c, (k, k), interpolation=cv2.INTER_AREA)
    return d / d.sum()


def _curve(x: np.ndarray, mid: float) -> np.ndarray:
    """The quadratic tone curve through (0,0), (0.5, mid), (1,1), clipped: KADID's brighten and darken."""
    a = 2 - 4 * mid
    return np.clip(a * x * x + (1 - a) * x, 0, 1)


def _lut(rgb: np.ndarray, f) -> np.ndarray:
    return cv2.LUT(rgb, _u8(f(np.arange(256, dtype=np.float32) / 255)))


def _noisy(rgb: np.ndarray, var: float, rng) -> np.ndarray:
    return _u8(rgb / 255.0 + rng.normal(0, np.sqrt(var), rgb.shape))


def _quantise(x: np.ndarray, n: int) -> np.ndarray:
    """One channel in n levels: thresholds at equal-population quantiles, each bin its mean (as multithresh +
    imquantize leave flat bands)."""
    t = np.unique(np.quantile(x, np.linspace(0, 1, n + 1)[1:-1]))
    b = np.digitize(x, t)
    means = np.bincount(b.ravel(), x.ravel().astype(np.float64), len(t) + 1) / np.maximum(
        np.bincount(b.ravel(), minlength=len(t) + 1), 1)
    return means[b].astype(np.uint8)
