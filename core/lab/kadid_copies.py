"""What the KADID measure reads and judges: its constants, people's mean opinion per type and level (KADID-10k,
TID2013's shared types), the copy a cull would read of a clean photo, and every copy of one photo scored."""

from __future__ import annotations

import numpy as np

from keepers.core.lab.kadid_distort import distort
from keepers.core.lab.kadid_types import NAMES


LABELS = "iqa_labels"
EVERY = 3  # every 3rd held-out clean photo (44 of 130): 5,544 judged copies, ~15 min on 2 shared cores
MIN_GAP = 0.5  # KADID DMOS (1-5) apart for a pair of cells to count; TID2013's MOS (0-9) scale: x 9/4
SAVED_AS_IS = ("jpeg", "jpeg2000")
# types the quality head's inputs (whole-frame sharpness, noise, exposure, lens measures) barely see: reported apart
BLIND = (4, 6, 7, 13, 15, 19, 20, 21, 23)  # already compressed files; every other copy is read back from a q92 JPEG
# TID2013 types that are KADID's (by name, or the same operation under another name)
TID = {"gaussian_blur": 1, "jpeg2000": 9, "jpeg": 10, "additive_gaussian_noise": 11, "additive_noise_color": 12,
       "impulse_noise": 13, "multiplicative_gaussian_noise": 14, "image_denoising": 15, "mean_shift": 18,
       "non_eccentricity_pattern_noise": 20, "quantization_noise": 22, "local_blockwise_distortions": 23,
       "contrast_change": 25, "change_of_color_saturation": 7, "color_quantization_dither": 6}


def human(data=None, table: str = "kadid10k") -> dict[tuple[int, int], float]:
    """(KADID type id, level) -> people's mean opinion (KADID: DMOS 1-5; TID2013: MOS 0-9, its shared types)."""
    import csv

    from keepers.core.lab.eval import DATA

    col = "mean_dmos" if table == "kadid10k" else "mean_mos"
    with open((data or DATA) / LABELS / f"{table}_type_level_mos.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    if table == "kadid10k":
        return {(int(r["type"]), int(r["level"])): float(r[col]) for r in rows}
    return {(TID[r["name"]], int(r["level"])): float(r[col]) for r in rows if r["name"] in TID}


def copy_of(rgb: np.ndarray, type_id: int, level: int, key: str) -> np.ndarray:
    """The copy a cull would read: distorted (seeded by the photo's name and the type), then saved as a q92 JPEG
    unless the type is a compression."""
    import zlib

    from keepers.core.lab.eval import saved

    out = distort(rgb, type_id, level, zlib.crc32(f"{key}|{type_id}".encode()))
    return out if NAMES[type_id - 1] in SAVED_AS_IS else saved(out)


def score_copies(path: str) -> dict[str, float]:
    """"orig" and "<type>-<level>" -> the 1-10 score the judging step gives (in a pool made by eval._map)."""
    from pathlib import Path

    from keepers.core.analyzers import run_all
    from keepers.core.io.loader import load
    from keepers.core.judge.judgement import judge
    from keepers.core.lab.eval import _state, variant_frame
    from keepers.core.types import Photo

    frame = load(Photo(path, "jpeg"), 1024)
    out = {}
    for name, t, lv in [("orig", 0, 0)] + [(f"{t}-{lv}", t, lv) for t in range(1, 26) for lv in range(1, 6)]:
        rgb = frame.rgb if not t else copy_of(frame.rgb, t, lv, Path(path).name)
        out[name] = judge(run_all(variant_frame(frame, rgb), _state["analyzers"]), _state["settings"]).score
    return out
