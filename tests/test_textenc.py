"""MiniLM text encoder: the offline tokenizer matches the source tokenizer, the int8 graph matches the source model."""

from __future__ import annotations

import numpy as np
import pytest

from keepers.core.inference import textenc
from keepers.core.inference.runtime import MODELS_DIR, manifest, sha256

ENTRY = manifest().get("minilm")
pytestmark = pytest.mark.skipif(ENTRY is None, reason="models/manifest/minilm.json absent")


@pytest.fixture(scope="module")
def model():
    return textenc.MiniLM(providers=["CPUExecutionProvider"])


def test_shipped_file_matches_the_manifest_sha256():
    assert sha256(MODELS_DIR / ENTRY["file"]) == ENTRY["sha256"]


def test_tokenizer_gives_the_source_tokenizer_ids_on_every_recorded_sentence():
    tok = textenc.tokenizer()
    for sample in ENTRY["tokenizer_samples"]:
        assert tok.encode(sample["text"]) == sample["ids"], sample["text"][:40]


def test_tokenizer_splits_punctuation_strips_accents_and_uses_wordpieces():
    tok = textenc.tokenizer()
    pieces = [tok_ for tok_, i in tok.vocab.items() if i in tok.tokenize("Café, unaffable!")]
    assert set(pieces) >= {"cafe", ",", "!"}
    words = textenc.pre_tokenize(textenc.normalize("Hello,World—ÉTÉ"))
    assert words == ["hello", ",", "world", "—", "ete"]
    assert all(len(tok.word_ids(w)) >= 1 for w in words)
    assert tok.word_ids("x" * 101) == [tok.unk]


def test_long_text_is_truncated_to_the_model_limit():
    ids = textenc.tokenizer().encode("photo " * 1000)
    assert len(ids) == textenc.MAX_TOKENS and ids[0] == 101 and ids[-1] == 102


def test_int8_embeddings_match_the_source_model(model):
    texts = [s["text"] for s in ENTRY["samples"]]
    ref = np.array([s["embedding"] for s in ENTRY["samples"]], np.float32)
    got = model.encode(texts)
    assert got.shape == (len(texts), textenc.DIM)
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-4)
    cos = (got * ref).sum(1) / np.linalg.norm(ref, axis=1)
    assert cos.min() >= 0.99, cos


def test_a_text_embeds_the_same_alone_or_in_a_list(model):
    one = model.encode("mountain lake at dawn")
    many = model.encode(["a", "mountain lake at dawn", "a much longer sentence about something else entirely"])
    assert np.allclose(one[0], many[1], atol=1e-6)


def test_related_words_are_closer_than_unrelated_ones(model):
    dog, puppy, car, vehicle = model.encode(["dog", "puppy", "car", "vehicle"])
    assert dog @ puppy > dog @ car
    assert car @ vehicle > car @ puppy
