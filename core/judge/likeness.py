"""How alike two photos' pixels are: thumbnail correlation, the shift between two frames (phase correlation), copies
told from lookalikes by fine detail under flips and turns, one scene told from another by where its colours are,
and the moving sharp region of a focus stack. Pure functions of the small thumbnails core/judge/shot.py keeps."""

from __future__ import annotations

import cv2
import numpy as np

PANO_STEP = 0.2  # shift (fraction of the frame) from which consecutive frames are panorama steps, not a burst
PIX = 48  # side of the squashed thumbnail whose fine detail tells copies from lookalikes
# Frames of one scene: half the frame is found again in the other frame, in the same colours, within a tenth of
# the frame of where it was (the subject or the camera moved a little). Compared on a SCENE_CELLS-square grid of
# mean colours, each frame's lightness taken from its mean (auto exposure drifts between frames).
SCENE_CELLS = 10
# on ../shared/data (tools/group_precision.py): the lead's check's frames 1 s apart in one clip differ by <= 3.2,
# but for a handheld pan (4.6); 99 % of neighbouring eye photos (different people) differ by more than 5.5
SCENE_DE = 5.0  # colour difference (CIE76 delta E) from which two frames are two scenes


def phase_shift(a: np.ndarray, b: np.ndarray, peaks: int = 4) -> tuple[float, float, float]:
    """Shift of b against a (b(x) = a(x - d)) as fractions of width and height, and the correlation of the
    overlap. Phase correlation proposes shifts (each peak stands for four, as the transform wraps around); the
    overlap that agrees best, covering at least a quarter of the frame, wins."""
    if a.shape != b.shape:
        return 0.0, 0.0, 0.0
    fa, fb = a.astype(np.float32), b.astype(np.float32)
    aligned = ncc(fa, fb)
    if aligned >= 0.95:  # already in register (most bursts): no shift to look for
        return 0.0, 0.0, aligned
    cross = np.fft.rfft2(fb - fb.mean()) * np.conj(np.fft.rfft2(fa - fa.mean()))
    r = np.fft.irfft2(cross / np.maximum(np.abs(cross), 1e-6), s=fa.shape)
    h, w = fa.shape
    best = (0.0, 0.0, -1.0)
    for k in np.argpartition(r.ravel(), -peaks)[-peaks:]:
        py, px = divmod(int(k), w)
        for dy in {py, py - h}:
            for dx in {px, px - w}:
                if (h - abs(dy)) * (w - abs(dx)) < 0.25 * h * w:
                    continue
                oa = fa[max(0, -dy):h - max(0, dy), max(0, -dx):w - max(0, dx)]
                ob = fb[max(0, dy):h - max(0, -dy), max(0, dx):w - max(0, -dx)]
                c = ncc(oa, ob)
                if c > best[2]:
                    best = (dx / w, dy / h, c)
    return best


def ncc(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(np.float32).ravel(), b.astype(np.float32).ravel()
    a, b = a - a.mean(), b - b.mean()
    d = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / d) if d > 0 else 0.0


def focus_moves(grids: list[np.ndarray]) -> bool:
    """True when at least two frames are each clearly the sharpest (x1.6) somewhere that has detail."""
    g = np.stack([x.ravel() for x in grids])
    best = g.max(0)
    detail = best >= np.median(best)
    order = np.sort(g, 0)
    margin = order[-1] - order[-2]
    winners = set(np.argmax(g, 0)[detail & (margin >= 0.2)].tolist())
    return len(winners) >= 2


def near_cells(n: int) -> np.ndarray:
    """0 where two cells of an n x n grid (row by row) are at most one cell apart, inf elsewhere."""
    y, x = np.divmod(np.arange(n * n), n)
    near = (np.abs(y[:, None] - y) <= 1) & (np.abs(x[:, None] - x) <= 1)
    return np.where(near, 0.0, np.inf).astype(np.float32)


_NEAR = near_cells(SCENE_CELLS)


def scene_gap(a: np.ndarray, b: np.ndarray) -> float:
    """How far two photos are from framing one scene: the colour difference (delta E) within which half of each
    one's cells find a cell of the other at most one cell away; the larger of the two ways. `a`, `b`: cells()."""
    # squared differences, cell of a x cell of b: |a|^2 + |b|^2 - 2 a.b (one product, not a 100 x 100 x 3 array)
    d = (a * a).sum(1)[:, None] + (b * b).sum(1) - 2 * a @ b.T + _NEAR
    half = len(a) // 2
    return float(np.sqrt(max(np.partition(np.stack([d.min(1), d.min(0)]), half, axis=1)[:, half].max(), 0.0)))


def dihedral(thumb: np.ndarray) -> np.ndarray:
    x = cv2.resize(thumb.astype(np.float32), (PIX, PIX), interpolation=cv2.INTER_AREA)
    x = x - cv2.GaussianBlur(x, (0, 0), PIX / 16)  # fine detail only: robust to re-encoding and exposure tweaks
    v = np.stack([np.rot90(y, k).ravel() for y in (x, x[:, ::-1]) for k in range(4)])
    v -= v.mean(1, keepdims=True)
    norm = np.linalg.norm(v, axis=1, keepdims=True)
    return v / np.where(norm > 0, norm, np.inf)


def sweep_step(shift: tuple[float, float, float]) -> bool:
    """A panorama step: the view moved by a good part of the frame, and the overlap agrees."""
    return max(abs(shift[0]), abs(shift[1])) >= PANO_STEP and shift[2] >= 0.6


def still(shift: tuple[float, float, float]) -> bool:
    """The same framing (a tripod): hardly any shift, and the frames agree."""
    return max(abs(shift[0]), abs(shift[1])) < 0.03 and shift[2] >= 0.9
