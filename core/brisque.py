"""BRISQUE no-reference image quality (Mittal, Moorthy & Bovik 2012) in numpy and OpenCV, no libsvm.

The parameters come from PyPI `image-quality==1.2.7` (`imquality/models/brisque_svm.txt`, the LIVE-trained RBF
epsilon-SVR of the original BRISQUE release, and `normalize.pickle`, its feature ranges), converted by
`models/export/brisque.py` into `models/brisque.npz`. This module follows that package's `imquality.brisque.score`
step by step, because its feature definitions differ from the paper's in places and the SVR was fitted to the
paper's: matching the package is what lets the recipe measure parity at all (models/README.md has the numbers).

Pipeline (per scale):
- grey: scikit-image `rgb2gray` weights 0.2125 R + 0.7154 G + 0.0721 B on values in [0, 1] (uint8 / 255);
- MSCN: (I - mu) / (sigma + 1/255), mu and sigma from a 7x7 Gaussian (sigma 7/6) with zero padding outside the
  frame (the package convolves with scipy's `convolve2d(..., "same")`; OpenCV's BORDER_CONSTANT is the same);
  in flat patches, where only the sign of round-off is left, the package's sign is reproduced (_flat_patches);
- the MSCN map and its 4 neighbour products (horizontal, vertical, main and secondary diagonal) are each fitted with
  an asymmetric generalised Gaussian (moment matching, Lasmar et al.): MSCN gives (alpha, (sl^2 + sr^2) / 2), each
  product gives (alpha, mean, sl^2, sr^2); 18 numbers.
- second scale: the grey image halved the way `skimage.transform.rescale(0.5, order=2, mode="constant",
  anti_aliasing=False)` of scikit-image 0.18 does it (quadratic B-spline interpolation through scipy.ndimage,
  mirror-boundary prefilter, output size rounded half to even, clipped to the input's range); reimplemented
  below so that scipy is not a run-time dependency.

The 36 features are scaled to [-1, 1] by the trained ranges and fed to the SVR: score = sum_i a_i exp(-gamma
|sv_i - x|^2) - rho. About 0 is pristine, about 100 very distorted (it can leave that range).
"""

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np

from keepers.core.errors import ModelError
from keepers.core.runtime import MODELS_DIR, manifest, sha256

NAME = "brisque"  # key in models/manifest/
KERNEL_SIZE, KERNEL_SIGMA = 7, 7 / 6  # the package's defaults (and the paper's)
C = 1 / 255  # stabiliser of the MSCN division, for grey values in [0, 1]
GREY_WEIGHTS = np.array([0.2125, 0.7154, 0.0721])  # skimage.color.rgb2gray
FLAT = 1e-12  # |I - mu| below this may be a flat patch's round-off (grey in [0, 1]; round-off is ~1e-15)
TINY = 1e-20  # the MSCN given to nearly flat pixels of the half-size image: positive, too small to weigh
MIN_SIDE = 64  # the half-size prefilter mirrors _PAD (24) samples; fits on fewer pixels mean little anyway
_PAIRS = ("horizontal", "vertical", "diagonal", "antidiagonal")
FEATURE_NAMES = tuple(
    f"s{s}_{n}"
    for s in (1, 2)
    for n in ("mscn_alpha", "mscn_var")
    + tuple(f"{p}_{q}" for p in _PAIRS for q in ("alpha", "mean", "var_left", "var_right"))
)


