"""Damage no other measure sees (issue 21 item 4): colour bleeding, washed-out colour, detail smeared by heavy noise
reduction, jagged edges, over-sharpening halos, misaligned and over-saturated colour are read from EfficientNet-Lite0's
inner feature maps by a learned head (core/analyzers/damage.py, models/damage_head.npz). KADID-10k copies of a real
clean photo at level 3 and above get the reason and lose points in the judging step; the clean photo, foliage,
fabric-like textures, a flower on a soft background and a black-and-white photo get none. Real files from
../shared/data, the shipped ONNX model and head."""

from __future__ import annotations

import hashlib
import json

import pytest
from helpers import analysis_frame as load
from helpers import frame_of

from keepers.core.analyzers.damage import HEAD_FILE, MANIFEST, DamageAnalyzer
from keepers.core.lab.eval import variant_frame
from keepers.core.lab.kadid import NAMES, copy_of

# a clean photo of the head's training set (clean_split's train part, every 6th): the test checks what a user sees
CLEAN = "clean/imagenet/n04467665_trailer_truck.JPEG"
# the levels at which people rate each kind 2.5 of 5 or worse and the head names it on this photo; desaturation is
# named at level 3 (a tenth of the colour left): level 4 is greyscale (monochrome is a choice), level 5 turns the
# faint colours round, which the head does not see as washed out
LEVELS = {"colour_bleed": (3, 4, 5), "washed_out": (3,), "smeared": (3, 4, 5), "jagged": (3, 4, 5),
          "haloed": (3, 4, 5), "misaligned_colour": (3, 4, 5), "oversaturated": (4, 5)}
KINDS = {"colour_bleed": "color_diffusion", "washed_out": "color_saturation_1", "smeared": "denoise",
         "jagged": "jitter", "haloed": "high_sharpen", "misaligned_colour": "color_shift",
         "oversaturated": "color_saturation_2"}


def damage(frame) -> dict[str, float]:
    return {r.code: r.severity for r in DamageAnalyzer().analyze(frame).reasons}


def kadid_copy(frame, kind: str, level: int):
    return variant_frame(frame, copy_of(frame.rgb, NAMES.index(kind) + 1, level, CLEAN.split("/")[-1]))


def test_the_damage_head_file_matches_its_manifest_checksum():
    entry = json.loads(MANIFEST.read_text())
    assert entry["file"] == HEAD_FILE.name
    assert hashlib.sha256(HEAD_FILE.read_bytes()).hexdigest() == entry["sha256"]


@pytest.mark.parametrize("code", list(KINDS))
def test_a_real_photos_damaged_copies_at_level_3_and_above_are_named(shared_data, code):
    frame = load(shared_data / CLEAN)
    for level in LEVELS[code]:
        assert code in damage(kadid_copy(frame, KINDS[code], level)), (code, level)
    assert "washed_out" not in damage(kadid_copy(frame, "color_saturation_1", 4))  # greyscale: a choice


def test_the_judging_step_charges_smeared_detail_and_says_so(shared_data):
    from keepers.core import pm
    from keepers.core.analyzers import run_all
    from keepers.core.judge.judgement import judge
    from keepers.core.settings import Settings

    s = Settings()
    found = run_all(kadid_copy(load(shared_data / CLEAN), "denoise", 4), pm.analyzers(s))
    with_it, without = judge(found, s), judge([f for f in found if f.analyzer != "damage"], s)
    smeared = next(r for r in with_it.reasons if r.code == "smeared")
    assert smeared.cost >= 0.5 and with_it.score <= without.score - 0.5


def test_an_over_sharpened_copy_of_a_photo_the_head_never_saw_is_charged_below_a_blur_people_mind_less(shared_data):
    """KADID's people rate a level-3 over-sharpened copy (halos, grit: DMOS 2.1 of 5) worse than a level-3 Gaussian
    blur (2.9). Keepers had them the other way round on this held-out photo (clean_split's test part, never trained
    on): 7.96 against 5.90, as no measure saw the halos. Now the halos are named in words and cost their points."""
    from keepers.core import pm
    from keepers.core.analyzers import run_all
    from keepers.core.judge.judgement import judge
    from keepers.core.lab.eval import clean_split
    from keepers.core.settings import Settings

    photo = shared_data / "clean/imagenet/n03769881_minibus.JPEG"
    assert photo in clean_split(shared_data)[1]  # held out: the head trains on the train part only
    s, frame = Settings(), load(photo)

    def judged(kind):
        rgb = copy_of(frame.rgb, NAMES.index(kind) + 1, 3, photo.name)
        return judge(run_all(variant_frame(frame, rgb), pm.analyzers(s)), s)

    sharpened, blurred = judged("high_sharpen"), judged("gaussian_blur")
    halos = next(r for r in sharpened.reasons if r.code == "haloed")
    assert "halos" in halos.message and halos.cost >= 0.5
    assert sharpened.score < blurred.score


def test_a_damage_reason_reads_as_its_own_flaw_not_as_motion_blur_or_flat_tones(shared_data):
    """"Detail smeared" and "smeared colour" read as motion blur's "detail is smeared in one direction", and
    "Washed-out colours" as low contrast's "flat, washed-out tones": a photographer could not tell which flaw the
    photo has. Each damage reason, as named on a real photo's damaged copy, now uses words of its own."""
    frame = load(shared_data / CLEAN)
    for code, kind in KINDS.items():
        found = DamageAnalyzer().analyze(kadid_copy(frame, kind, LEVELS[code][0])).reasons
        [message] = [r.message.lower() for r in found if r.code == code]
        assert "smear" not in message and "washed" not in message, (code, message)


@pytest.mark.parametrize("name", [CLEAN, "camera/photos/nature/silver_fir.jpg",
                                  # a flower on a soft green background (shallow depth of field), of a set the head
                                  # never saw: the flower nearest to the "smeared" start, which a looser start charged
                                  "taste/flowers/images/159.jpg",
                                  "camera/photos/nature/wood_anemones.jpg", "camera/photos/denali.webp",
                                  "camera/photos/cars.jpg", "camera/photos/rommel.jpg",
                                  "clean/imagenet/n04325704_stole.JPEG", "textures/braided/braided_0019.jpg",
                                  "textures/cobwebbed/cobwebbed_0045.jpg", "textures/bumpy/bumpy_0062.jpg",
                                  "textures/crosshatched/crosshatched_0025.jpg"])
def test_clean_photos_foliage_lace_and_textures_show_no_damage(shared_data, name):
    # (the textures are of the half the head never saw: models/train/damage.py trains on every other one)
    assert damage(load(shared_data / name)) == {}


def test_a_black_and_white_photo_is_not_washed_out():
    from keepers.core.lab.demo import sample_photo
    from keepers.core.lab.eval import saved

    # scikit-image's cameraman: a monochrome photo, grey in all three channels
    assert "washed_out" not in damage(frame_of(saved(sample_photo("camera")), "cameraman.jpg"))


def test_both_shipped_variants_read_the_same_inner_statistics():
    import numpy as np

    from keepers.core.inference.embedding import INNER_DIM, EfficientNetLite0, EfficientNetLite0Int8
    from keepers.core.lab.demo import sample_photo

    rgb = sample_photo("astronaut")
    a, b = (m().embed_map(rgb)[3] for m in (EfficientNetLite0, EfficientNetLite0Int8))
    # the int8 graph's uint8 maps, read back through their scale and zero point, say what the fp32 maps say
    assert a.shape == b.shape == (INNER_DIM,)
    assert np.corrcoef(a, b)[0, 1] > 0.99 and np.abs(a - b).mean() < 0.05 * np.abs(a).mean()
