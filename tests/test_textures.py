"""Texture head: held-out accuracy on labelled DTD photos, gating on ordinary photos, and the tags analyzer."""

from __future__ import annotations

import importlib.util
import re

import numpy as np
import pytest
from conftest import ROOT, SHARED_DATA, sample_rgb

from keepers.core.inference import textures
from keepers.core.analyzers.tags import TagsAnalyzer
from keepers.core.inference.runtime import MODELS_DIR, manifest, sha256
from keepers.core.types import Frame, Meta, Photo


def recipe():
    spec = importlib.util.spec_from_file_location("train_textures", ROOT / "models" / "train" / "textures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def model():
    from keepers.core.inference.embedding import EfficientNetLite0

    return EfficientNetLite0(providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def held_out(model):
    """(path, label, embedding) of the photos the training recipe held out (same seed, same split)."""
    from keepers.core.io.loader import load

    if not (SHARED_DATA / "textures" / "labels.csv").is_file():
        pytest.skip(f"needs {SHARED_DATA}/textures (absent on this machine)")
    train = recipe()
    paths, labels = train.dataset()
    test = train.split(train.encode_labels(labels)[1], 3) == 0
    return [(p, lab, model.embed(load(Photo(str(p), "jpeg"), 1024).rgb)[0])
            for p, lab, t in zip(paths, labels, test) if t]


def test_head_file_matches_its_manifest():
    entry = manifest()["textures_head"]
    assert sha256(MODELS_DIR / entry["file"]) == entry["sha256"]
    assert set(textures.head().terms) <= set(textures.DESCRIPTIVE)


def test_held_out_texture_photos_are_named_top1_and_top3(held_out):
    head = textures.head()
    tex = [(lab, emb) for _, lab, emb in held_out if lab != textures.NONE]
    ranks = [[t for t, _ in head.ranked(emb)].index(lab) for lab, emb in tex]
    top1, top3 = np.mean(np.array(ranks) == 0), np.mean(np.array(ranks) < 3)
    assert len(tex) == 200 and top1 >= 0.8 and top3 >= 0.95, (top1, top3)


def test_ordinary_photos_are_rarely_tagged_as_textures(held_out, model):
    head = textures.head()
    ordinary = [emb for _, lab, emb in held_out if lab == textures.NONE]
    assert np.mean([bool(head.tags(e)) for e in ordinary]) <= 0.05
    for name in ["chelsea", "coffee", "astronaut", "rocket"]:
        assert head.tags(model.embed(sample_rgb(name))[0]) == [], name


@pytest.fixture(scope="module")
def tagged(held_out):
    """(label, embedding, tags Finding) of the held-out texture photos, as a cull analyses them."""
    from keepers.core.io.loader import load

    analyzer = TagsAnalyzer(providers=["CPUExecutionProvider"])
    return [(lab, emb, analyzer.analyze(Frame(Photo(str(p), "jpeg"), load(Photo(str(p), "jpeg"), 1024).rgb, Meta())))
            for p, lab, emb in held_out if lab != textures.NONE]


def test_tags_analyzer_puts_the_true_term_among_few_keywords(tagged):
    hits = [lab in {w for k in f.keywords for w in re.split(r"[|/ ,]+", k)} for lab, _, f in tagged]
    sizes = [len(f.keywords) for _, _, f in tagged]
    assert all(f.score is None and f.weight == 0.0 and len(f.data["top"]) == 10 for _, _, f in tagged)
    assert np.mean(hits) >= 0.75 and np.mean(sizes) <= 2.5, (np.mean(hits), np.mean(sizes))


def test_text_search_finds_textures_by_their_term_or_a_plain_word(tagged, tmp_path):
    from keepers.core.search import similarity
    from keepers.core.io.catalog import Catalog
    from keepers.core.types import Finding

    cat = Catalog(tmp_path / "catalog.db")
    label = {}
    for i, (lab, emb, f) in enumerate(tagged):
        pid = cat.save(Photo(f"/t/{i}.jpg", "jpeg"), content_hash=str(i), size=1, mtime_ns=1, meta=Meta(),
                       findings=[Finding("embedding", "1", None, data={"embedding": emb}), f], error=None)
        label[pid] = lab
    for query, term in [("banded", "banded"), ("stripes", "banded"), ("cracks", "cracked"), ("braids", "braided"),
                        ("checkerboard", "chequered"), ("crystals", "crystalline")]:
        hits = similarity.search_text(cat, query, k=10)
        assert np.mean([label[i] == term for i, _ in hits]) >= 0.7, query
    cat.close()


def test_a_vocabulary_without_textures_adds_no_texture_tag(held_out):
    from keepers.core.io.loader import load

    path = next(p for p, lab, _ in held_out if lab == "chequered")
    rgb = load(Photo(str(path), "jpeg"), 1024).rgb
    general = TagsAnalyzer("general", providers=["CPUExecutionProvider"]).analyze(Frame(Photo(str(path), "jpeg"), rgb, Meta()))
    food = TagsAnalyzer("food", providers=["CPUExecutionProvider"]).analyze(Frame(Photo(str(path), "jpeg"), rgb, Meta()))
    assert any(k.startswith("texture|") for k in general.keywords)
    assert not any(k.startswith("texture|") for k in food.keywords) and food.version != general.version
