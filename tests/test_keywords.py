"""Keywords from ImageNet probabilities through the curated taxonomy, in each domain vocabulary."""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import SHARED_DATA, sample_rgb

from keepers.core.analyzers import keywords
from keepers.core.errors import UserError

WNID = re.compile(r"\bn\d{8}\b")


@pytest.fixture(scope="module")
def model():
    from keepers.core.inference.embedding import EfficientNetLite0

    return EfficientNetLite0(providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def imagenet(model):
    """(wnid, probabilities) of every ImageNet sample photo (file name = wnid_class)."""
    from keepers.core.io.loader import load
    from keepers.core.types import Photo

    folder = SHARED_DATA / "clean" / "imagenet"
    if not folder.is_dir():
        pytest.skip(f"needs {folder} (absent on this machine)")
    return [(p.name.split("_")[0], model.embed(load(Photo(str(p), "jpeg"), 1024).rgb)[1]) for p in sorted(folder.iterdir())]


def truth(wnid: str, vocabulary: str = "general") -> set[str]:
    spec = keywords.taxonomy()["vocabularies"][vocabulary]
    paths = keywords.taxonomy()["classes"][wnid]["keywords"] + spec.get("extra", {}).get(wnid, [])
    return {a for p in paths for a in keywords.ancestors(p)}


def right(keyword: str, wnid: str, vocabulary: str = "general") -> bool:
    """A keyword is right when it is one of the class's paths (or an ancestor), or its plain name below one."""
    want = truth(wnid, vocabulary)
    return keyword in want or (keyword.rsplit("|", 1)[0] in want and
                               keyword.rsplit("|", 1)[1] == keywords.taxonomy()["classes"][wnid]["name"])


def test_taxonomy_files_every_imagenet_class_under_readable_keywords():
    tax = keywords.taxonomy()
    assert set(keywords.class_order()) == set(tax["classes"]) and len(tax["classes"]) == 1000
    for wnid, entry in tax["classes"].items():
        assert entry["keywords"], wnid
        assert not any(WNID.search(k) or k != k.strip() for k in entry["keywords"] + [entry["name"]]), wnid


def test_the_cat_photo_is_filed_as_a_cat_and_no_keyword_is_a_wordnet_id(model):
    for name in ["chelsea", "coffee", "astronaut", "rocket", "camera", "horse"]:
        kws = keywords.keywords(model.embed(sample_rgb(name))[1])
        assert not any(WNID.search(k) for k in kws), (name, kws)
        assert len(kws) <= 3
    assert keywords.keywords(model.embed(sample_rgb("chelsea"))[1])[0].startswith("animal|cat")
    assert keywords.keywords(model.embed(sample_rgb("coffee"))[1])[0].startswith("food|drink|coffee")


def test_five_unsure_dog_breeds_make_a_sure_dog():
    order = keywords.class_order()
    breeds = [w for w, e in keywords.taxonomy()["classes"].items() if e["keywords"] == ["animal|dog"]][:5]
    probs = np.full(1000, 0.5 / 995)
    probs[[order.index(w) for w in breeds]] = 0.1
    assert keywords.keywords(probs) == ["animal|dog"]  # no breed is sure enough to be named


def test_one_sure_class_adds_its_plain_name():
    probs = np.zeros(1000)
    probs[keywords.class_order().index("n02099601")] = 0.9  # golden retriever
    assert keywords.keywords(probs) == ["animal|dog|golden retriever"]


def test_an_unknown_vocabulary_is_refused_with_the_choices():
    with pytest.raises(UserError, match="general"):
        keywords.vocabulary("gardening")


def test_imagenet_samples_get_their_class_keywords(imagenet):
    v = keywords.vocabulary("general")
    found = [(w, [k for k, _ in v.keywords(p)]) for w, p in imagenet]
    with_right = np.mean([any(right(k, w) for k in kws) for w, kws in found])
    with_wrong = np.mean([any(not right(k, w) for k in kws) for w, kws in found])
    assert with_right >= 0.85 and with_wrong <= 0.08, (with_right, with_wrong)


@pytest.mark.parametrize("vocabulary, domain, least", [("food", "food", 0.7), ("apparel", "clothing", 0.6)])
def test_a_domain_vocabulary_tags_its_own_photos_and_ignores_others(imagenet, vocabulary, domain, least):
    v = keywords.vocabulary(vocabulary)
    mine = [(w, p) for w, p in imagenet if any(k.startswith(domain) for k in keywords.taxonomy()["classes"][w]["keywords"])]
    dogs = [(w, p) for w, p in imagenet if "animal|dog" in keywords.taxonomy()["classes"][w]["keywords"]]
    assert len(mine) >= 8 and len(dogs) >= 10
    tagged = np.mean([any(right(k, w, vocabulary) for k, _ in v.keywords(p)) for w, p in mine])
    assert tagged >= least, tagged
    assert not any(v.keywords(p) for _, p in dogs)
    include = keywords.taxonomy()["vocabularies"][vocabulary]["include"]
    assert all(keywords.allowed(k, include) for _, p in imagenet for k, _ in v.keywords(p))


def test_the_wedding_vocabulary_names_the_groom_and_the_suit(imagenet):
    v = keywords.vocabulary("wedding")
    probs = dict(imagenet)
    groom = [k for k, _ in v.keywords(probs["n10148035"])]
    suit = [k for k, _ in v.keywords(probs["n04350905"])]
    assert any(k.startswith("wedding|groom") for k in groom), groom
    assert any(k.startswith("wedding|attire") or k.startswith("clothing|suit") for k in suit), suit


def test_the_travel_vocabulary_files_scenes_and_not_household_objects(model):
    from keepers.core.io.loader import load
    from keepers.core.types import Photo

    scenes = SHARED_DATA / "clean" / "CSun_Hays80"
    if not scenes.is_dir():
        pytest.skip(f"needs {scenes} (absent on this machine)")
    v = keywords.vocabulary("travel")
    picked = [p for p in sorted(scenes.iterdir()) if p.name.split("_sun_")[0] in
              {"beach", "coast", "mountain", "volcano", "valley", "lighthouse", "mosque_outdoor", "viaduct", "pagoda",
               "iceberg", "canyon", "monastery_outdoor", "lift_bridge", "cliff", "sea_cliff"}]
    found = [v.keywords(model.embed(load(Photo(str(p), "jpeg"), 1024).rgb)[1]) for p in picked]
    assert np.mean([bool(f) for f in found]) >= 0.6, found
    assert all(k.split("|")[0] in {"architecture", "nature", "place", "vehicle", "food", "people", "travel"}
               for f in found for k, _ in f)
