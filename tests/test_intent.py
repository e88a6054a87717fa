"""Intent, not flaws (issue 21): real photos people keep are not judged bad or given flaw reasons for what was meant
(a dark backdrop, foliage, a silhouette, a small sharp portrait, sunglasses), and misfires (a finger over a corner, a
colour cast over one side) are rejects that say where. Real files from ../shared/data through every analyzer and
the judging step, as a cull judges them."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from keepers.core.lab.eval import saved, variant_frame


@pytest.fixture(scope="module")
def cull():
    """Judge a file (or a frame) as a cull does: every analyzer, then the judging step."""
    from keepers.core import pm
    from keepers.core.analyzers import run_all
    from keepers.core.io.discover import kind_of
    from keepers.core.io.loader import load
    from keepers.core.judge.judgement import judge
    from keepers.core.settings import Settings
    from keepers.core.types import Photo

    settings = Settings()
    analyzers = pm.analyzers(settings)

    def run(what):
        frame = what if not isinstance(what, str) else load(Photo(what, kind_of(what)), settings.analysis_size)
        return judge(run_all(frame, analyzers), settings)

    run.load = lambda path: load(Photo(str(path), kind_of(str(path))), settings.analysis_size)
    return run


def costly(v, codes) -> list[str]:
    return [r.code for r in v.reasons if r.code in codes and r.cost >= 0.5]


@pytest.mark.parametrize("name", ["nature/notocactus_minimus.jpg", "nature/orychophragmus_violaceus.jpg", "cars.jpg"])
def test_a_dark_macro_or_night_street_is_kept_and_not_called_vignetted(shared_data, cull, name):
    v = cull(str(shared_data / "camera" / "photos" / name))
    assert v.verdict == "good", (v.score, v.reasons)
    assert "vignetting" not in [r.code for r in v.reasons]
    assert "low_key" in [r.code for r in v.reasons]  # says what it recognised


@pytest.mark.parametrize("name", ["silver_fir.jpg", "wood_anemones.jpg"])
def test_foliage_is_texture_not_noise(shared_data, cull, name):
    v = cull(str(shared_data / "camera" / "photos" / "nature" / name))
    assert v.verdict == "good"
    assert "noise" not in [r.code for r in v.reasons], v.reasons
    assert "texture" in [r.code for r in v.reasons]


@pytest.mark.parametrize("name", ["face_1002.jpg", "face_1007.jpg"])
def test_a_small_portrait_with_sharp_eyes_is_not_called_soft(shared_data, cull, name):
    v = cull(str(shared_data / "eyes" / "open_assumed" / name))
    assert v.verdict == "good", (v.score, v.reasons)
    assert not {"out_of_focus", "motion_blur"} & {r.code for r in v.reasons}, v.reasons


@pytest.mark.parametrize("name", ["CSet14/lenna.jpg", "CBSD68/302008.jpg"])
def test_a_shaken_portrait_is_not_excused_by_eyes_that_read_sharp_along_the_smear(shared_data, cull, name):
    # across a camera shake the eyes' edges along the smear stay crisp: their blur read 0.75-1.4 px and the
    # sharp-subject rule gave the shaken copy all its points back, scoring it over its sharp original
    from keepers.core.lab.eval import distorted

    frame = cull.load(shared_data / "clean" / name)
    sharp = cull(frame)
    shaken = cull(variant_frame(frame, distorted(frame.rgb, "motion_blur", 3, name.split("/")[1])))
    assert shaken.score < sharp.score and shaken.verdict == "bad", (shaken.score, shaken.reasons)
    assert "sharp_subject" not in [r.code for r in shaken.reasons]


def test_a_sharp_sunset_silhouette_is_not_called_motion_blur(shared_data, cull):
    v = cull(str(shared_data / "real_defects" / "lowlight" / "05.jpg"))
    assert not {"out_of_focus", "motion_blur"} & {r.code for r in v.reasons}, v.reasons
    assert "silhouette" in [r.code for r in v.reasons]
    assert v.verdict == "good", (v.score, v.reasons)


# bright flowers centred on dark foliage (taste/flowers: sound photos 22 people compared for beauty): the head read the
# dark surround as vignetting and judged them bad (0.jpg 4.8 bad; 144.jpg 3.6 bad, "vignetting" charged 3.3 points)
@pytest.mark.parametrize("name", ["0.jpg", "144.jpg"])
def test_a_flower_lit_on_dark_foliage_is_kept_and_a_vignette_added_to_it_is_still_charged(shared_data, cull, name):
    from keepers.core.lab import distort

    frame = cull.load(shared_data / "taste" / "flowers" / "images" / name)
    v = cull(frame)
    assert v.verdict == "good", (v.score, v.reasons)
    assert "vignetting" not in [r.code for r in v.reasons]
    assert "lit_subject" in [r.code for r in v.reasons]  # says what it recognised
    # a lens falloff of 1 stop at the corners darkens the smooth parts of the foliage too: that is vignetting
    vignetted = cull(variant_frame(frame, saved(distort.vignetting(frame.rgb, 2))))
    assert vignetted.verdict == "bad" and costly(vignetted, {"vignetting"}) == ["vignetting"], vignetted.reasons
    assert "lit_subject" not in [r.code for r in vignetted.reasons]


# a lotus on black water (taste/flowers 33.jpg, 2.7 bad: the head charged "vignetting") and a columbine on black
# (47.jpg, 4.9 bad): their backdrops darken outwards like a lens's falloff, but the subject the image model sees is lit
# and 4.5+ stops above them (core/inference/subject, lens.subject_lift_ev)
@pytest.mark.parametrize("name", ["33.jpg", "47.jpg"])
def test_a_lit_flower_on_a_black_backdrop_is_kept_and_a_vignette_added_to_it_is_still_charged(shared_data, cull, name):
    from keepers.core.lab import distort

    frame = cull.load(shared_data / "taste" / "flowers" / "images" / name)
    v = cull(frame)
    assert v.verdict == "good", (v.score, v.reasons)
    assert "dark_backdrop" in [r.code for r in v.reasons] and costly(v, {"vignetting"}) == []
    # a lens falloff of 1 stop at the corners over it darkens the backdrop further than a backdrop does: charged
    vignetted = cull(variant_frame(frame, saved(distort.vignetting(frame.rgb, 2))))
    assert vignetted.score < v.score - 1 and "dark_backdrop" not in [r.code for r in vignetted.reasons]


def test_a_face_that_still_reads_against_a_bright_background_is_not_charged_for_the_backlight(shared_data, cull):
    import dataclasses

    from keepers.core.judge.judgement import judge
    from keepers.core.settings import Settings

    # carved totems against a sunlit forest (CBSD68 101085): faces 2 stops under middle grey, fully readable; the
    # backlight cost 0.7 points before
    v = cull(str(shared_data / "clean" / "CBSD68" / "101085.jpg"))
    assert "backlit" in [r.code for r in v.reasons]  # still said
    assert costly(v, {"backlit"}) == [], v.reasons
    # the same measurements with the face lost in shadow (3.5 stops under): then the backlight is the flaw
    from keepers.core import pm
    from keepers.core.analyzers import run_all

    settings = Settings()
    found = run_all(cull.load(shared_data / "clean" / "CBSD68" / "101085.jpg"), pm.analyzers(settings))
    q = next(f for f in found if f.analyzer == "quality")
    lost = dataclasses.replace(q, data={**q.data, "portrait": {**q.data["portrait"], "face_ev": -3.5}})
    dark = judge([lost if f is q else f for f in found], settings)
    assert costly(dark, {"backlit"}) == ["backlit"] and dark.score < v.score, dark.reasons


def test_a_clean_checkerboard_is_not_rejected_for_jpeg_artefacts(shared_data, cull):
    v = cull(str(shared_data / "textures" / "chequered" / "chequered_0042.jpg"))
    assert costly(v, {"jpeg_artifacts"}) == [], v.reasons


def _sunglasses(frame, faces_analyzer):
    """The frame with dark lenses drawn over both eyes (where the faces analyzer finds them), saved as a JPEG."""
    face = faces_analyzer.analyze(frame).data["faces"][0]
    c1, c2 = (np.array(face[s]["iris_centre"]) for s in ("right_eye", "left_eye"))
    d = float(np.hypot(*(c2 - c1)))
    img = np.ascontiguousarray(frame.rgb.copy())
    for c in (c1, c2):
        cv2.ellipse(img, (int(c[0]), int(c[1])), (int(0.34 * d), int(0.24 * d)), 0, 0, 360, (18, 18, 22), -1,
                    cv2.LINE_AA)
    cv2.line(img, tuple(int(v) for v in c1), tuple(int(v) for v in c2), (18, 18, 22), max(2, int(0.04 * d)))
    return variant_frame(frame, saved(img))


def test_sunglasses_are_not_closed_eyes_and_closed_eyes_still_are(shared_data, cull):
    from keepers.core.analyzers.faces import FacesAnalyzer

    faces = FacesAnalyzer()
    # open faces that read closed behind drawn dark lenses before (10 of 19 such faces did)
    for name in ("face_1304.jpg", "face_1626.jpg", "face_327.jpg", "face_6169.jpg"):
        frame = _sunglasses(cull.load(shared_data / "eyes" / "open_assumed" / name), faces)
        found = faces.analyze(frame)
        assert "closed_eyes" not in [r.code for r in found.reasons], name
        assert found.data["faces"][0].get("sunglasses"), name
    closed = sorted((shared_data / "eyes" / "closed").iterdir())[:12]
    said = [any(r.code == "closed_eyes" for r in faces.analyze(cull.load(p)).reasons) for p in closed]
    assert sum(said) >= 8  # shut lids are no dark lenses


def _finger(rgb: np.ndarray) -> np.ndarray:
    """A dark, blurred fingertip over the lower-left corner."""
    h, w = rgb.shape[:2]
    yy, xx = np.mgrid[:h, :w]
    m = cv2.GaussianBlur((np.hypot(xx / w, (yy - h) / h) < 0.45).astype(np.float32), (0, 0), 0.04 * w)[..., None]
    return saved((rgb * (1 - m) + np.array([60, 35, 30], np.float32) * m).astype(np.uint8))


def _cast(rgb: np.ndarray) -> np.ndarray:
    """A strong red cast fading in over the left side (light through a finger over the flash, a leak)."""
    w = rgb.shape[1]
    ramp = np.clip((0.45 * w - np.arange(w)) / (0.1 * w), 0, 1)[None, :, None]
    return saved(np.clip(rgb * (1 - ramp * (1 - np.array([1.0, 0.35, 0.3]))) + ramp * [40, 0, 0], 0, 255)
                 .astype(np.uint8))


# (two of the nine nature photos: the misfire check finds two in three such fingers and casts on the clean photos,
# and misses a dark finger over a night scene or a dark macro: docs/eval.md)
@pytest.mark.parametrize("name", ["nature/prairie_falcon.jpg", "nature/wood_anemones.jpg"])
def test_a_finger_over_a_corner_or_a_colour_cast_is_a_misfire_that_says_where(shared_data, cull, name):
    frame = cull.load(shared_data / "camera" / "photos" / name)
    clean = cull(frame)
    assert clean.verdict == "good" and "misfire" not in [r.code for r in clean.reasons]
    finger = cull(variant_frame(frame, _finger(frame.rgb)))
    assert finger.verdict == "bad" and finger.reasons[0].code == "misfire", finger.reasons
    assert "lower-left corner" in finger.reasons[0].message
    cast = cull(variant_frame(frame, _cast(frame.rgb)))
    assert cast.verdict == "bad" and cast.reasons[0].code == "misfire", cast.reasons
    assert "left" in cast.reasons[0].message
