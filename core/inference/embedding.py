"""EfficientNet-Lite0 (ImageNet-1k): a 1280-d image embedding and the top ImageNet labels of a photo.

The ONNX file is exported by models/export/efficientnet_lite0.py, which imports `preprocess` from here so the
recipe's parity check and the runtime feed the network exactly the same pixels. See models/README.md.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from keepers.core.analyzers import Analyzer
from keepers.core.hookspecs import hookimpl
from keepers.core.inference.runtime import MODELS_DIR, OnnxModel, cpu_variant
from keepers.core.inference.subject import FEATURE_MAP, Subject, activation_map, classifier, quantised, with_outputs
from keepers.core.types import Finding, Frame

INPUT_SIZE = 224  # the network's fixed input: short side resized to this, then a centre crop of this square
# the TF-Lite checkpoint's input scaling: (uint8 - 127) / 128, no per-channel ImageNet mean/std
PIXEL_MEAN = 127.0
PIXEL_SCALE = 128.0
CLASSES_FILE = MODELS_DIR / "imagenet_classes.txt"
FEATURES_DIM = 1280
NUM_CLASSES = 1000
# inner feature maps read in the same run (core/analyzers/damage.py: smearing, jagged edges, bleeding and washed-out
# colour show in the early layers' texture statistics, not in the pooled last layer): the stem (stride 2), the
# stride-4 block output, the first stride-8 block's expansion, the stride-8 and stride-16 block outputs. The int8
# graph holds them as uint8 tensors, read back to real numbers through their scale and zero point.
INNER = (("/Clip_output_0", "/_conv_stem/Conv_output_0_quantized"),
         ("/_blocks.2/Add_output_0", "/_blocks.2/Add_output_0_quantized"),
         ("/_blocks.3/Clip_output_0", "/_blocks.3/_expand_conv/Conv_output_0_quantized"),
         ("/_blocks.4/Add_output_0", "/_blocks.4/Add_output_0_quantized"),
         ("/_blocks.7/Add_output_0", "/_blocks.7/Add_output_0_quantized"))
INNER_DIM = 3 * (32 + 24 + 144 + 40 + 80)


def map_stats(fm: np.ndarray, scale: float = 1.0, zero: float = 0.0) -> np.ndarray:
    """[C, H, W] (float32, or uint8 read as (q - zero) x scale) -> [3C]: each channel's mean, its standard deviation,
    and its mean absolute step to the next cell right plus down (how much the map changes from cell to cell: fine
    texture, or its absence). Sums in integers where the map is uint8: 0.9 ms for the five maps of INNER."""
    c, h, w = fm.shape
    x = fm.reshape(c, h * w)
    acc = np.uint32 if fm.dtype == np.uint8 else np.float64
    xf = x.astype(np.float32)
    mean = x.sum(1, dtype=acc) / (h * w)
    std = np.sqrt(np.maximum(np.einsum("ij,ij->i", xf, xf) / (h * w) - mean * mean, 0.0))
    rows = fm.reshape(c * h, w)
    step = (cv2.absdiff(rows[:, 1:], rows[:, :-1]).reshape(c, -1).sum(1, dtype=acc) / (h * (w - 1))
            + cv2.absdiff(x[:, w:], x[:, :-w]).sum(1, dtype=acc) / ((h - 1) * w))
    return (np.concatenate([mean - zero, std, step]) * scale).astype(np.float32)


def resized_size(h: int, w: int) -> tuple[int, int]:
    """(width, height) an image is resized to before the centre crop: short side INPUT_SIZE."""
    s = INPUT_SIZE / min(h, w)
    return max(INPUT_SIZE, round(w * s)), max(INPUT_SIZE, round(h * s))


def preprocess(rgb: np.ndarray) -> np.ndarray:
    """uint8 HxWx3 RGB -> float32 [1, 3, 224, 224]: short side to 224, centre crop, (x - 127) / 128.

    Shrinking uses OpenCV's area filter (antialiased; ~3x faster than Pillow's bicubic at the same ImageNet
    accuracy, 88 % vs 87.5 % top-1 on the 200 sample photos); enlarging a small image uses bicubic.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 RGB image, got shape {rgb.shape}")
    h, w = rgb.shape[:2]
    s = INPUT_SIZE / min(h, w)
    size = resized_size(h, w)
    img = rgb if (w, h) == size else cv2.resize(np.ascontiguousarray(rgb, dtype=np.uint8), size,
                                                interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)
    left, top = (size[0] - INPUT_SIZE) // 2, (size[1] - INPUT_SIZE) // 2
    x = (img[top:top + INPUT_SIZE, left:left + INPUT_SIZE].astype(np.float32) - PIXEL_MEAN) / PIXEL_SCALE
    return x.transpose(2, 0, 1)[None].copy()


