"""`make bench`, per model: images (or texts) per second of every bundled ONNX model, at batch 1 on one thread
(the way the pipeline runs them on CPU), and on CUDA when onnxruntime offers it.

Inputs are shaped from each model's own input spec; speed does not depend on the values, so they are random.
"""

from __future__ import annotations

import time

import numpy as np
import onnxruntime as ort

from keepers.core.runtime import MODELS_DIR, manifest


def feeds(session: ort.InferenceSession, rng: np.random.Generator) -> dict[str, np.ndarray]:
    out = {}
    for i in session.get_inputs():
        shape = [d if isinstance(d, int) else (1 if n == 0 else 16) for n, d in enumerate(i.shape)]
        if "int" in i.type:
            out[i.name] = np.ones(shape, np.int64) if "mask" in i.name else rng.integers(1000, 2000, shape)
        else:
            out[i.name] = rng.standard_normal(shape).astype(np.float32)
    return out


def rate(path, provider: str, seconds: float = 1.5) -> float:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    session = ort.InferenceSession(str(path), opts, providers=[provider])
    x = feeds(session, np.random.default_rng(0))
    session.run(None, x)  # warm-up
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        session.run(None, x)
        n += 1
    return n / (time.perf_counter() - t0)


def main() -> None:
    providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in ort.get_available_providers()]
    print("per model, batch 1, one thread: runs per second (" + ", ".join(providers) + ")")
    for name, entry in manifest().items():
        path = MODELS_DIR / entry["file"]
        if path.suffix != ".onnx":
            continue
        cols = [f"{p.replace('ExecutionProvider', '')} {rate(path, p):7.1f}/s" for p in providers]
        print(f"  {name:<26} {path.stat().st_size / 1e6:5.1f} MB   " + "   ".join(cols))


if __name__ == "__main__":
    main()
