"""Embeddings of the taste and texture photos by EfficientNet-Lite0 and Lite2 (issue 21 item 8), for
tools/lite2_compare.py. Each photo is loaded as a cull loads it (keepers.core.io.loader at the analysis size) and
shrunk by the frame's own area halvings to each network's short side (224 / 260), then centre-cropped and scaled
(x - 127) / 128: Lite0 int8 exactly as the runtime runs it (`frame_embedding`), the other three variants by the
same steps with their own onnxruntime session (one thread, as the runtime). Cached per set in an .npz.

    .venv/bin/python tools/lite2_embed.py LITE2_DIR CACHE_DIR   (LITE2_DIR: models/export/efficientnet_lite2.py --out)
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
VARIANTS = {"lite0_int8": 224, "lite0_fp32": 224, "lite2_fp32": 260, "lite2_int8": 260}


def photo_sets() -> dict[str, list[str]]:
    from keepers.models.train import appeal as A
    from keepers.models.train import textures as T

    taste = sorted({x for vs in (A.flower_votes(DATA), A.holiday_votes(DATA)) for p in vs for x in p})
    return {"taste": taste, "textures": [str(p) for p in T.dataset()[0]]}


def sessions(lite2_dir: Path) -> dict:
    import onnxruntime as ort
    from keepers.core.inference.runtime import PRECISE_INT8, int8_saturates

    def session(path: Path):
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = opts.inter_op_num_threads = 1  # as core/inference/runtime.py runs a model
        opts.log_severity_level = 3
        if int8_saturates():
            opts.add_session_config_entry(PRECISE_INT8, "1")
        return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])

    models = ROOT / "models"
    return {"lite0_fp32": session(models / "efficientnet_lite0.onnx"),
            "lite2_fp32": session(lite2_dir / "efficientnet_lite2.onnx"),
            "lite2_int8": session(lite2_dir / "efficientnet_lite2.int8.onnx")}


def crop(frame, size: int) -> np.ndarray:
    """The runtime's steps at `size`: the frame's area shrink to short side `size`, centre crop, (x - 127) / 128."""
    h, w = frame.rgb.shape[:2]
    s = size / min(h, w)
    out = max(size, round(w * s)), max(size, round(h * s))
    from keepers.core.inference.embedding import preprocess

    rgb = frame.shrunk(out) if out[0] < w else frame.rgb
    if size == 224:
        return preprocess(rgb)
    if out[0] >= w:  # enlarging (holidays' 325 x 243 photos): bicubic, as preprocess does
        import cv2

        rgb = cv2.resize(np.ascontiguousarray(rgb), out, interpolation=cv2.INTER_CUBIC)
    left, top = (out[0] - size) // 2, (out[1] - size) // 2
    x = (rgb[top:top + size, left:left + size].astype(np.float32) - 127.0) / 128.0
    return x.transpose(2, 0, 1)[None].copy()


def embed(paths: list[str], sess: dict, mirrored: bool) -> dict[str, np.ndarray]:
    from keepers.core.inference.embedding import default_model, frame_embedding
    from keepers.core.io.loader import load
    from keepers.core.settings import Settings
    from keepers.core.types import Frame, Photo

    lite0 = default_model(["CPUExecutionProvider"])
    assert lite0.name == "efficientnet_lite0.int8", lite0.name
    size = Settings().analysis_size
    out = {k + suffix: [] for k in VARIANTS for suffix in ([""] + (["_mirrored"] if mirrored else []))}
    for i, p in enumerate(paths):
        frame = load(Photo(p, Path(p).suffix.lower().lstrip(".").replace("jpg", "jpeg")), size)
        frames = [("", frame)]
        if mirrored:
            frames.append(("_mirrored", Frame(frame.photo, np.ascontiguousarray(frame.rgb[:, ::-1]), frame.meta)))
        for suffix, f in frames:
            out["lite0_int8" + suffix].append(frame_embedding(f, lite0)[0])  # the runtime's own path
            for k in ("lite0_fp32", "lite2_fp32", "lite2_int8"):
                out[k + suffix].append(sess[k].run(["features"], {"input": crop(f, VARIANTS[k])})[0][0])
        if i % 100 == 0:
            print(f"  {i}/{len(paths)}", file=sys.stderr)
    return {k: np.array(v, np.float32) for k, v in out.items()}


def main(argv=None) -> int:
    args = argv or sys.argv[1:]
    lite2_dir, cache = Path(args[0]), Path(args[1])
    cache.mkdir(parents=True, exist_ok=True)
    sess = sessions(lite2_dir)
    for name, paths in photo_sets().items():
        target = cache / f"emb_{name}.npz"
        if target.is_file():
            continue
        t0 = time.time()
        E = embed(paths, sess, mirrored=name == "textures")
        np.savez(target, paths=np.array(paths), **E)
        print(f"{name}: {len(paths)} photos in {time.time() - t0:.0f} s -> {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