class BrisqueModel:
    """The SVR and feature ranges from models/brisque.npz, checked against the manifest's sha256 on load."""

    def __init__(self, path: Path | None = None, verify: bool = True):
        entry = manifest().get(NAME)
        if entry is None and (path is None or verify):  # the recipe loads the file it just wrote, unverified
            raise ModelError(f"model {NAME!r} has no models/manifest/{NAME}.json")
        self.path = path or MODELS_DIR / entry["file"]
        rebuild = f"rebuild it with: {(entry or {}).get('recipe', 'python3 models/export/brisque.py')}"
        if not self.path.is_file():
            raise ModelError(f"model file {self.path} is missing; {rebuild}")
        if verify and sha256(self.path) != entry["sha256"]:  # 230 kB: hashing it once per process is cheap
            raise ModelError(f"model file {self.path} is corrupted (sha256 differs from "
                             f"models/manifest/{NAME}.json); {rebuild}")
        with np.load(self.path) as z:
            self.support_vectors = z["support_vectors"].astype(np.float64)  # [n_sv, 36]
            self.dual_coef = z["dual_coef"].astype(np.float64)  # [n_sv]
            self.rho = float(z["rho"])
            self.gamma = float(z["gamma"])
            self.feature_min = z["feature_min"].astype(np.float64)
            self.feature_max = z["feature_max"].astype(np.float64)
            self.package_kernel = z["package_kernel"].astype(np.float64)  # [7, 7], for flat patches only
        self._sv_sq = (self.support_vectors**2).sum(1)

    def scale(self, features: np.ndarray) -> np.ndarray:
        """Map raw features to the [-1, 1] ranges the SVR was trained on (values outside are not clipped)."""
        lo, hi = self.feature_min, self.feature_max
        return -1 + (2.0 / (hi - lo) * (np.asarray(features, np.float64) - lo))

    def predict(self, scaled: np.ndarray) -> float:
        """libsvm's epsilon-SVR decision value: sum_i a_i exp(-gamma |sv_i - x|^2) - rho."""
        x = np.asarray(scaled, np.float64)
        d2 = np.maximum(self._sv_sq - 2 * (self.support_vectors @ x) + x @ x, 0.0)
        return float(self.dual_coef @ np.exp(-self.gamma * d2) - self.rho)


_model: BrisqueModel | None = None
_lock = threading.Lock()


def model() -> BrisqueModel:
    """The bundled model, loaded (and its checksum checked) once per process, on first use."""
    global _model
    with _lock:
        if _model is None:
            _model = BrisqueModel()
    return _model


# --- features ---------------------------------------------------------------------------------------------


def grey(image: np.ndarray) -> np.ndarray:
    """Float64 grey in [0, 1]: RGB(A) through rgb2gray's weights; a grey image as it is.

    uint8 is divided by 255 and uint16 by 65535; float input is taken to be in [0, 1] already. (The package itself
    leaves a 2-D uint8 image in 0..255, which makes its MSCN constant 255 times too small: a grey photo should
    score like its RGB version, so we scale it.)
    """
    a = np.asarray(image)
    if a.dtype == np.uint8 and a.ndim == 3 and a.shape[2] == 3:  # per-channel tables: the same products, faster
        return _check_size(cv2.transform(cv2.LUT(np.ascontiguousarray(a), _LUT), _ONES))
    if a.dtype == np.uint8:
        a = a.astype(np.float64) / 255.0
    elif a.dtype == np.uint16:
        a = a.astype(np.float64) / 65535.0
    else:
        a = a.astype(np.float64, copy=False)
    if a.ndim == 3:
        if a.shape[2] == 1:
            a = a[..., 0]
        else:
            a = a[..., :3] @ GREY_WEIGHTS
    if a.ndim != 2:
        raise ValueError(f"expected an H x W grey or H x W x 3 colour image, got shape {np.shape(image)}")
    return _check_size(np.ascontiguousarray(a))


# [1, 256, 3]: value / 255 * weight, per channel; the three products are then summed in R, G, B order
_LUT = np.ascontiguousarray(((np.arange(256) / 255.0)[:, None] * GREY_WEIGHTS[None, :])[None])
_ONES = np.ones((1, 3))


def _check_size(g: np.ndarray) -> np.ndarray:
    if min(g.shape) < MIN_SIDE:
        raise ValueError(f"image {g.shape[1]}x{g.shape[0]} is too small for BRISQUE (min side {MIN_SIDE})")
    return g


def mscn(g: np.ndarray, kernel: np.ndarray | None = None, resampled: bool = False) -> np.ndarray:
    """Mean-subtracted contrast-normalised coefficients of a float64 grey image.

    `kernel`: the package's 7x7 Gaussian (default: the bundled model's copy), used only in flat patches;
    `resampled`: g is the half-size image (see _flat_patches).
    """
    blur = lambda x: cv2.GaussianBlur(x, (KERNEL_SIZE, KERNEL_SIZE), KERNEL_SIGMA, borderType=cv2.BORDER_CONSTANT)
    mu = blur(g)
    sigma = np.sqrt(np.abs(mu * mu - blur(g * g)))
    d = g - mu
    m = d / (sigma + C)
    candidates = np.abs(d) < FLAT
    if candidates.any():
        _flat_patches(g, m, candidates, model().package_kernel if kernel is None else kernel, resampled)
    return m


