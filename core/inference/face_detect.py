"""Finding faces: MediaPipe's BlazeFace detectors (full range, 256 px; short range, 128 px) with their anchors and
weighted NMS, and the box overlaps that NMS and faces.py's same-face check share.
"""

from __future__ import annotations

import cv2
import numpy as np

from keepers.core.inference.face_crop import Deferred, pixels, traced
from keepers.core.inference.runtime import OnnxModel


def _anchors(size: int = 256) -> np.ndarray:
    """BlazeFace anchor centres in input px: (size/16)^2 cells x 2, then (size/32)^2 cells x 6, row-major (the
    256 model's strides 16 and 32; the 128 model's 8 and 16)."""
    out = []
    for stride, n in ((size // 16, 2), (size // 8, 6)):
        ys, xs = np.mgrid[0 : size // stride, 0 : size // stride]
        out.append(np.repeat(np.stack([xs.ravel() + 0.5, ys.ravel() + 0.5], -1) * stride, n, axis=0))
    return np.concatenate(out).astype(np.float32)


ANCHORS = _anchors()


def overlap(box: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(area of `box` shared with each of `boxes`, area of `box`, areas of `boxes`); boxes as x0, y0, x1, y1."""
    lo, hi = np.maximum(box[:2], boxes[:, :2]), np.minimum(box[2:], boxes[:, 2:])
    inter = np.prod(np.clip(hi - lo, 0, None), axis=1)
    area = lambda b: np.prod(b[..., 2:] - b[..., :2], axis=-1)  # noqa: E731
    return inter, area(box), area(boxes)


def iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    inter, a, b = overlap(box, boxes)
    return inter / (a + b - inter + 1e-9)


class BlazeFace(OnnxModel):
    """MediaPipe's full-range face detector (256 px): faces down to a few % of the frame."""

    name = "blazeface"
    size = 256
    anchors = ANCHORS
    outputs = ["scores_16", "boxes_16", "boxes_32", "scores_32"]  # fine scores and boxes, coarse boxes and scores

    def detect(self, rgb: np.ndarray | Deferred, min_score: float = 0.5, trace: dict | None = None, shrink=None):
        """[(box x0,y0,x1,y1, score, 6 keypoints)]: eyes (right, left), nose, mouth, ears; weighted NMS.
        `shrink((w, h))`: `rgb` shrunk by area averaging, when the caller has a cheaper way (Frame.shrunk); with
        it, a Deferred `rgb` is not made."""
        h, w = rgb.shape[:2]
        size, anchors = self.size, self.anchors
        s = size / max(h, w)
        nw, nh = max(1, round(w * s)), max(1, round(h * s))
        ox, oy = (size - nw) // 2, (size - nh) // 2
        x = np.full((1, size, size, 3), -1.0, np.float32)  # letterbox: keeps the aspect ratio, pads black
        small = shrink((nw, nh)) if shrink is not None and s < 1 else cv2.resize(pixels(rgb), (nw, nh), interpolation=cv2.INTER_AREA)
        x[0, oy : oy + nh, ox : ox + nw] = small / 127.5 - 1
        traced(trace, self.name, x)
        s_fine, b_fine, b_coarse, s_coarse = self.run({"image": x}, self.outputs)
        raw = np.concatenate([b_fine[0], b_coarse[0]])
        scores = 1 / (1 + np.exp(-np.clip(np.concatenate([s_fine[0, :, 0], s_coarse[0, :, 0]]), -60, 60)))
        keep = np.flatnonzero(scores >= min_score)
        off, centres = np.array([ox, oy], np.float32), raw[keep, :2] + anchors[keep]
        boxes = (np.concatenate([centres - raw[keep, 2:4] / 2, centres + raw[keep, 2:4] / 2], 1) - np.tile(off, 2)) / s
        kps = ((raw[keep, 4:16].reshape(-1, 6, 2) + anchors[keep, None]) - off) / s
        out, scores, order = [], scores[keep], np.argsort(-scores[keep])
        while order.size:  # MediaPipe's weighted NMS: overlapping detections are averaged, not dropped
            ious = iou(boxes[order[0]], boxes[order])
            g = order[ious > 0.3]
            wt = scores[g] / scores[g].sum()
            out.append(((wt[:, None] * boxes[g]).sum(0), float(scores[order[0]]), (wt[:, None, None] * kps[g]).sum(0)))
            order = order[ious <= 0.3]
        return out


class BlazeFaceFront(BlazeFace):
    """MediaPipe's short-range face detector (128 px), made for faces near the camera: the second face search's,
    where a close-up fills the frame. A quarter of the full-range model's cost (1.5 ms against 7.0 ms a run)."""

    name = "blazeface_front"
    size = 128
    anchors = _anchors(128)
    outputs = ["scores_8", "boxes_8", "boxes_16", "scores_16"]
