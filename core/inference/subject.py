"""Where the image model sees its subject (issue 21 item 1): a class activation map (Zhou et al., CVPR 2016).

EfficientNet-Lite0 pools its last feature map (1280 channels, 7x7 at 224 px) into the embedding and classifies
that with one linear layer, so the layer's weights for a class, applied at each of the 49 cells instead of to the
average, say how much each cell speaks for that class. The map here weighs the five most probable classes by their
probability. No new weights: the feature map is an extra output of the shipped graph, added when the session is
built (the committed ONNX files, their sha256 and parity stay as they are; logits and features are bit-identical,
tests/test_subject.py), and the classifier's weights are read from the fp32 file (the int8 file holds them
quantised; both variants share them up to that rounding).

The ONNX protobuf is read and extended by hand (a few wire-format fields): the `onnx` package is no runtime
dependency. A second `graph` field appended to a ModelProto is merged into the first (protobuf parses a singular
message field that occurs twice as the merge of both), so one more `output` entry is a few bytes at the file's end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

FEATURE_MAP = "/Clip_1_output_0"  # the head conv's ReLU6 output before the ReduceMean, in both shipped variants
TOP = 5  # classes whose maps are weighed (by probability): one class's map misses a subject read as several
LEVEL = 0.3  # share of the map's peak from which a cell is subject (CAM's papers use 0.2-0.5 for a box)
# logits by which the map's peak speaks for the top classes more than its median cell, under which nothing in the
# frame stands out as a subject: a grey frame reads 1, a black one 3, random noise and a brick wall 5; the weakest
# subjects of camera/photos and CUrban100 (a flower on a lawn, a facade) 6.6-7
MIN_PEAK = 6.0


def _varint(b: bytes, i: int) -> tuple[int, int]:
    r = s = 0
    while True:
        c = b[i]
        i += 1
        r |= (c & 0x7F) << s
        s += 7
        if c < 0x80:
            return r, i


def _fields(b: bytes):
    """(field number, value) of a protobuf message: ints for varints, bytes for the rest."""
    i = 0
    while i < len(b):
        key, i = _varint(b, i)
        kind = key & 7
        if kind == 0:
            v, i = _varint(b, i)
        elif kind == 2:
            n, i = _varint(b, i)
            v, i = b[i : i + n], i + n
        else:  # fixed32 / fixed64
            n = 4 if kind == 5 else 8
            v, i = b[i : i + n], i + n
        yield key >> 3, v


def _enc(n: int) -> bytes:
    out = bytearray()
    while True:
        c, n = n & 0x7F, n >> 7
        out.append(c | 0x80 if n else c)
        if not n:
            return bytes(out)


def _message(number: int, payload: bytes) -> bytes:
    return _enc(number << 3 | 2) + _enc(len(payload)) + payload


def with_outputs(model: bytes, outputs: list[tuple[str, int]]) -> bytes:
    """The ONNX model's bytes with each (name, elem_type) of `outputs` (a tensor of its graph: FLOAT = 1, UINT8 = 2)
    as one more graph output, in that order. Appended in one copy of the model: one at a time, six outputs copied
    the 5 MB int8 file six times (13 ms of each worker's start; the bytes are the same)."""
    extra = []
    for name, elem_type in outputs:
        tensor_type = _message(1, _enc(1 << 3) + _enc(elem_type))  # TypeProto.tensor_type {elem_type}
        value_info = _message(1, name.encode()) + _message(2, tensor_type)
        extra.append(_message(7, _message(12, value_info)))  # ModelProto.graph {output: value_info}
    return b"".join([model, *extra])


def quantised(model: bytes) -> dict[str, tuple[float, int]]:
    """(scale, zero point) of each uint8 tensor a QLinearConv or QLinearAdd node of an int8 graph writes (its inputs
    6 and 7 name them: scalar initializers), so such a tensor read as an extra output can be read as real numbers."""
    graph = next(v for f, v in _fields(memoryview(model)) if f == 7)
    scalars, nodes = {}, []
    for f, v in _fields(graph):
        if f == 5:  # GraphProto.initializer: a scalar's value is in raw_data, float_data or int32_data
            name = raw = None
            for ff, vv in _fields(v):
                if ff == 8:
                    name = bytes(vv).decode()
                elif ff in (4, 9) and not isinstance(vv, int) and len(vv) == 4:
                    raw = np.frombuffer(bytes(vv), np.float32)[0]
                elif ff == 9 and not isinstance(vv, int) and len(vv) == 1:
                    raw = bytes(vv)[0]
                elif ff == 5:
                    raw = vv if isinstance(vv, int) else _varint(bytes(vv), 0)[0]
            if name is not None and raw is not None:
                scalars[name] = raw
        elif f == 1:  # NodeProto: input 1, output 2, op_type 4
            parts = [(ff, bytes(vv).decode()) for ff, vv in _fields(v) if ff in (1, 2, 4)]
            ins, op = [x for ff, x in parts if ff == 1], next((x for ff, x in parts if ff == 4), "")
            if op in ("QLinearConv", "QLinearAdd"):
                nodes.append((next(x for ff, x in parts if ff == 2), ins[6], ins[7]))
    # (the nodes come before the initializers in the file)
    return {out: (float(scalars[s]), int(scalars[z])) for out, s, z in nodes if s in scalars and z in scalars}


@lru_cache(maxsize=2)
def classifier(path: Path) -> np.ndarray:
    """The fp32 model's `_fc.weight` [1000, 1280] (float32 raw data of a graph initializer)."""
    # memoryviews: slicing 18 MB of weights as bytes copied them, 0.4 s a worker process
    graph = next(v for f, v in _fields(memoryview(path.read_bytes())) if f == 7)
    for f, v in _fields(graph):
        if f != 5:  # GraphProto.initializer
            continue
        dims, name, raw = [], None, None
        for ff, vv in _fields(v):
            dims, name, raw = (dims + [vv], name, raw) if ff == 1 else (dims, vv if ff == 8 else name,
                                                                         vv if ff == 9 else raw)
        if name is not None and bytes(name) == b"_fc.weight":
            return np.frombuffer(raw, np.float32).reshape(dims).copy()
    raise ValueError(f"{path} holds no _fc.weight")


def activation_map(fmap: np.ndarray, probs: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, float]:
    """[1280, 7, 7] feature map -> ([7, 7] in 0..1: the top classes' maps weighed by probability, peak 1; the
    peak in logits above the median cell)."""
    top = np.argsort(-probs)[:TOP]
    p = probs[top] / max(float(probs[top].sum()), 1e-9)
    cam = np.tensordot(p @ weights[top], fmap, axes=1)  # the weighted sum of maps is the map of the summed weights
    cam = np.maximum(cam - float(np.median(cam)), 0.0)  # cells at the median or under speak for no class
    peak = float(cam.max())
    return (cam / peak if peak > 0 else cam).astype(np.float32), peak


@dataclass
class Subject:
    """The subject as the image model sees it, in analysis-image pixels.

    `cam` is the 7x7 activation map over `crop` (left, top, right, bottom): the network sees the centre square of
    the photo, so a wide frame's sides are outside the map and count as background. `box` bounds the cells at
    LEVEL of the peak or above, `share` is their part of the frame; where the peak (`strength`, logits) is under
    MIN_PEAK nothing stands out (a blank frame, a wall): no box, an empty mask."""

    cam: np.ndarray
    strength: float
    crop: tuple[float, float, float, float]
    shape: tuple[int, int]  # analysis image (height, width)
    box: tuple[int, int, int, int] = (0, 0, 0, 0)
    share: float = 0.0
    _mask: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self):
        ys, xs = np.nonzero(self.cam >= LEVEL)
        if self.strength < MIN_PEAK or not len(ys):
            return
        l, t, r, b = self.crop
        cw, ch = (r - l) / self.cam.shape[1], (b - t) / self.cam.shape[0]
        h, w = self.shape
        self.box = (max(0, int(l + xs.min() * cw)), max(0, int(t + ys.min() * ch)),
                    min(w, int(round(l + (xs.max() + 1) * cw))), min(h, int(round(t + (ys.max() + 1) * ch))))
        self.share = float(len(ys) * cw * ch / (h * w))  # from the cells: the mask is made only where asked for

    @property
    def mask(self) -> np.ndarray:
        """bool HxW at analysis size: the map, smoothly enlarged over its crop, at LEVEL of its peak or above."""
        if self._mask is None:
            self._mask = self.mask_at(self.shape[::-1])
        return self._mask

    def mask_at(self, size: tuple[int, int]) -> np.ndarray:
        """The mask for the analysis image shrunk to `size` (width, height), made at that size (cheap when small)."""
        w, h = size
        if self.strength < MIN_PEAK or not self.share:
            return np.zeros((h, w), bool)
        k = w / self.shape[1], h / self.shape[0]
        l, t, r, b = (int(round(v * k[i % 2])) for i, v in enumerate(self.crop))
        up = cv2.resize(self.cam, (max(1, r - l), max(1, b - t)), interpolation=cv2.INTER_LINEAR)
        out = np.zeros((h, w), bool)
        y0, x0, y1, x1 = max(0, t), max(0, l), min(h, b), min(w, r)
        out[y0:y1, x0:x1] = up[y0 - t : y1 - t, x0 - l : x1 - l] >= LEVEL
        return out

    def as_dict(self) -> dict:
        """What the embedding finding stores (JSON): the box, the share of the frame, the map."""
        return {"box": list(self.box), "share": round(self.share, 3), "strength": round(self.strength, 2),
                "cam": np.round(self.cam, 2).tolist()}
