"""The held-out photos of `keepers eval` (keepers.core.lab.eval): each set of ../shared/data split into train and
test once, by a fixed seed, so models/train trains on the train parts and the command scores the test parts."""

from __future__ import annotations

import csv
import zlib
from pathlib import Path

import numpy as np

SEED = 0
TEST_SHARE = 0.3  # of each clean set
DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
CLEAN_SETS = ("imagenet", "CBSD68", "CSet14", "CSet5", "CSun_Hays80", "CUrban100", "McMaster")


def _perm(n: int, key: str, seed: int = SEED) -> np.ndarray:
    return np.random.default_rng([seed, zlib.crc32(key.encode())]).permutation(n)


def clean_split(data: Path = DATA) -> tuple[list[Path], list[Path]]:
    """(train, test) clean photos: per set, a seeded permutation; the first TEST_SHARE of it is the test part."""
    train, test = [], []
    for s in CLEAN_SETS:
        files = sorted(p for p in (data / "clean" / s).iterdir() if p.is_file())
        perm = _perm(len(files), s)
        k = round(TEST_SHARE * len(files))
        test += [files[i] for i in perm[:k]]
        train += [files[i] for i in perm[k:]]
    return train, test


def defects_split(data: Path = DATA) -> tuple[list[Path], list[Path]]:
    """(train, test) real-defect photos: half of each folder (noisy, lowlight) each, seeded."""
    train, test = [], []
    for folder in sorted(p for p in (data / "real_defects").iterdir() if p.is_dir()):
        files = sorted(folder.iterdir())
        perm = _perm(len(files), folder.name)
        half = len(files) // 2
        test += [files[i] for i in perm[:half]]
        train += [files[i] for i in perm[half:]]
    return train, test


def eye_split(data: Path = DATA) -> tuple[list[tuple[str, bool]], list[tuple[str, bool]]]:
    """The split the closed-eye rule was fitted on (tests/test_faces.py): per class, seed 0, first half train."""
    with open(data / "eyes" / "labels.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    train, test = [], []
    for label in ("closed", "open_assumed"):
        files = sorted(r["file"] for r in rows if r["eyes"] == label)
        perm = np.random.default_rng(0).permutation(len(files))
        half = len(files) // 2
        train += [(files[i], label == "closed") for i in perm[:half]]
        test += [(files[i], label == "closed") for i in perm[half:]]
    return train, test