def _flat_patches(g: np.ndarray, m: np.ndarray, candidates: np.ndarray, kernel: np.ndarray,
                  resampled: bool) -> None:
    """Give flat pixels the MSCN sign the package gives them, in place.

    In a flat patch (a clipped sky, a black border) I - mu is 0 up to round-off, and the side of 0 that round-off
    lands on decides whether the AGGD fits count those pixels, and their neighbour products, as left or right.
    That shifts the score by up to ~0.3 on a photo with large clipped areas, so it is matched where it can be:

    - a pixel whose whole 7x7 window (zeros outside the frame) is one value v: the package's round-off depends on
      v alone (scipy's convolve2d sums the 49 products of the 2-D kernel in row order), so it is replayed exactly,
      once per distinct v, with the package's kernel;
    - in the half-size image, clipped areas come out of the spline as values a few ulp apart; there the package's
      round-off is not reproducible without scipy's exact operation order, but is mostly positive, and these
      pixels get a tiny positive value (checked on 30 photos not used for parity: max score difference 6e-3 this
      way, 0.14 leaving our own round-off; models/README.md).
    """
    # window min == max, computed only over the candidates' bounding box (plus the window's reach)
    rows, cols = np.flatnonzero(candidates.any(1)), np.flatnonzero(candidates.any(0))
    r = KERNEL_SIZE // 2
    r0, r1 = max(rows[0] - r, 0), min(rows[-1] + r + 1, g.shape[0])
    c0, c1 = max(cols[0] - r, 0), min(cols[-1] + r + 1, g.shape[1])
    roi = g[r0:r1, c0:c1]
    box = cv2.getStructuringElement(cv2.MORPH_RECT, (KERNEL_SIZE, KERNEL_SIZE))
    # zeros beyond the frame, as the package pads; the box's own edges inside the frame are never candidates
    lo = cv2.erode(roi, box, borderType=cv2.BORDER_CONSTANT, borderValue=0)
    hi = cv2.dilate(roi, box, borderType=cv2.BORDER_CONSTANT, borderValue=0)
    flat = np.zeros_like(candidates)
    flat[r0:r1, c0:c1] = lo == hi
    flat &= candidates
    if resampled:
        m[candidates & ~flat] = TINY
    if not flat.any():
        return
    v, inv = np.unique(g[flat], return_inverse=True)
    vv = v * v
    mu, mu2 = np.zeros_like(v), np.zeros_like(v)
    for k in kernel[::-1, ::-1].ravel():  # convolve2d flips the kernel, then runs over it row by row
        mu = mu + k * v
        mu2 = mu2 + k * vv
    m[flat] = ((v - mu) / (np.sqrt(np.abs(mu * mu - mu2)) + C))[inv]


def _phi(alpha: float) -> float:
    """Gamma(2/a)^2 / (Gamma(1/a) Gamma(3/a)): rises monotonically from 0 (a -> 0) to 3/4 (a -> inf)."""
    return math.exp(2 * math.lgamma(2 / alpha) - math.lgamma(1 / alpha) - math.lgamma(3 / alpha))


ALPHA_RANGE = (0.05, 50.0)  # the package's fits on photos stay within 0.2..10 (the training ranges)


def _solve_alpha(r: float) -> float:
    """The shape alpha with phi(alpha) = r, by bisection on log(alpha) to machine precision.

    phi is monotonic, so the root is unique; the package finds the same root with scipy.optimize.root from 0.2
    (to its default tolerance, ~1e-8 relative). Outside phi's range over ALPHA_RANGE the nearer end is returned.
    """
    lo, hi = math.log(ALPHA_RANGE[0]), math.log(ALPHA_RANGE[1])
    if not math.isfinite(r):
        return math.nan
    if r <= _phi(ALPHA_RANGE[0]):
        return ALPHA_RANGE[0]
    if r >= _phi(ALPHA_RANGE[1]):
        return ALPHA_RANGE[1]
    for _ in range(64):
        mid = 0.5 * (lo + hi)
        if _phi(math.exp(mid)) < r:
            lo = mid
        else:
            hi = mid
    return math.exp(0.5 * (lo + hi))


