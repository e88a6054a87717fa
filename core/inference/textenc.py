"""MiniLM (all-MiniLM-L6-v2) sentence embeddings, with an offline pure-Python WordPiece tokenizer.

The tokenizer reproduces the source model's BERT uncased tokenizer (clean text, split CJK characters, strip
accents, lowercase, split on whitespace and punctuation, greedy longest-match WordPiece over
models/minilm_vocab.txt); the recipe models/export/minilm.py checks its ids against the source tokenizer. The ONNX
graph does mean pooling over the attention mask and L2 normalisation itself, so `encode` returns unit vectors.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import numpy as np

from keepers.core.inference.runtime import MODELS_DIR, OnnxModel

VOCAB_FILE = MODELS_DIR / "minilm_vocab.txt"
MAX_TOKENS = 256  # the sentence-transformers max_seq_length of all-MiniLM-L6-v2 (longer text is truncated)
MAX_WORD_CHARS = 100  # a longer "word" becomes [UNK], as in BERT
DIM = 384


def _is_control(ch: str) -> bool:
    return ch not in "\t\n\r" and unicodedata.category(ch).startswith("C")


def _is_punctuation(ch: str) -> bool:
    cp = ord(ch)
    # BERT counts every non-alphanumeric ASCII character as punctuation, e.g. '$' and '^'
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(cp: int) -> bool:
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF or 0x2A700 <= cp <= 0x2B73F
            or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF or 0xF900 <= cp <= 0xFAFF
            or 0x2F800 <= cp <= 0x2FA1F)


def normalize(text: str) -> str:
    """BERT's normaliser, in the order of the source (fast) tokenizer: clean, pad CJK, strip accents, lowercase."""
    out = []
    for ch in text:
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD or _is_control(ch):
            continue
        if ch.isspace():
            out.append(" ")
        elif _is_cjk(cp):
            out.append(f" {ch} ")
        else:
            out.append(ch)
    text = unicodedata.normalize("NFD", "".join(out))
    return "".join(ch for ch in text if unicodedata.category(ch) != "Mn").lower()


def pre_tokenize(text: str) -> list[str]:
    """Split normalised text on whitespace, each punctuation character becoming a word of its own."""
    words: list[str] = []
    for chunk in text.split():
        start = 0
        for i, ch in enumerate(chunk):
            if _is_punctuation(ch):
                if i > start:
                    words.append(chunk[start:i])
                words.append(ch)
                start = i + 1
        if start < len(chunk):
            words.append(chunk[start:])
    return words


class WordPiece:
    """BERT uncased tokenizer over a vocab.txt (one token per line, id = line number)."""

    def __init__(self, vocab: list[str]):
        self.vocab = {tok: i for i, tok in enumerate(vocab)}
        self.unk, self.cls, self.sep, self.pad = (self.vocab[t] for t in ("[UNK]", "[CLS]", "[SEP]", "[PAD]"))

    def word_ids(self, word: str) -> list[int]:
        """Greedy longest-match-first pieces of one word; the whole word is [UNK] if any part cannot match."""
        if len(word) > MAX_WORD_CHARS:
            return [self.unk]
        ids, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.vocab:
                    ids.append(self.vocab[piece])
                    break
                end -= 1
            else:
                return [self.unk]
            start = end
        return ids

    def tokenize(self, text: str) -> list[int]:
        """Token ids without the special tokens."""
        return [i for w in pre_tokenize(normalize(text)) for i in self.word_ids(w)]

    def encode(self, text: str, max_tokens: int = MAX_TOKENS) -> list[int]:
        """[CLS] ids [SEP], truncated to `max_tokens` in all."""
        return [self.cls, *self.tokenize(text)[: max_tokens - 2], self.sep]

    def batch(self, texts: list[str], max_tokens: int = MAX_TOKENS) -> tuple[np.ndarray, np.ndarray]:
        """(input_ids, attention_mask) as int64 [N, longest], padded with [PAD]."""
        rows = [self.encode(t, max_tokens) for t in texts]
        width = max(len(r) for r in rows)
        ids = np.full((len(rows), width), self.pad, np.int64)
        mask = np.zeros((len(rows), width), np.int64)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = r
            mask[i, : len(r)] = 1
        return ids, mask


@lru_cache(maxsize=1)
def tokenizer() -> WordPiece:
    return WordPiece(VOCAB_FILE.read_text(encoding="utf-8").splitlines())


class MiniLM(OnnxModel):
    """all-MiniLM-L6-v2 (int8): text -> 384-d unit vector; similar meanings have a high dot product."""

    name = "minilm"

    def encode(self, texts: list[str] | str) -> np.ndarray:
        """float32 [N, 384], L2-normalised.

        One text per run: the int8 graph quantises activations with a scale computed over the whole batch, so a
        batch would make a text's vector depend on its neighbours (up to 0.025 per dimension, measured); a short
        text takes about 2 ms on one CPU core.
        """
        texts = [texts] if isinstance(texts, str) else list(texts)
        out = np.zeros((len(texts), DIM), np.float32)
        for i, text in enumerate(texts):
            ids, mask = tokenizer().batch([text])
            out[i] = self.run({"input_ids": ids, "attention_mask": mask}, ["embedding"])[0][0]
        return out


_model: MiniLM | None = None


def encode(texts: list[str] | str) -> np.ndarray:
    """Encode with a per-process shared model (loaded on first use)."""
    global _model
    if _model is None:
        _model = MiniLM()
    return _model.encode(texts)
