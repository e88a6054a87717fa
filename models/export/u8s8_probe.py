"""Recipe: models/u8s8_probe.onnx, a two-node graph that shows whether onnxruntime's int8 products saturate here.

Run `python3 models/export/u8s8_probe.py`. It makes or reuses a throw-away venv (onnx, onnxruntime, numpy, pinned)
and re-runs itself there. No weights come from anywhere: the graph is written here.

Why: on x86-64 CPUs with AVX2 or AVX-512 but no VNNI, onnxruntime multiplies uint8 activations by int8 weights
with vpmaddubsw, which adds two products in 16 bits and saturates above 32767 (255 x 127 x 2 = 64770). The same
int8 graph then computes other numbers there than on a VNNI CPU, an ARM CPU or an older SSE4.1 one, where the
sums are exact (issue 19: EfficientNet-Lite0 int8 features at cosine 0.90 to the VNNI CPU's). onnxruntime's
session option `session.x64quantprecision` turns the int8 weights into uint8 at load time and multiplies
exactly, but on every AVX2/AVX-512 CPU, VNNI ones included, where it halves the int8 speed; so
keepers.core.inference.runtime sets it only where this probe sees the saturation.

The probe feeds 255s through the two kernels the bundled int8 graphs use, each with every weight 127:
MatMulInteger (the int8 GEMM: MiniLM, EfficientNet's classifier) and QLinearConv 1x1 with symmetric int8
weights (EfficientNet's convolutions; onnxruntime has a separate kernel family for them). The exact outputs are
recorded in the model's metadata (`exact_<output>`); any other output means saturation.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import _build  # models/export/_build.py: a recipe runs as a script, so its folder is on sys.path

ROOT = Path(__file__).resolve().parents[2]
TARGET = ROOT / "models" / "u8s8_probe.onnx"
PINS = ["onnx==1.23.2", "onnxruntime==1.32.0", "numpy==2.4.6"]
BUILD = Path(os.environ.get("KEEPERS_BUILD_DIR", Path(tempfile.gettempdir()) / "keepers-build")) / "u8s8_probe"
K = 64  # products summed per output: 32 pairs, each 64770 exactly, 32767 when saturated
ROWS, COLS = 8, 16  # one full kernel tile or more on every x86 path
CONV_OUT_SCALE = 255 * 127 * K / 200  # the exact conv sum requantises to 200; a saturated one to about 101


def build():
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    a = helper.make_tensor_value_info("a", TensorProto.UINT8, [ROWS, K])
    x = helper.make_tensor_value_info("x", TensorProto.UINT8, [1, K, 1, ROWS])
    gemm_out = helper.make_tensor_value_info("gemm", TensorProto.INT32, [ROWS, COLS])
    conv_out = helper.make_tensor_value_info("conv", TensorProto.UINT8, [1, COLS, 1, ROWS])
    inits = [
        numpy_helper.from_array(np.full((K, COLS), 127, np.int8), "b"),
        numpy_helper.from_array(np.full((COLS, K, 1, 1), 127, np.int8), "w"),
        numpy_helper.from_array(np.array(1.0, np.float32), "one"),
        numpy_helper.from_array(np.array(0, np.uint8), "zero_u8"),
        numpy_helper.from_array(np.zeros(COLS, np.int8), "zero_w"),
        numpy_helper.from_array(np.ones(COLS, np.float32), "w_scale"),
        numpy_helper.from_array(np.array(CONV_OUT_SCALE, np.float32), "y_scale"),
    ]
    nodes = [helper.make_node("MatMulInteger", ["a", "b"], ["gemm"], name="gemm"),
             helper.make_node("QLinearConv", ["x", "one", "zero_u8", "w", "w_scale", "zero_w", "y_scale", "zero_u8"],
                              ["conv"], name="conv", kernel_shape=[1, 1])]
    graph = helper.make_graph(nodes, "u8s8_probe", [a, x], [gemm_out, conv_out], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="keepers",
                              ir_version=8)
    helper.set_model_props(model, {"exact_gemm": str(255 * 127 * K), "exact_conv": "200",
                                   "recipe": "python3 models/export/u8s8_probe.py"})
    return model


def run(path: Path, precise: bool) -> dict:
    import numpy as np
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    if precise:
        opts.add_session_config_entry("session.x64quantprecision", "1")
    s = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    feeds = {i.name: np.full(i.shape, 255, np.uint8) for i in s.get_inputs()}
    return {o.name: sorted({int(v) for v in out.ravel()}) for o, out in zip(s.get_outputs(), s.run(None, feeds))}


def main() -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    if not _build.IN_VENV:
        return _build.run_in_venv(_build.ensure_venv(BUILD, PINS), __file__)
    import onnx

    model = build()
    onnx.checker.check_model(model, full_check=True)
    TARGET.write_bytes(model.SerializeToString())
    print(f"wrote {TARGET} ({TARGET.stat().st_size} bytes)")
    print(f"outputs here: {run(TARGET, False)}; with session.x64quantprecision: {run(TARGET, True)}; "
          f"exact: gemm {255 * 127 * K}, conv 200")
    return 0


if __name__ == "__main__":
    sys.exit(main())
