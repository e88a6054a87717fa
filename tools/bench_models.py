"""`make bench`, per model: images (or texts) per second of every bundled ONNX model, at batch 1 on one thread
(the way the pipeline runs them on CPU), and on CUDA when onnxruntime offers it.

An int8 model (`int8` in its file name) is also timed in onnxruntime's exact int8 mode (session.x64quantprecision:
uint8 x uint8 products), which keepers.core.inference.runtime turns on where this CPU's uint8 x int8 products saturate (x86-64
with AVX2 or AVX-512 but no VNNI): the `exact` column is what such a CPU runs, the `CPU` column what this one runs.

Inputs are shaped from each model's own input spec; speed does not depend on the values, so they are random.
"""

from __future__ import annotations

import time

import numpy as np
import onnxruntime as ort

from keepers.core.inference.runtime import MODELS_DIR, PRECISE_INT8, int8_saturates, manifest


def feeds(session: ort.InferenceSession, rng: np.random.Generator) -> dict[str, np.ndarray]:
    out = {}
    for i in session.get_inputs():
        shape = [d if isinstance(d, int) else (1 if n == 0 else 16) for n, d in enumerate(i.shape)]
        if "int" in i.type:
            out[i.name] = np.ones(shape, np.int64) if "mask" in i.name else rng.integers(1000, 2000, shape)
        else:
            out[i.name] = rng.standard_normal(shape).astype(np.float32)
    return out


def session(path, provider: str, exact: bool | None = None) -> ort.InferenceSession:
    """As the runtime opens it; `exact` forces the exact int8 mode on or off (None: as the runtime chooses)."""
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    if int8_saturates() if exact is None else exact:
        opts.add_session_config_entry(PRECISE_INT8, "1")
    return ort.InferenceSession(str(path), opts, providers=[provider])


def rate(path, provider: str, seconds: float = 1.5, exact: bool | None = None) -> float:
    s = session(path, provider, exact)
    x = feeds(s, np.random.default_rng(0))
    s.run(None, x)  # warm-up
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        s.run(None, x)
        n += 1
    return n / (time.perf_counter() - t0)


def main() -> None:
    providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in ort.get_available_providers()]
    mode = "exact (its uint8 x int8 products saturate)" if int8_saturates() else "fast (exact without help)"
    print("per model, batch 1, one thread: runs per second (" + ", ".join(providers) + f"); this CPU's int8: {mode}")
    for name, entry in manifest().items():
        path = MODELS_DIR / entry["file"]
        if path.suffix != ".onnx":
            continue
        cols = [f"{p.replace('ExecutionProvider', '')} {rate(path, p):7.1f}/s" for p in providers]
        if "int8" in path.name:
            cols.append(f"exact {rate(path, 'CPUExecutionProvider', exact=True):7.1f}/s")
        print(f"  {name:<26} {path.stat().st_size / 1e6:5.1f} MB   " + "   ".join(cols))


if __name__ == "__main__":
    main()
