"""The classical analyzers on real photos and graded distortions of them (core/lab/distort.py)."""

from __future__ import annotations

import math
from collections import Counter
from functools import lru_cache

import cv2
import numpy as np
import pytest

from conftest import sample_rgb
from keepers.core import pm
from keepers.core.lab import distort
from keepers.core.analyzers.exposure import ExposureAnalyzer
from keepers.core.analyzers.lens import LensAnalyzer
from keepers.core.analyzers.noise import NoiseAnalyzer
from keepers.core.analyzers.sharpness import SharpnessAnalyzer
from keepers.core.lab.eval import saved
from keepers.core.settings import Settings
from keepers.core.types import Frame, Meta, Photo

PHOTOS = ["astronaut", "chelsea", "coffee", "rocket", "motorcycle_left"]
CODES = {"out_of_focus", "motion_blur", "noise", "underexposed", "overexposed", "clipped_highlights",
         "clipped_shadows", "backlit", "low_contrast", "vignetting", "chromatic_aberration"}
SHARPNESS, NOISE, EXPOSURE, LENS = SharpnessAnalyzer(), NoiseAnalyzer(), ExposureAnalyzer(), LensAnalyzer()
ANALYZERS = [SHARPNESS, NOISE, EXPOSURE, LENS]


@lru_cache(maxsize=None)
def photo(name: str) -> np.ndarray:
    """A real photo bundled with scikit-image, read-only (every test derives copies from it)."""
    img = np.ascontiguousarray(sample_rgb(name))
    img.setflags(write=False)
    return img


def frame_of(rgb: np.ndarray, **meta) -> Frame:
    return Frame(photo=Photo(path="x.jpg", kind="jpeg"), rgb=np.ascontiguousarray(rgb),
                 meta=Meta(width=rgb.shape[1], height=rgb.shape[0], **meta))


def codes(rgb: np.ndarray, analyzers=ANALYZERS) -> set[str]:
    frame = frame_of(rgb)
    return {r.code for a in analyzers for r in a.analyze(frame).reasons}


def sharpness_score(rgb: np.ndarray) -> float:
    return SHARPNESS.analyze(frame_of(rgb)).score


def test_the_builtin_plugin_registers_the_four_classical_analyzers():
    names = {a.name for a in pm.analyzers(Settings())}
    assert {"sharpness", "noise", "exposure", "lens"} <= names


def test_every_distortion_keeps_the_image_format_and_grows_with_its_level():
    rgb = photo("chelsea")
    for name, fn in distort.DISTORTIONS.items():
        outs = [fn(rgb, level) for level in (1, 2, 3, 4)]
        assert all(o.shape == rgb.shape and o.dtype == np.uint8 for o in outs), name
        change = [np.abs(o.astype(np.int16) - rgb).mean() for o in outs]
        assert change[0] > 0 and all(b > a for a, b in zip(change, change[1:])), (name, change)
    with pytest.raises(ValueError):
        distort.gaussian_blur(rgb, 5)


def test_findings_are_well_formed():
    frame = frame_of(distort.noise(distort.underexpose(photo("rocket"), 3), 3), iso=3200)
    for a in ANALYZERS:
        f = a.analyze(frame)
        assert f.analyzer == a.name and f.version and 0.0 <= f.score <= 1.0 and f.weight > 0
        assert all(isinstance(v, float) and math.isfinite(v) for v in f.features.values()), a.name
        for r in f.reasons:
            assert r.code in CODES and r.message and 0.0 < r.severity <= 1.0


def test_a_thumbnail_sized_image_gets_no_opinion_rather_than_an_error():
    tiny = cv2.resize(photo("astronaut"), (40, 24), interpolation=cv2.INTER_AREA)
    assert all(a.analyze(frame_of(tiny)).score is None for a in ANALYZERS)
    small = cv2.resize(photo("astronaut"), (48, 40), interpolation=cv2.INTER_AREA)
    assert all(0.0 <= a.analyze(frame_of(small)).score <= 1.0 for a in ANALYZERS)


def test_a_long_panorama_strip_is_judged_for_focus_rather_than_failing():
    # 8:1 at the photo's own pixels: the focus grid's tiles used to need a short side of a sixth of the long one
    strip = np.ascontiguousarray(photo("astronaut")[200:264])
    sharp = SHARPNESS.analyze(frame_of(strip))
    assert sharp.score is not None and "out_of_focus" not in {r.code for r in sharp.reasons}
    blurred = SHARPNESS.analyze(frame_of(distort.gaussian_blur(strip, 3)))
    assert "out_of_focus" in {r.code for r in blurred.reasons} and blurred.score < sharp.score


@pytest.mark.parametrize("name", PHOTOS)
def test_the_original_photos_get_none_of_the_flaws(name):
    assert codes(photo(name)) == set()