def aggd(x: np.ndarray) -> tuple[float, float, float, float]:
    """Asymmetric generalised Gaussian fit by moments: (alpha, mean, sigma_left^2, sigma_right^2).

    As in imquality.statistics: left = x < 0, right = x >= 0; r = E|x|^2 / E x^2, corrected by
    gamma = sigma_l / sigma_r; alpha solves phi(alpha) = R. A side with no samples has variance 0; an all-zero
    input (a flat frame) has no distribution to fit and gives NaN.
    """
    x = x.ravel()
    xn = np.minimum(x, 0.0)  # the left side (x < 0), zeros elsewhere: no boolean-indexed copies
    n_left = int(np.count_nonzero(xn))
    n_right = x.size - n_left
    total = float(np.einsum("i,i->", x, x))  # einsum, not dot: no BLAS threads inside a worker process
    left = float(np.einsum("i,i->", xn, xn))
    right = total - left
    var_l = left / n_left if n_left else 0.0
    var_r = right / n_right if n_right else 0.0
    if total <= 0.0 or var_r <= 0.0:
        return math.nan, math.nan, var_l, var_r
    ms = total / x.size
    r_hat = (float(x.sum() - 2.0 * xn.sum()) / x.size) ** 2 / ms  # mean |x| = mean(x) - 2 mean(min(x, 0))
    g = math.sqrt(var_l) / math.sqrt(var_r)
    big_r = r_hat * (g**3 + 1) * (g + 1) / (g**2 + 1) ** 2
    alpha = _solve_alpha(big_r)
    if not math.isfinite(alpha):
        return math.nan, math.nan, var_l, var_r
    const = math.sqrt(math.exp(math.lgamma(1 / alpha) - math.lgamma(3 / alpha)))
    mean = (math.sqrt(var_r) - math.sqrt(var_l)) * const * math.exp(math.lgamma(2 / alpha) - math.lgamma(1 / alpha))
    return alpha, mean, var_l, var_r


def _scale_features(g: np.ndarray, kernel: np.ndarray | None, resampled: bool) -> list[float]:
    m = mscn(g, kernel, resampled)
    alpha, _, var_l, var_r = aggd(m)
    out = [alpha, (var_l + var_r) / 2]
    for prod in (m[:, :-1] * m[:, 1:], m[:-1, :] * m[1:, :], m[:-1, :-1] * m[1:, 1:], m[1:, :-1] * m[:-1, 1:]):
        out.extend(aggd(prod))
    return out


# --- the second scale: scikit-image 0.18's rescale(0.5, order=2, mode="constant"), without scipy ----------

_POLE = math.sqrt(8.0) - 3.0  # the quadratic B-spline's prefilter pole
_BLOCK = 32  # block length of the vectorised recursions: _POLE ** _BLOCK ~ 3e-25, far below float64 precision
_PAD = 24  # mirror samples added at each end: what lies beyond them weighs _POLE ** 24 ~ 4e-19
_CARRY = _POLE ** np.arange(1, _BLOCK + 1)  # z^1 .. z^_BLOCK


