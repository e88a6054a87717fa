"""The quality engine on real photos: the learned head ranks flawed copies below their originals, routing, the
landscape checks, and every verdict it leads to names its reasons."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from conftest import ROOT, sample_rgb
from helpers import frame_of as frame

from keepers.core.analyzers import landscape, quality
from keepers.core.judge.judgement import judge
from keepers.core.lab.eval import KINDS, NAMES, distorted
from keepers.core.inference.runtime import MODELS_DIR, sha256
from keepers.core.settings import Settings

# scikit-image's photos: never seen in training (the head was trained on ../shared/data only)
HELD_OUT = ("astronaut", "chelsea", "coffee", "rocket", "motorcycle")


@pytest.fixture(scope="module")
def analyzer():
    return quality.QualityAnalyzer()


def measure(analyzer, rgb: np.ndarray):
    """The quality finding and every finding the judging step reads, as a cull makes them."""
    found = quality.analyze_alone(frame(rgb), analyzer)
    return found[-1], found


def score(analyzer, rgb: np.ndarray) -> float:
    return judge(measure(analyzer, rgb)[1], Settings()).score


def rotated(rgb: np.ndarray, degrees: float) -> np.ndarray:
    """Turned anticlockwise about the centre, cropped to the part that was inside the photo."""
    h, w = rgb.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    out = cv2.warpAffine(rgb, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    c = int(np.ceil(abs(np.sin(np.radians(degrees))) * max(h, w) / 2)) + 2
    return np.ascontiguousarray(out[c : h - c, c : w - c])


def test_the_head_file_matches_its_manifest_checksum():
    entry = json.loads((MODELS_DIR / "manifest" / "quality_head.json").read_text())
    assert sha256(MODELS_DIR / entry["file"]) == entry["sha256"]
    assert entry["held_out"]["pairs"] >= 0.9  # the model card carries the numbers it was shipped with


def test_the_head_scores_as_its_training_script_scored_it():
    """The shipped head is the mean of several scorers; run time averages them as training did (models/train/
    quality.py: predict), so the calibration fitted there holds here."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("train_quality", ROOT / "models" / "train" / "quality.py")
    train = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train)
    head = quality.QualityHead()
    model = {k: head.z[k] for k in ("W1", "b1", "w2", "w") if k in head.z}
    width = model["W1"].shape[-2] if "W1" in model else model["w"].shape[-1]
    x = np.random.default_rng(0).normal(size=(16, width))
    np.testing.assert_allclose([head.raw(row) for row in x], train.predict(model, x), rtol=1e-5, atol=1e-6)


def test_the_flaw_scorers_file_matches_its_manifest_checksum():
    entry = json.loads((MODELS_DIR / "manifest" / "flaw_scorers.json").read_text())
    assert sha256(MODELS_DIR / entry["file"]) == entry["sha256"]
    assert entry["held_out"]["gaussian_blur"]["pooled"] >= 0.95  # the numbers it was shipped with travel with it


def test_each_flaw_scorer_names_its_flaw_on_copies_of_photos_it_never_saw(analyzer):
    """A flaw's own scorer rates a photo's flawed copy (saved as a JPEG, as it would reach Keepers) well above the
    photo itself, and mostly above every other flaw's scorer: it says which flaw the photo shows."""
    gains, top = [], 0
    for name in HELD_OUT:
        rgb = sample_rgb(name)
        base = quality.flaw_scores(analyzer.analyze(frame(rgb)))
        for kind in ("gaussian_blur", "noise", "underexpose", "overexpose", "low_contrast", "jpeg"):
            scores = quality.flaw_scores(analyzer.analyze(frame(distorted(rgb, kind, 3, name))))
            gains.append((scores[kind] - base[kind], name, kind))
            related = {"gaussian_blur": "motion_blur", "underexpose": "lowlight"}.get(kind)  # alike to the eye too
            top += max(scores, key=scores.get) in (kind, related)
    # in units of the spread of clean photos' scores: the rocket's sky, bright already, gains least from +1.8 EV
    assert min(gains)[0] > 0.4 and np.median([g for g, _, _ in gains]) > 2.5, sorted(gains)[:3]
    assert top >= 0.8 * len(gains), f"{top} of {len(gains)}"


def test_distorted_copies_of_held_out_photos_score_below_their_originals(analyzer):
    right, total, worst = 0, 0, []
    for name in HELD_OUT:
        rgb = sample_rgb(name)
        ref = score(analyzer, rgb)
        for kind in KINDS:
            for level in (2, 4):
                s = score(analyzer, distorted(rgb, kind, level, name))
                right += s < ref
                total += 1
                if s >= ref:
                    worst.append((name, kind, level, ref, s))
    assert right / total >= 0.95, worst


