"""Damage no other measure sees: colour bleeding across edges, washed-out colour, detail smeared by heavy noise
reduction, jagged edges, halos of over-sharpening, colour misaligned on the outlines, over-pushed colour (KADID-10k's
colour diffusion, desaturation, denoising, jitter, high sharpen, colour shift and saturation boost; issue 21 item 4).

A learned measure: the texture statistics of EfficientNet-Lite0's early and middle feature maps (each channel's
mean, spread and cell-to-cell change: core/inference/embedding.py INNER, map_stats; read in the embedding's own run,
no second pass) go through a ridge head (models/damage_head.npz, recipe models/train/damage.py) that says how much
people would mind each kind of damage. A kind counts only above the highest value any undamaged training photo
reached (clean photos, video frames, faces, textures), so a sound photo, foliage or fabric is not charged; the
judging step prices each as people price it (core/judge/prices.py: ARTEFACTS, PENALTY). Washed-out colour is never
said of a photo without colour: monochrome is a choice.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from keepers.core.analyzers import Analyzer
from keepers.core.inference.runtime import MODELS_DIR, trained_arrays
from keepers.core.types import Finding, Frame, Reason

HEAD_FILE = MODELS_DIR / "damage_head.npz"
MANIFEST = MODELS_DIR / "manifest" / "damage_head.json"
MIN_SIDE = 32
_OFF_GREY = (np.eye(3) - 1 / 3).astype(np.float32)  # each channel minus the pixel's mean of the three
# Each says what a photographer sees in words no other reason uses: "smeared" is motion blur's, "washed-out" the
# flat tones of low contrast and an over-bright exposure; "halos", "misaligned" and "over-saturated" belong to no
# other reason (chromatic aberration's are "colour fringes").
REASONS = {
    "colour_bleed": "Colour bleeding: colours spill across edges and glow into their surroundings (as from heavy "
                    "compression or a bad conversion)",
    "washed_out": "Faded colour: the colours look drained towards grey",
    "smeared": "Waxy detail: fine texture wiped smooth, as by heavy noise reduction",
    "jagged": "Jagged edges: lines and outlines look broken and displaced",
    "haloed": "Over-sharpened: bright and dark halos outline the edges and fine texture turns gritty",
    "misaligned_colour": "Misaligned colour: a colour channel sits off the outlines and ghosts them in another hue",
    "oversaturated": "Over-saturated colour: colours pushed past life, glaring and without shades within each hue",
}


@lru_cache(maxsize=1)
def head() -> dict[str, np.ndarray]:
    return trained_arrays(HEAD_FILE, "damage head", "models/train/damage.py")  # checked against MANIFEST's sha256


def chroma(frame: Frame) -> float:
    """Mean distance of each channel from the pixel's grey, in levels, on the image the network saw (the
    embedding's shrunk copy, cached on the frame): ~0 for a greyscale photo, 5-30 for ordinary colour photos."""
    from keepers.core.inference.embedding import network_image

    rgb = network_image(frame).astype(np.float32)
    return float(cv2.norm(cv2.transform(rgb, _OFF_GREY), cv2.NORM_L1)) / rgb.size  # 0.1 ms; numpy's mean: 1-5


def severities(inner: np.ndarray, colour: float) -> dict[str, float]:
    """reason code -> severity 0..1 from the inner maps' statistics and the photo's chroma."""
    z = head()
    out = (((inner - z["mean"]) / z["scale"]) @ z["W"] + z["b"] - z["starts"]) / z["span"]  # span: one per kind
    sev = {str(c): float(np.clip(v, 0.0, 1.0)) for c, v in zip(z["codes"], out)}
    if colour < float(z["grey"]):
        sev["washed_out"] = 0.0
    return sev


def finding(sev: dict[str, float], version: str) -> Finding:
    reasons = [Reason(c, REASONS[c], round(s, 3)) for c, s in sev.items() if round(s, 3) > 0]
    return Finding("damage", version, None, reasons, weight=0.0,
                   features={f"damage_{c}": round(s, 4) for c, s in sev.items()})


class DamageAnalyzer(Analyzer):
    """Reasons only (score None, weight 0): the judging step prices them against the quality head's score."""

    name = "damage"
    version = "3"  # 2: three more kinds and a steeper span; 3: steeper still, but the colour kinds (train/damage.py)

    def analyze(self, frame: Frame) -> Finding:
        if min(frame.rgb.shape[:2]) < MIN_SIDE:
            return Finding(self.name, self.version, None)
        from keepers.core.inference.embedding import frame_inner

        return finding(severities(frame_inner(frame), chroma(frame)), self.version)