@pytest.mark.parametrize("name", PHOTOS)
def test_blurred_copies_are_out_of_focus_and_score_below_the_original(name):
    original = sharpness_score(photo(name))
    for level in (2, 3, 4):
        blurred = distort.gaussian_blur(photo(name), level)
        assert "out_of_focus" in codes(blurred, [SHARPNESS]), level
        assert sharpness_score(blurred) < original - 0.1, level


def test_motion_blurred_copies_are_told_from_defocus_in_most_cases():
    kinds = Counter()
    for i, name in enumerate(PHOTOS):
        for level in (3, 4):
            for angle in (0.0, 50.0 + 20 * i, 120.0):
                kinds[frozenset(codes(distort.motion_blur(photo(name), level, angle=angle), [SHARPNESS]))] += 1
    total = sum(kinds.values())
    assert kinds[frozenset({"motion_blur"})] >= 0.8 * total, kinds
    assert kinds[frozenset()] == 0, kinds  # a smear that size is never missed


@pytest.mark.parametrize("name", PHOTOS)
def test_noisy_copies_are_flagged_and_do_not_look_sharper(name):
    for base in (photo(name), distort.gaussian_blur(photo(name), 1)):  # a sharp and a slightly soft original
        original = sharpness_score(base)
        for level in (2, 3, 4):
            noisy = distort.noise(base, level, seed=level)
            assert "noise" in codes(noisy, [NOISE]), level
            # allowance: the scatter of the estimate itself (max +0.023 over 360 noisy/clean pairs of 30 photos)
            assert sharpness_score(noisy) <= original + 0.03, level


def test_slight_grain_lifts_every_photos_noise_floor_above_any_clean_photos():
    # the floor is what tells slight grain apart across photos (docs/eval.md); both read back from the same JPEG
    # save, as photos reach Keepers, since a save smooths fine grain away
    floor = lambda rgb: NOISE.analyze(frame_of(saved(rgb))).features["noise_floor"]  # noqa: E731
    clean = [floor(photo(name)) for name in PHOTOS]
    grainy = [floor(distort.noise(photo(name), 1, seed=i)) for i, name in enumerate(PHOTOS)]
    assert min(grainy) > max(clean), (clean, grainy)


def test_the_noise_message_names_the_iso_when_the_camera_recorded_it():
    noisy = distort.noise(photo("astronaut"), 3)
    [reason] = NOISE.analyze(frame_of(noisy, iso=6400)).reasons
    assert "ISO 6400" in reason.message
    [reason] = NOISE.analyze(frame_of(noisy)).reasons
    assert "high ISO?" in reason.message


@pytest.mark.parametrize("name", PHOTOS)
def test_underexposed_copies_are_flagged(name):
    for level in (3, 4):
        assert "underexposed" in codes(distort.underexpose(photo(name), level), [EXPOSURE]), level


def test_overexposed_copies_are_flagged_on_most_photos():
    hits = {level: [n for n in PHOTOS if "overexposed" in codes(distort.overexpose(photo(n), level), [EXPOSURE])]
            for level in (3, 4)}
    # the rocket is a dusk scene: 2.5 stops brighter it looks like a fair daylight exposure
    assert len(hits[4]) >= 4 and len(hits[3]) >= 3, hits


