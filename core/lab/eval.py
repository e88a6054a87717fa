"""`keepers eval`: how well the quality engine judges photos it never saw, on ../shared/data.

The sets are split into train and test ONCE, here, by a fixed seed; models/train/quality.py trains on the train
parts only and this command scores the test parts: reference-vs-distorted pairs of the same photo, clean vs real
defect photos (AUC), per-flaw AUC of clean vs synthetically distorted photos, whether a flawed photo judged bad
names its flaw first, closed-eye precision/recall/F1. Photos go through the same analyzers and the same decide step
as a cull, not a shortcut.
"""

from __future__ import annotations

import csv
import dataclasses
import sys
import time
import zlib
from pathlib import Path

import numpy as np

SEED = 0
TEST_SHARE = 0.3  # of each clean set
DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
CLEAN_SETS = ("imagenet", "CBSD68", "CSet14", "CSet5", "CSun_Hays80", "CUrban100", "McMaster")
LEVELS = (1, 2, 3, 4)


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


def auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """P(a positive scores above a negative), ties counted half."""
    pos, neg = np.asarray(pos, float), np.asarray(neg, float)
    if not len(pos) or not len(neg):
        return float("nan")
    d = pos[:, None] - neg[None, :]
    return float(((d > 0).sum() + 0.5 * (d == 0).sum()) / d.size)


KINDS = ("gaussian_blur", "motion_blur", "noise", "jpeg", "underexpose", "overexpose", "low_contrast", "vignetting",
         "chromatic_aberration", "lowlight")


def distorted(rgb: np.ndarray, kind: str, level: int, key: str) -> np.ndarray:
    """`rgb` with one graded synthetic flaw; `key` (the photo's name) seeds the noise and the smear direction.
    `lowlight` is what a dim scene gives: underexposed, then the sensor's noise on top."""
    from keepers.core.lab import distort

    seed = zlib.crc32(key.encode())
    if kind == "noise":
        out = distort.noise(rgb, level, seed=seed)
    elif kind == "motion_blur":
        out = distort.motion_blur(rgb, level, angle=float(seed % 180))
    elif kind == "lowlight":
        out = distort.noise(distort.underexpose(rgb, level), level, seed=seed)
    else:
        out = distort.DISTORTIONS[kind](rgb, level)
    return saved(out)


SAVE_QUALITY = 92  # what a camera or an editor writes


def saved(rgb: np.ndarray) -> np.ndarray:
    """`rgb` as it reads back from a JPEG file. A flawed photo reaches Keepers as a file, and JPEG smooths fine
    grain: a head that only ever saw noise straight from the generator read a saved noisy photo as clean."""
    import cv2

    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(rgb[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, SAVE_QUALITY])
    return np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1])


def variant_frame(frame, rgb: np.ndarray):
    """A Frame holding `rgb` in place of the photo's pixels (same metadata, its own size)."""
    from keepers.core.types import Frame

    meta = dataclasses.replace(frame.meta, width=rgb.shape[1], height=rgb.shape[0])
    return Frame(frame.photo, np.ascontiguousarray(rgb), meta, 1.0, frame.source)


# --- the evaluation: every test photo through the quality analyzer, as a cull judges it -------------------------

_state: dict = {}


def _pool_init(good_threshold: float) -> None:
    from keepers.core.workers import prepare_worker

    prepare_worker()  # one thread per library, freed memory reused, as the cull's workers
    _init(good_threshold)


def _init(good_threshold: float) -> None:
    from keepers.core import pm
    from keepers.core.analyzers.quality import QualityAnalyzer
    from keepers.core.settings import Settings

    _state["settings"] = Settings(good_threshold=good_threshold)
    _state["analyzers"] = pm.analyzers(_state["settings"])
    _state["quality"] = next(a for a in _state["analyzers"] if isinstance(a, QualityAnalyzer))  # alone: eye photos


# the reasons that name each synthetic flaw (a blur reads as soft either way; a dim, noisy scene as either flaw)
NAMES = {"gaussian_blur": {"out_of_focus"}, "motion_blur": {"motion_blur", "out_of_focus"}, "noise": {"noise"},
         "jpeg": {"jpeg_artifacts"}, "underexpose": {"underexposed", "clipped_shadows"},
         "overexpose": {"overexposed", "clipped_highlights"}, "low_contrast": {"low_contrast"},
         "vignetting": {"vignetting"}, "chromatic_aberration": {"chromatic_aberration"},
         "lowlight": {"underexposed", "clipped_shadows", "noise"}}


