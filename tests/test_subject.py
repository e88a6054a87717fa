"""Where the image model sees the subject (issue 21 item 1): the class activation map of the shipped EfficientNet-Lite0
files, its box on real photos against boxes drawn by hand, and the embedding it rides on unchanged."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

from keepers.core.inference.embedding import (EfficientNetLite0, EfficientNetLite0Int8, frame_embedding, frame_subject,
                                              preprocess)
from keepers.core.inference.runtime import manifest
from keepers.core.inference.subject import FEATURE_MAP, Subject


@pytest.mark.parametrize("variant", [EfficientNetLite0, EfficientNetLite0Int8], ids=lambda c: c.name)
def test_the_added_feature_map_leaves_logits_and_features_bit_identical(variant):
    if variant.name not in manifest():
        pytest.skip(f"{variant.name} is not shipped")
    from skimage import data

    x = preprocess(data.chelsea())
    model = variant()
    plain = ort.InferenceSession(str(model.path), providers=["CPUExecutionProvider"])
    logits, feats = plain.run(["logits", "features"], {"input": x})
    logits2, feats2, fmap = model.run({"input": x}, ["logits", "features", FEATURE_MAP])
    assert np.array_equal(logits, logits2) and np.array_equal(feats, feats2)
    assert fmap.shape == (1, 1280, 7, 7)
    assert np.allclose(fmap.mean(axis=(2, 3)), feats, atol=1e-5)  # the map is what the embedding pools


def _load(path):
    from keepers.core.io.loader import load
    from keepers.core.types import Photo

    return load(Photo(str(path), "jpeg"), 1024)


def _inside(a, b) -> float:
    """Share of box a (left, top, right, bottom) that lies inside box b."""
    w = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    return w * h / ((a[2] - a[0]) * (a[3] - a[1]))


def test_a_small_bird_on_a_rock_face_is_inside_the_subject_box(shared_data):
    # the falcon, wings spread, on a sunlit rock face with shrubs below: drawn by hand at 800 x 533
    frame = _load(shared_data / "camera" / "photos" / "nature" / "prairie_falcon.jpg")
    subject = frame_subject(frame)
    bird = (220, 200, 480, 325)
    assert _inside(bird, subject.box) >= 0.9
    assert subject.share <= 0.3  # the rock face and the shrubs are background, not subject


def test_the_subject_box_of_a_daisy_on_dark_leaves_lies_on_the_flower(shared_data):
    # taste/flowers 144: a white daisy filling the middle of the frame on dark, blurred leaves (650 x 500)
    frame = _load(shared_data / "taste" / "flowers" / "images" / "144.jpg")
    subject = frame_subject(frame)
    flower = (120, 0, 500, 465)
    assert _inside(subject.box, flower) >= 0.9
    assert frame.grey[subject.mask].mean() > 2 * frame.grey[~subject.mask].mean()  # the lit petals, not the leaves


@pytest.mark.parametrize("value", [0, 128])
def test_a_blank_frame_has_no_subject(value):
    from keepers.core.types import Frame, Meta, Photo

    frame = Frame(Photo("blank.jpg", "jpeg"), np.full((300, 400, 3), value, np.uint8), Meta())
    subject = frame_subject(frame)
    assert isinstance(subject, Subject) and frame_embedding(frame) is frame_embedding(frame)  # one run, cached
    assert subject.mask.shape == (300, 400) and not subject.mask.any() and subject.box == (0, 0, 0, 0)
