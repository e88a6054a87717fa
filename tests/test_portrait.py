"""Portrait checks on real photos: red eye on real flash photos, closed eyes, focus on the eyes, a backlit face,
airbrushed skin and a face cut by the frame edge, each through the quality analyzer and the decide step."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from conftest import sample_rgb
from PIL import Image
from helpers import frame_of as frame
from test_faces import paint_eyes_shut

from keepers.core.inference import faces as facelib
from keepers.core.analyzers import portrait, quality
from keepers.core.judge.judgement import judge
from keepers.core.settings import Settings
from keepers.core.types import Photo


@pytest.fixture(scope="module")
def analyzer():
    return quality.QualityAnalyzer()


def verdict(analyzer, rgb):
    found = quality.analyze_alone(frame(rgb), analyzer)
    return found[-1], judge(found, Settings())


def codes(v) -> list[str]:
    return [r.code for r in v.reasons]


@pytest.fixture(scope="module")
def astronaut():
    rgb = sample_rgb("astronaut")
    return rgb, facelib.detect_faces(rgb)[0]


@pytest.fixture(scope="module")
def redeye(shared_data):
    folder = shared_data / "redeye"
    if not folder.is_dir():
        pytest.skip("needs ../shared/data/redeye")

    def read(name):
        rgb = np.asarray(Image.open(folder / name).convert("RGB"))
        f = min(1.0, 1024 / max(rgb.shape[:2]))  # as a cull sees it: long side 1024
        return cv2.resize(rgb, None, fx=f, fy=f, interpolation=cv2.INTER_AREA) if f < 1 else rgb

    return read


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_red_eye_fires_on_each_real_flash_photo(analyzer, redeye, n):
    q, v = verdict(analyzer, redeye(f"sample_{n}.jpg"))
    assert "red_eye" in codes(v), q.data


@pytest.mark.parametrize("name", ["sample_1_fixed.jpg", "sample_1_100.jpg", "sample_2_100.jpg", "sample_4_100.jpg"])
def test_red_eye_stays_silent_once_the_red_is_removed(analyzer, redeye, name):
    q, v = verdict(analyzer, redeye(name))
    assert q.data["route"] == "portrait" and "red_eye" not in codes(v), q.data


def test_brown_eyes_in_a_clean_portrait_are_not_red_eye(analyzer, astronaut):
    q, v = verdict(analyzer, astronaut[0])
    assert "red_eye" not in codes(v) and q.data["portrait"]["red_eye"] == [0.0]


def test_synthetically_closed_eyes_are_flagged_and_cost_points(analyzer, astronaut):
    rgb, face = astronaut
    q_open, v_open = verdict(analyzer, rgb)
    q_shut, v_shut = verdict(analyzer, paint_eyes_shut(rgb, face))
    assert "closed_eyes" not in codes(v_open)
    assert "closed_eyes" in codes(v_shut)
    assert v_shut.score < v_open.score - 1.0
    assert next(r for r in v_shut.reasons if r.code == "closed_eyes").cost > 0


def test_a_close_up_whose_face_fills_the_frame_is_still_judged(analyzer, astronaut):
    rgb, face = astronaut
    x0, y0, x1, y1 = (int(v) for v in face.box)
    shut = paint_eyes_shut(rgb, face)[max(0, y0 - 10) : y1 + 10, max(0, x0 - 10) : x1 + 10]
    q, v = verdict(analyzer, shut)
    assert q.data["route"] == "portrait" and "closed_eyes" in codes(v)


def test_eyes_blurred_while_the_rest_stays_sharp_are_out_of_focus(analyzer, astronaut):
    rgb, face = astronaut
    out = rgb.copy()
    x0, y0, x1, y1 = (int(v) for v in face.box)
    out[y0:y1, x0:x1] = cv2.GaussianBlur(rgb[y0:y1, x0:x1], (0, 0), 2.5)
    q, v = verdict(analyzer, out)
    reason = next(r for r in v.reasons if r.code == "out_of_focus")
    assert "Eyes" in reason.message and q.data["portrait"]["eye_blur"] > 1.1


def test_a_face_much_darker_than_its_background_is_backlit(analyzer, astronaut):
    rgb, face = astronaut
    x0, y0, x1, y1 = (int(v) for v in face.box)
    out = rgb.astype(np.float32)
    out[y0:y1, x0:x1] *= 0.12  # about three stops
    q, v = verdict(analyzer, out.astype(np.uint8))
    assert "backlit" in codes(v)


def test_a_face_cut_by_the_frame_edge_is_flagged(analyzer, astronaut):
    rgb, face = astronaut
    q, v = verdict(analyzer, rgb[int(face.box[1] + 0.3 * (face.box[3] - face.box[1])) :])
    assert "face_cut_off" in codes(v)
    assert "face_cut_off" not in codes(verdict(analyzer, rgb)[1])


def test_skin_smoothed_below_the_photos_grain_is_airbrushed(analyzer, redeye):
    rgb = redeye("sample_1_fixed.jpg")
    q, v = verdict(analyzer, rgb)
    assert "airbrushed_skin" not in codes(v) and q.data["portrait"]["skin_texture"] > 1.0
    face = facelib.detect_faces(rgb)[0]
    x0, y0, x1, y1 = (max(0, int(v)) for v in face.box)
    smooth = rgb.copy()
    smooth[y0:y1, x0:x1] = cv2.bilateralFilter(np.ascontiguousarray(rgb[y0:y1, x0:x1]), 9, 60, 9)
    q, v = verdict(analyzer, smooth)
    assert "airbrushed_skin" in codes(v), q.data["portrait"]


def test_red_share_measures_the_pupil_not_the_skin(redeye):
    rgb = redeye("sample_2.jpg")
    face = facelib.detect_faces(rgb)[0]
    e = face.right_eye
    share, brighter = portrait.red_share(frame(rgb), e["iris_centre"], e["iris_radius"], e["pupil_box"])
    assert share > 0.5 and brighter > 1.5


def test_the_second_face_search_makes_its_384_px_copy_only_where_it_finds_a_face(astronaut):
    rgb, face = astronaut
    x0, y0, x1, y1 = (int(v) for v in face.box)
    close = cv2.resize(rgb[max(0, y0 - 10) : y1 + 10, max(0, x0 - 10) : x1 + 10], None, fx=4, fy=4,
                       interpolation=cv2.INTER_CUBIC)  # a close-up larger than the 384 px copy
    for rgb, faces in ((close, 1), (sample_rgb("coffee"), 0)):
        f = frame(rgb)
        found, _ = portrait.look_again(f)
        made = [size for size in f.__dict__.get("_shrunk", {}) if max(size) == portrait.LOOK_AGAIN_SIDE]
        assert (len(found), len(made)) == (faces, faces), (rgb.shape, found, made)


def test_in_a_24_mp_photo_red_eye_is_found_in_the_decode_the_loader_keeps(analyzer, shared_data, tmp_path):
    """A face too large for the faces analyzer's second look (~180 px at the analysis size) has its pupils and
    eye sharpness read from the 1/4-scale decode the analysis image came from: each fresh decode of a 24 MP JPEG
    costs 40-60 ms, and one was made for each eye and one for the eye check."""
    from keepers.core.io.loader import load

    src = shared_data / "redeye" / "sample_3.jpg"
    if not src.is_file():
        pytest.skip("needs ../shared/data/redeye")
    rgb = np.asarray(Image.open(src).convert("RGB"))
    path = tmp_path / "flash.jpg"
    Image.fromarray(cv2.resize(rgb, (6000, round(rgb.shape[0] * 6000 / rgb.shape[1])),
                               interpolation=cv2.INTER_CUBIC)).save(path, quality=92)
    f = load(Photo(str(path), "jpeg"))
    assert set(f._decoded) == {4}  # what the loader kept: the 1/4-scale decode, 1.46x the analysis scale
    decodes = []
    reduced = f._reduced_loader
    f._reduced_loader = lambda r, box=None: decodes.append(r) or reduced(r, box)
    found = quality.analyze_alone(f, analyzer)
    q = found[-1]
    assert "red_eye" in codes(judge(found, Settings())), q.data
    assert "eye_blur" in q.data["portrait"] and decodes == [], q.data["portrait"]