def score_photo(path: str, synthetic: bool, levels: tuple[int, ...] = LEVELS) -> dict[str, tuple[float, dict, list]]:
    """variant ("orig", "<kind>-<level>") -> (1-10 score, flaw scores, reason codes in the order a cull gives
    them) of one test photo (and its distortions)."""
    from keepers.core.analyzers import run_all
    from keepers.core.judge.judgement import judge
    from keepers.core.io.loader import load
    from keepers.core.analyzers.quality import flaw_scores
    from keepers.core.types import Photo

    frame = load(Photo(path, "jpeg"), 1024)
    variants = {"orig": frame.rgb}
    for kind in KINDS if synthetic else ():
        for lv in levels:
            variants[f"{kind}-{lv}"] = distorted(frame.rgb, kind, lv, Path(path).name)
    out = {}
    for name, rgb in variants.items():
        found = run_all(variant_frame(frame, rgb), _state["analyzers"])
        v = judge(found, _state["settings"])
        out[name] = (v.score, flaw_scores(next(f for f in found if f.analyzer == "quality")), [r.code for r in v.reasons])
    return out


def closed_eye_photo(path: str) -> bool:
    """Whether a cull would give this photo a closed-eye reason (the faces analyzer's, or the quality analyzer's
    second look at a face that fills the frame)."""
    from keepers.core.io.loader import load
    from keepers.core.analyzers.quality import analyze_alone
    from keepers.core.types import Photo

    frame = load(Photo(path, "jpeg"), 1024)
    reasons = [r for f in analyze_alone(frame, _state["quality"]) for r in f.reasons]
    return any("closed" in r.code or "blink" in r.code for r in reasons)


def _map(fn, args: list[tuple], workers: int, good_threshold: float, label: str) -> list:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    print(f"{label}: {len(args)} photos...", file=sys.stderr, flush=True)  # stdout is the report (or its JSON)
    if workers <= 1:
        _init(good_threshold)
        return [fn(*a) for a in args]
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_pool_init,
                             initargs=(good_threshold,)) as pool:
        return list(pool.map(fn, *zip(*args), chunksize=1))


def evaluate(data: Path = DATA, every: int = 1, workers: int = 2, good_threshold: float = 5.0) -> dict:
    """All the numbers of `keepers eval` on the test parts (every `every`-th photo of each)."""
    _, clean = clean_split(data)
    _, bad = defects_split(data)
    clean, bad = clean[::every], bad[::every]
    t0 = time.time()
    scored = _map(score_photo, [(str(p), True) for p in clean] + [(str(p), False) for p in bad], workers,
                  good_threshold, "clean test photos with their distortions, and real-defect test photos")
    # each flaw's own scorer: its score for that flaw, clean originals against their flawed copies
    flaw = {kind: {lv: auc(np.array([s[f"{kind}-{lv}"][1][kind] for s in scored[: len(clean)]]),
                           np.array([s["orig"][1][kind] for s in scored[: len(clean)]])) for lv in LEVELS}
            for kind in KINDS}
    # a flawed copy judged bad: does the first of its reasons name the flaw?
    first = {kind: [bool(s[f"{kind}-{lv}"][2]) and s[f"{kind}-{lv}"][2][0] in NAMES[kind]
                    for s in scored[: len(clean)] for lv in LEVELS if s[f"{kind}-{lv}"][0] < good_threshold]
             for kind in KINDS}
    scored = [{k: v[0] for k, v in s.items()} for s in scored]  # the overall scores, from here on
    sc, sb = scored[: len(clean)], scored[len(clean):]
    orig = np.array([s["orig"] for s in sc])
    real = np.array([s["orig"] for s in sb])
    dist = [(s["orig"], v, k) for s in sc for k, v in s.items() if k != "orig"]
    out = {"photos": {"clean": len(clean), "real_defects": len(bad)},
           "pairs_right": float(np.mean([o > v for o, v, _ in dist])),
           "pairs_right_by_kind": {kind: float(np.mean([o > v for o, v, k in dist if k.startswith(kind + "-")]))
                                   for kind in KINDS},
           "clean_vs_real_defect_auc": auc(orig, real),
           "goodbad_subset_auc": auc(np.array([s["orig"] for p, s in zip(clean, sc)
                                               if p.parent.name in ("CBSD68", "McMaster")]), real),
           "real_defects_judged_bad": float((real < good_threshold).mean()),
           "clean_judged_good": float((orig >= good_threshold).mean()),
           "flaw_auc": {kind: auc(orig, np.array([v for _, v, k in dist if k.startswith(kind + "-")]))
                        for kind in KINDS},
           "flaw_auc_by_level": {kind: {lv: auc(orig, np.array([s[f"{kind}-{lv}"] for s in sc])) for lv in LEVELS}
                                 for kind in KINDS},
           # all levels pooled: the mean of the per-level AUCs, as every level has one copy of each photo
           "flaw_scorer_auc": {kind: float(np.mean(list(flaw[kind].values()))) for kind in KINDS},
           "flaw_scorer_auc_by_level": flaw,
           "first_reason_names_flaw": float(np.mean(sum(first.values(), []))),
           "first_reason_names_flaw_by_kind": {k: float(np.mean(v)) if v else float("nan") for k, v in first.items()},
           "flawed_judged_bad": {k: len(v) for k, v in first.items()}}
    _, eyes = eye_split(data)
    eyes = eyes[::every]
    said = _map(closed_eye_photo, [(str(data / "eyes" / f),) for f, _ in eyes], workers, good_threshold,
                "labelled eye test photos")
    truth = np.array([c for _, c in eyes])
    pred = np.array(said)
    tp = int((pred & truth).sum())
    p, r = tp / max(1, pred.sum()), tp / max(1, truth.sum())
    out["closed_eyes"] = {"photos": len(eyes), "precision": p, "recall": r, "f1": 2 * p * r / max(p + r, 1e-9)}
    out["seconds"] = round(time.time() - t0, 1)
    return out