@lru_cache(maxsize=1)
def classes() -> tuple[tuple[str, str], ...]:
    """The 1000 classes in the model's output order: (wnid, WordNet lemmas such as 'tabby, tabby cat')."""
    rows = [line.split("\t", 1) for line in CLASSES_FILE.read_text(encoding="utf-8").splitlines() if line]
    return tuple((wnid, name) for wnid, name in rows)


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def top_labels(probs: np.ndarray, k: int = 5) -> list[tuple[str, str, float]]:
    """The k most probable classes as (wnid, short name, probability); the short name is the first lemma."""
    idx = np.argsort(-probs, kind="stable")[:k]
    table = classes()
    return [(table[i][0], table[i][1].split(",")[0].strip(), float(probs[i])) for i in idx]


class EfficientNetLite0(OnnxModel):
    """EfficientNet-Lite0 with two outputs: `logits` [N, 1000] and `features` [N, 1280] (global average pool), and
    a third added when the session is built: the feature map they pool, [N, 1280, 7, 7] (core/inference/subject)."""

    name = "efficientnet_lite0"
    int8 = False

    def source(self) -> bytes:
        inner = [(q, 2) if self.int8 else (fp32, 1) for fp32, q in INNER]  # UINT8 / FLOAT
        return with_outputs(self.path.read_bytes(), [(FEATURE_MAP, 1), *inner])

    def _inner(self, maps: list[np.ndarray]) -> np.ndarray:
        """The inner maps' statistics [INNER_DIM], as real numbers in either variant."""
        if not self.int8:
            return np.concatenate([map_stats(m[0]) for m in maps])
        q = _quantised(self.path)
        return np.concatenate([map_stats(m[0], *q[name]) for m, (_, name) in zip(maps, INNER)])

    def embed_batch(self, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Preprocessed [N, 3, 224, 224] -> (raw pooled features [N, 1280], softmax probabilities [N, 1000])."""
        logits, feats = self.run({"input": np.ascontiguousarray(inputs, np.float32)}, ["logits", "features"])
        return feats.astype(np.float32), softmax(logits.astype(np.float64)).astype(np.float32)

    def embed(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """uint8 HxWx3 -> (features [1280], probs [1000]).

        Features are the raw pooled activations (non-negative, not normalised): compare them by cosine, or
        L2-normalise first. Probabilities are the softmax of the logits.
        """
        feats, probs = self.embed_batch(preprocess(rgb))
        return feats[0], probs[0]

    def embed_map(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """As `embed`, with the feature map [1280, 7, 7] the features pool and the inner maps' statistics
        [INNER_DIM] (the same run)."""
        names = [q if self.int8 else fp32 for fp32, q in INNER]
        logits, feats, fmap, *maps = self.run({"input": preprocess(rgb)}, ["logits", "features", FEATURE_MAP, *names])
        return (feats[0].astype(np.float32), softmax(logits[0].astype(np.float64)).astype(np.float32), fmap[0],
                self._inner(maps))


class EfficientNetLite0Int8(EfficientNetLite0):
    """Static int8 quantisation of the same network: about 2x faster on one CPU core; its parity with fp32 is
    in models/manifest/efficientnet_lite0.int8.json (top-1 agreement 98 %, feature cosine median 0.995)."""

    name = "efficientnet_lite0.int8"
    int8 = True


@lru_cache(maxsize=1)
def _quantised(path) -> dict[str, tuple[float, int]]:
    return quantised(path.read_bytes())


def default_model(providers: list[str] | None = None, verify: bool = True) -> EfficientNetLite0:
    """int8 where onnxruntime runs on the CPU and the int8 file is shipped, else fp32 (runtime.cpu_variant)."""
    return cpu_variant(EfficientNetLite0, EfficientNetLite0Int8, providers, verify)


_shared: dict[tuple, EfficientNetLite0] = {}
FRAME_CACHE = "_efficientnet_lite0"  # (features, probs) cached on the Frame, so analyzers share one run
SUBJECT_CACHE = "_subject"  # the Subject found in the same run
INNER_CACHE = "_inner"  # the inner maps' statistics of the same run (core/analyzers/damage.py)
CLASSIFIER = MODELS_DIR / "efficientnet_lite0.onnx"  # the fp32 file's classifier weights serve both variants


def shared_model(providers: list[str] | None = None) -> EfficientNetLite0:
    """One model per process and provider list, shared by every analyzer that needs the embedding."""
    key = tuple(providers or ())
    if key not in _shared:
        _shared[key] = default_model(providers)
    return _shared[key]


def network_image(frame: Frame) -> np.ndarray:
    """The frame as the network is given it: shrunk to `resized_size` where that is smaller (the frame caches its
    halvings, which serve other analyzers too), else the frame itself (`preprocess` enlarges it)."""
    h, w = frame.rgb.shape[:2]
    size = resized_size(h, w)
    return frame.shrunk(size) if size[0] < w else frame.rgb


def frame_embedding(frame: Frame, model: EfficientNetLite0 | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(features [1280], probs [1000]) of the frame, computed once per frame whichever analyzer asks first."""
    cached = frame.__dict__.get(FRAME_CACHE)
    if cached is None:
        h, w = frame.rgb.shape[:2]
        size = resized_size(h, w)
        feats, probs, fmap, inner = (model or shared_model()).embed_map(network_image(frame))
        cached = frame.__dict__[FRAME_CACHE] = (feats, probs)
        frame.__dict__[INNER_CACHE] = inner
        a, b = w / size[0], h / size[1]  # the network's centre square, in analysis pixels
        left, top = (size[0] - INPUT_SIZE) // 2, (size[1] - INPUT_SIZE) // 2
        frame.__dict__[SUBJECT_CACHE] = Subject(*activation_map(fmap, probs, classifier(CLASSIFIER)),
                                                (left * a, top * b, (left + INPUT_SIZE) * a, (top + INPUT_SIZE) * b),
                                                (h, w))
    return cached


def frame_subject(frame: Frame, model: EfficientNetLite0 | None = None) -> Subject:
    """Where the image model sees the photo's subject (box and mask at analysis size), from the embedding's run."""
    frame_embedding(frame, model)  # (it puts the subject on the frame with the embedding)
    return frame.__dict__[SUBJECT_CACHE]


def frame_inner(frame: Frame, model: EfficientNetLite0 | None = None) -> np.ndarray:
    """The statistics of the network's inner maps [INNER_DIM] for the frame, from the embedding's run."""
    frame_embedding(frame, model)
    return frame.__dict__[INNER_CACHE]


class EmbeddingAnalyzer(Analyzer):
    """Stores the photo's embedding and top-5 ImageNet labels; it judges nothing (score None, weight 0).

    `data["embedding"]` is the raw 1280-d float32 feature vector, `data["labels"]` the top 5 as (name, p), and
    `data["model"]` the manifest name of the variant that computed them (fp32 and int8 agree to cosine ~0.99),
    `data["subject"]` where the model sees the subject (Subject.as_dict: box in analysis pixels, share of the frame).
    """

    name = "embedding"
    version = "1"  # the subject added to `data` changes no number: catalogued photos need no second analysis

    def __init__(self, model: EfficientNetLite0 | None = None, providers: list[str] | None = None):
        self._model = model
        self._providers = providers

    @property
    def model(self) -> EfficientNetLite0:
        if self._model is None:  # chosen in the worker process on first use: choosing imports onnxruntime
            self._model = shared_model(self._providers)
        return self._model

    def analyze(self, frame: Frame) -> Finding:
        feats, probs = frame_embedding(frame, self.model)
        labels = [(name, round(p, 4)) for _, name, p in top_labels(probs, 5)]
        subject = frame_subject(frame, self.model)
        return Finding(self.name, self.version, score=None, weight=0.0,
                       data={"embedding": feats, "labels": labels, "model": self.model.name,
                             "subject": subject.as_dict()})


@hookimpl
def keepers_analyzers(settings):
    return [EmbeddingAnalyzer(providers=getattr(settings, "providers", None))]