def test_a_night_scene_with_bright_lights_is_not_called_underexposed():
    night = distort.underexpose(photo("motorcycle_left"), 4).copy()
    assert "underexposed" in codes(night, [EXPOSURE])
    h, w = night.shape[:2]
    lamps = np.zeros((h, w), np.float32)
    for i in range(16):  # street lamps: bright discs with a glow, about 2 % of the frame
        cv2.circle(lamps, (30 + i * (w - 60) // 15, h // 5 + (i % 3) * 25), 11, 1.0, -1)
    lamps = np.maximum(lamps, 0.6 * cv2.GaussianBlur(lamps, (0, 0), 6))[..., None]
    night = (night * (1 - lamps) + np.array([255, 244, 220]) * lamps).astype(np.uint8)
    assert "underexposed" not in codes(night, [EXPOSURE])


def _backlit(rgb: np.ndarray) -> np.ndarray:
    """The subject (a soft ellipse, lower centre) 1.5 stops darker, the rest 2 stops brighter and clipping."""
    h, w = rgb.shape[:2]
    mask = np.zeros((h, w), np.float32)
    cv2.ellipse(mask, (w // 2, int(h * 0.65)), (int(w * 0.2), int(h * 0.35)), 0, 0, 360, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), max(h, w) / 40)[..., None]
    return distort.to_srgb(distort.TO_LINEAR[rgb] * (4.0 * (1 - mask) + 2.0 ** -1.5 * mask))


def test_a_subject_dark_against_a_bright_background_is_backlit():
    hits = [n for n in PHOTOS if "backlit" in codes(_backlit(photo(n)), [EXPOSURE])]
    assert len(hits) >= 3, hits


@pytest.mark.parametrize("name", PHOTOS)
def test_low_contrast_copies_are_flagged(name):
    for level in (2, 3, 4):
        assert "low_contrast" in codes(distort.low_contrast(photo(name), level), [EXPOSURE]), level


def test_heavy_vignetting_is_flagged_on_most_photos():
    lens = [LENS]
    hits = [n for n in PHOTOS if "vignetting" in codes(distort.vignetting(photo(n), 4), lens)]
    # dark corners cannot always be told from dark content: a cat's black fur, a shadowed table
    assert len(hits) >= 3, hits
    assert sum("vignetting" in codes(photo(n), lens) for n in PHOTOS) == 0


@pytest.mark.parametrize("name", PHOTOS)
def test_strong_lateral_chromatic_aberration_is_flagged_and_measured(name):
    for level, px in ((3, 2.0), (4, 3.5)):
        f = LENS.analyze(frame_of(distort.chromatic_aberration(photo(name), level)))
        assert "chromatic_aberration" in {r.code for r in f.reasons}
        # red magnified, blue shrunk: the measured shifts have those signs, and red and blue part by about 2 * px
        # (a photo's own aberration adds to the synthetic one: coffee's blue already sits ~0.7 px outwards)
        red, blue = f.features["ca_red_px"], f.features["ca_blue_px"]
        assert red > 0.3 * px and blue < -0.3 * px and red - blue > px, f.features


def _shallow(rgb: np.ndarray) -> np.ndarray:
    """Sharp inside a centred ellipse, strongly blurred outside: a portrait at a wide aperture."""
    h, w = rgb.shape[:2]
    mask = np.zeros((h, w), np.float32)
    cv2.ellipse(mask, (w // 2, h // 2), (w // 4, int(h * 0.33)), 0, 0, 360, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), 4)[..., None]
    return (rgb * mask + distort.gaussian_blur(rgb, 4) * (1 - mask) + 0.5).astype(np.uint8)


@pytest.mark.parametrize("name", PHOTOS)
def test_a_shallow_depth_of_field_photo_is_not_out_of_focus(name):
    assert "out_of_focus" not in codes(_shallow(photo(name)), [SHARPNESS])
    assert "out_of_focus" in codes(distort.gaussian_blur(_shallow(photo(name)), 3), [SHARPNESS])


def test_the_full_resolution_crop_is_decoded_only_for_borderline_photos(shared_data):
    full = cv2.cvtColor(cv2.imread(str(shared_data / "camera/photos/cars.jpg")), cv2.COLOR_BGR2RGB)
    h, w = full.shape[:2]
    small = cv2.resize(full, (1024, round(h * 1024 / w)), interpolation=cv2.INTER_AREA)
    cases = {"sharp": (small, full), "soft preview of a sharp photo": (cv2.GaussianBlur(small, (0, 0), 1.0), full),
             "blurred": (distort.gaussian_blur(small, 3), cv2.GaussianBlur(full, (0, 0), 7.0))}
    seen = {}
    for label, (analysis, original) in cases.items():
        calls = []
        frame = Frame(photo=Photo("x.jpg", "jpeg"), rgb=analysis, meta=Meta(width=w, height=h), scale=1024 / w,
                      _full_loader=lambda o=original: calls.append(1) or o)
        f = SHARPNESS.analyze(frame)
        seen[label] = (len(calls), {r.code for r in f.reasons}, f.features["refined"])
    assert seen["sharp"] == (0, set(), 0.0)
    assert seen["soft preview of a sharp photo"] == (1, set(), 1.0)  # the full pixels show it is sharp
    assert seen["blurred"] == (0, {"out_of_focus"}, 0.0)


def test_few_clean_photos_are_flagged_for_any_flaw(shared_data):
    files = sorted(p for p in (shared_data / "clean").rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    files = files[:: max(1, len(files) // 100)]
    flagged = Counter()
    for p in files:
        rgb = cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB)
        flagged.update(codes(rgb))
    rates = {c: flagged[c] / len(files) for c in CODES}
    print(f"\nclean photos: {len(files)}; flagged share per reason: "
          + ", ".join(f"{c} {r:.1%}" for c, r in sorted(rates.items(), key=lambda kv: -kv[1])))
    assert len(files) >= 90
    assert all(r <= 0.10 for r in rates.values()), rates
    assert rates["out_of_focus"] + rates["motion_blur"] <= 0.05, rates


def test_fine_gradients_taken_only_at_edge_points_equal_the_dense_ones_even_at_the_border():
    from keepers.core.analyzers import sharpness

    b = np.random.default_rng(3).random((37, 53)).astype(np.float32)
    gx, gy = sharpness._grad(b)
    ys = np.array([0, 0, 36, 36, 5, 17, 36, 0])
    xs = np.array([0, 52, 0, 52, 9, 52, 20, 31])
    px, py = sharpness._grad_at(b, ys, xs)
    assert np.allclose(px, gx[ys, xs], atol=1e-6) and np.allclose(py, gy[ys, xs], atol=1e-6)