def _spline2_prefilter_rows(g: np.ndarray) -> np.ndarray:
    """scipy.ndimage.spline_filter1d(order=2, mode='constant') along axis 0.

    scipy runs a causal and an anti-causal recursion with the pole z = sqrt(8) - 3 (Unser et al. 1991), initialised
    exactly for a mirror-extended signal (mirror is what scipy uses for 'constant'). Here the signal is
    mirror-extended by _PAD rows, both recursions start from zero outside that, and the pad is cut off again: the
    same numbers to ~1e-16. Each recursion runs in blocks of _BLOCK rows side by side (~30 numpy steps instead of
    one per row): every block starts from zero, then gets z^k times its neighbour block's edge value (the carry of
    the carry is z^_BLOCK smaller still, below float64 precision).
    """
    z, n, m = _POLE, g.shape[0], g.shape[1]
    total = n + 2 * _PAD
    nb = -(-total // _BLOCK)
    v = np.empty((nb * _BLOCK, m))
    v[:_PAD] = g[_PAD:0:-1]  # mirror without repeating the edge sample
    v[_PAD : _PAD + n] = g
    v[_PAD + n : total] = g[-2 : -_PAD - 2 : -1]
    v[total:] = 0.0
    b = v.reshape(nb, _BLOCK, m)
    for j in range(1, _BLOCK):  # causal: c+[i] = x[i] + z c+[i-1]
        b[:, j] += z * b[:, j - 1]
    b[1:] += _CARRY[:, None] * b[:-1, -1][:, None, :]
    for j in range(_BLOCK - 2, -1, -1):  # anti-causal, up to the factor -z: d[i] = c+[i] + z d[i+1]
        b[:, j] += z * b[:, j + 1]
    b[:-1] += _CARRY[::-1, None] * b[1:, 0][:, None, :]
    # c = -z d, times the filter gain (1 - z)(1 - 1/z), which scipy applies to the input first
    return v[_PAD : _PAD + n] * (-z * (1 - z) * (1 - 1 / z))


def _spline2_taps(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices [n_out, 3] (mirrored into range) and weights of quadratic B-spline interpolation at the sample
    centres of an n_in -> n_out resize (scikit-image's mapping: x = f (i + 0.5) - 0.5, f = n_in / n_out)."""
    x = n_in / n_out * (np.arange(n_out) + 0.5) - 0.5
    mid = np.floor(x + 0.5)
    t = x - mid  # in (-0.5, 0.5]
    w0 = 0.5 * (0.5 - t) ** 2
    w1 = 0.75 - t * t
    w = np.stack([w0, w1, 1.0 - w0 - w1], 1)
    idx = mid.astype(np.int64)[:, None] + np.arange(-1, 2)
    period = 2 * n_in - 2
    idx = np.abs(idx) % period
    idx = np.where(idx >= n_in, period - idx, idx)
    return idx, w


def _half_rows(g: np.ndarray, n_out: int) -> np.ndarray:
    """Prefilter along axis 0, then interpolate the n_out rows at the resized sample centres."""
    coef = _spline2_prefilter_rows(g)
    idx, w = _spline2_taps(g.shape[0], n_out)
    return w[:, 0:1] * coef[idx[:, 0]] + w[:, 1:2] * coef[idx[:, 1]] + w[:, 2:3] * coef[idx[:, 2]]


def half(g: np.ndarray) -> np.ndarray:
    """The grey image at half size, as `skimage.transform.rescale(g, 0.5, order=2, mode="constant",
    anti_aliasing=False)` gives it in scikit-image 0.18 (with scipy >= 1.6 underneath).

    The 2-D spline is separable, so rows are done first and columns on the half-height result (half the work)."""
    h, w = g.shape
    oh, ow = (int(v) for v in np.round(np.array([h, w]) * 0.5))  # half to even, like the package
    out = _half_rows(np.ascontiguousarray(_half_rows(g, oh).T), ow).T
    lo, hi = float(g.min()), float(g.max())
    keep = out == 0.0 if lo > 0.0 else None  # skimage keeps exact cval (0) pixels when 0 is outside the range
    out = np.clip(out, lo, hi)
    if keep is not None:
        out[keep] = 0.0
    return np.ascontiguousarray(out)


# --- public API --------------------------------------------------------------------------------------------


def features(image: np.ndarray, kernel: np.ndarray | None = None) -> np.ndarray:
    """The 36 raw BRISQUE features of a grey or RGB image (order: FEATURE_NAMES), float64.

    Computed at the size given: the package and the SVR work on whatever size they are handed, and the score
    depends on it (pass the 1024-px analysis frame for comparable numbers). `kernel`: the package's 7x7 kernel
    for flat patches (default: the bundled model's; the recipe passes the one it is about to write).
    """
    g = grey(image)
    return np.array(_scale_features(g, kernel, False) + _scale_features(half(g), kernel, True), np.float64)


def score(image: np.ndarray) -> float:
    """BRISQUE score: about 0 for a pristine photo, about 100 for a badly distorted one.

    NaN for an all-black frame (nothing to fit). A uniform frame of any other value scores about 130: its only
    structure is its edge against the zero padding.
    """
    f = features(image)
    if not np.isfinite(f).all():
        return math.nan
    m = model()
    return m.predict(m.scale(f))


class BrisqueResult(NamedTuple):
    features: np.ndarray  # [36] raw features, FEATURE_NAMES order
    scaled: np.ndarray  # [36] the same scaled to the SVR's training ranges (about -1..1)
    score: float


def analyse(image: np.ndarray) -> BrisqueResult:
    """Features, scaled features and score in one pass."""
    f = features(image)
    m = model()
    s = m.scale(f)
    return BrisqueResult(f, s, m.predict(s) if np.isfinite(f).all() else math.nan)


def brisque_features(frame_rgb: np.ndarray) -> np.ndarray:
    """For a learned head: [37] float32 = the 36 features scaled to the SVR's ranges (about -1..1), then the score.

    An all-black frame gives NaN features and score; a head must treat that as missing.
    """
    r = analyse(frame_rgb)
    return np.append(r.scaled, r.score).astype(np.float32)