def test_a_heavily_blurred_photo_is_rejected_with_a_reason_and_says_which_model_judged_it(analyzer):
    q, findings = measure(analyzer, distorted(sample_rgb("coffee"), "gaussian_blur", 4, "coffee"))
    v = judge(findings, Settings())
    assert v.verdict == "bad" and v.reasons, v
    assert v.judged_by == "quality/other"
    assert v.reasons[0].cost > 0


def test_a_flawed_copy_judged_bad_names_its_flaw_first(analyzer):
    """Reasons are ranked by the points each took: a noisy or blocky copy of the cat is bad for its noise or its
    blocks, not for a softness its clean self has too. (Reasons were once ranked by their analyzers' own scores: a
    flaw that took no points could come first: 92 % of these named the flaw first, 98 % now; keepers eval measures
    the same on held-out photos.)"""
    named, missed = 0, []
    for name in HELD_OUT:
        rgb = sample_rgb(name)
        for kind in KINDS:
            for level in (2, 3, 4):
                v = judge(measure(analyzer, distorted(rgb, kind, level, name))[1], Settings())
                if v.verdict == "bad":
                    first = v.reasons[0].code
                    named += first in NAMES[kind]
                    missed += [] if first in NAMES[kind] else [(name, kind, level, first)]
    assert named / (named + len(missed)) >= 0.95, missed


def test_a_flaw_only_the_quality_model_saw_is_named_and_says_so(analyzer):
    # no analyzer measures JPEG blocks: the head's flaw classifier names them, and the message says whose reading it is
    v = judge(measure(analyzer, distorted(sample_rgb("chelsea"), "jpeg", 4, "chelsea"))[1], Settings())
    assert v.verdict == "bad" and v.reasons[0].code == "jpeg_artifacts", v.reasons
    assert v.reasons[0].message.endswith("as the quality model sees it")


def test_a_clean_photo_is_good_and_its_head_score_is_on_the_1_to_10_scale(analyzer):
    q, findings = measure(analyzer, sample_rgb("chelsea"))
    v = judge(findings, Settings())
    assert v.verdict == "good" and 1.0 <= q.features["head_score"] <= 10.0
    # nothing the head cannot see lowered it; the head's points for slight noise are priced as people price them
    # (core/judge/prices.PRICE: 70-90 % kept), which may give a few back
    assert q.features["head_score"] - 0.01 <= v.score <= q.features["head_score"] + 0.5


def test_the_astronaut_is_routed_to_the_portrait_checks(analyzer):
    q, found = measure(analyzer, sample_rgb("astronaut"))
    assert q.data["route"] == "portrait" and judge(found, Settings()).judged_by == "quality/portrait"
    assert "portrait" in q.data


def test_a_cup_of_coffee_is_neither_portrait_nor_landscape(analyzer):
    q, _ = measure(analyzer, sample_rgb("coffee"))
    assert q.data["route"] == "other"


@pytest.fixture(scope="module")
def horizon_photo(shared_data):
    from PIL import Image

    paths = sorted((shared_data / "clean" / "CSun_Hays80").glob("marsh_sun_*.jpg"))
    if not paths:
        pytest.skip("needs ../shared/data/clean/CSun_Hays80")
    return np.asarray(Image.open(paths[0]).convert("RGB"))


def test_a_level_horizon_is_found_and_left_alone(horizon_photo):
    hz = landscape.horizon(horizon_photo)
    assert hz is not None and abs(hz["angle"]) < 1.0
    reasons, _ = landscape.check(frame(horizon_photo), {})
    assert "tilted_horizon" not in [r.code for r in reasons]


@pytest.mark.parametrize("degrees", [3.0, -4.0])
def test_a_tilted_copy_of_a_horizon_photo_gets_tilted_horizon(analyzer, horizon_photo, degrees):
    q, findings = measure(analyzer, rotated(horizon_photo, degrees))
    assert q.data["route"] == "landscape"
    assert q.data["landscape"]["horizon"]["angle"] == pytest.approx(degrees, abs=1.0)
    v = judge(findings, Settings())
    assert "tilted_horizon" in [r.code for r in v.reasons]


def test_the_tilt_lowers_the_score(analyzer, horizon_photo):
    level = score(analyzer, horizon_photo)
    tilted = score(analyzer, rotated(horizon_photo, 5.0))
    assert tilted < level