def report(m: dict) -> str:
    """The numbers as the Markdown that docs/eval.md keeps."""
    goal = lambda v, g: f"{v:.3f} {'✓' if v >= g else '✗'}"  # noqa: E731
    lines = [f"held-out photos: {m['photos']['clean']} clean (x {len(KINDS)} flaws x {len(LEVELS)} levels), "
             f"{m['photos']['real_defects']} real-defect, {m['closed_eyes']['photos']} labelled eye photos",
             "", "| measure | value | goal |", "|---|---|---|",
             f"| reference ranked above its distorted copy | {goal(m['pairs_right'], 0.95)} | ≥ 0.95 |",
             f"| AUC clean vs real-defect photos | {goal(m['clean_vs_real_defect_auc'], 0.95)} | ≥ 0.95 |",
             f"| (CBSD68 + McMaster vs real defects) | {m['goodbad_subset_auc']:.3f} | |",
             f"| real-defect photos judged bad / clean judged good | {m['real_defects_judged_bad']:.2f} / "
             f"{m['clean_judged_good']:.2f} | |"]
    # per flaw: the overall score's AUC, then the flaw's own scorer's
    rows = [(k, "flaw_auc", f"AUC clean vs {k} (levels 1-4: {{}}); pairs {m['pairs_right_by_kind'][k]:.2f}")
            for k in KINDS]
    rows += [(k, "flaw_scorer_auc", f"its flaw scorer: AUC {k} copies vs clean (levels 1-4: {{}})") for k in KINDS]
    for kind, key, label in rows:
        g = 0.95 if kind in ("gaussian_blur", "noise", "underexpose", "overexpose") else None
        v = m[key][kind]
        levels = ", ".join(f"{m[key + '_by_level'][kind][lv]:.2f}" for lv in LEVELS)
        lines.append(f"| {label.format(levels)} | {goal(v, g) if g else f'{v:.3f}'} | {'≥ 0.95' if g else ''} |")
    by_kind = ", ".join(f"{k} {m['first_reason_names_flaw_by_kind'][k]:.2f}" for k in KINDS)
    lines.append(f"| flawed copies judged bad whose first reason names the flaw ({by_kind}) | "
                 f"{m['first_reason_names_flaw']:.3f} | |")
    ce = m["closed_eyes"]
    lines.append(f"| closed eyes P / R / F1 | {ce['precision']:.3f} / {ce['recall']:.3f} / {goal(ce['f1'], 0.9)} "
                 "| F1 ≥ 0.9 |")
    return "\n".join(lines)
