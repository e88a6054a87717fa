"""What every recipe does the same way: a throw-away build venv with its pinned packages, `keepers` importable in
it from this checkout, and the recipe run again inside that venv (build tools never enter Keepers' own)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[2]
IN_VENV = os.environ.get("KEEPERS_RECIPE_IN_VENV") == "1"  # set for the recipe's second run, inside its venv


def ensure_venv(build: Path, pins: list[str], install: Callable[[Path], None] | None = None,
                src: Path | None = None) -> Path:
    """Create `build`/venv, or reuse it while `pins` are unchanged; returns its python. `install(python)` replaces
    the plain `pip install pins` (a recipe that must build a package from source). `keepers` is the repository root
    (package-dir mapping): a symlink named keepers in `src` (default `build`/src), put on the venv's path."""
    py = build / "venv" / "bin" / "python"
    stamp = build / "venv" / ".pins"
    want = "\n".join(pins)
    if not (py.is_file() and stamp.is_file() and stamp.read_text() == want):
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(build / "venv")], check=True)
        if install is None:
            subprocess.run([str(py), "-m", "pip", "install", "-q", *pins], check=True)
        else:
            install(py)
        stamp.write_text(want)
    src = src or build / "src"
    src.mkdir(parents=True, exist_ok=True)
    link = src / "keepers"
    if link.is_symlink() and link.resolve() != ROOT:
        link.unlink()
    if not link.exists():
        link.symlink_to(ROOT)
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    Path(site, "keepers-src.pth").write_text(str(src) + "\n")
    return py


def run_in_venv(py: Path, script: str, **env: str) -> int:
    """Run the recipe `script` again, with the same arguments, by the venv's python; its exit code."""
    return subprocess.run([str(py), script, *sys.argv[1:]],
                          env=dict(os.environ, KEEPERS_RECIPE_IN_VENV="1", **env)).returncode


def exact_int8(opts):
    """onnxruntime session options as keepers.core.inference.runtime sets them: exact int8 products where this CPU's would
    saturate (x86-64 with AVX2 or AVX-512 but no VNNI), so a recipe's parity figures hold on any build machine."""
    from keepers.core.inference.runtime import PRECISE_INT8, int8_saturates

    if int8_saturates():
        opts.add_session_config_entry(PRECISE_INT8, "1")
    return opts


def calibration_reader(input_name: str, inputs: list):
    """An onnxruntime static-quantisation reader feeding `inputs` one by one as `input_name`."""
    from onnxruntime.quantization import CalibrationDataReader

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter(inputs)

        def get_next(self):
            x = next(self.it, None)
            return None if x is None else {input_name: x}

    return Reader()


def write_manifest(models: Path, name: str, entry: dict, numbers_on_one_line: bool = False) -> Path:
    """Write models/manifest/<name>.json, one key a line; `numbers_on_one_line`: each list of plain numbers (token
    ids, reference vectors, per-photo features) on one line, so a long manifest stays readable."""
    text = json.dumps(entry, indent=1, ensure_ascii=False)
    if numbers_on_one_line:
        text = re.sub(r"\[\s+(-?[\d.e-]+(?:,\s+-?[\d.e-]+)*)\s+\]",
                      lambda m: "[" + ", ".join(x.strip() for x in m.group(1).split(",")) + "]", text)
    path = models / "manifest" / f"{name}.json"
    path.write_text(text + "\n")
    return path


def efficientnet_lite(stages: list[tuple[int, int, int, int, int]], size: int, weights: str):
    """An EfficientNet-Lite network with lukemelas EfficientNet-PyTorch parameter names, the state dict at `weights`
    loaded strictly (every name and shape checked), in eval mode. Lite0 and Lite2 differ only in `stages` ((expand
    ratio, kernel, stride of first block, output channels, repeats) per stage) and input `size`; both keep ReLU6, no
    squeeze-excite, TF 'SAME' padding, BatchNorm eps 1e-3, a 32-channel stem and a 1280-channel head. Outputs
    (logits [N, 1000], features [N, 1280]: the global average pool after the head conv)."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    def same_pad(size: int, k: int, s: int) -> tuple[int, int, int]:
        """TF 'SAME' padding (before, after) for a square input, and the output size."""
        out = -(-size // s)
        total = max((out - 1) * s + k - size, 0)
        return total // 2, total - total // 2, out

    class SameConv(nn.Conv2d):
        def __init__(self, cin, cout, k, s, size, groups=1):
            before, after, self.out_size = same_pad(size, k, s)
            sym = before == after  # symmetric padding stays inside the Conv; TF puts the odd pixel after
            super().__init__(cin, cout, k, s, padding=before if sym else 0, groups=groups, bias=False)
            self.pad = None if sym else (before, after, before, after)

        def forward(self, x):
            return super().forward(F.pad(x, self.pad) if self.pad else x)

    def bn(c):
        return nn.BatchNorm2d(c, eps=1e-3)

    class Block(nn.Module):
        def __init__(self, cin, cout, expand, k, s, size):
            super().__init__()
            mid = cin * expand
            if expand != 1:
                self._expand_conv, self._bn0 = nn.Conv2d(cin, mid, 1, bias=False), bn(mid)
            self._depthwise_conv = SameConv(mid, mid, k, s, size, groups=mid)
            self._bn1 = bn(mid)
            self._project_conv, self._bn2 = nn.Conv2d(mid, cout, 1, bias=False), bn(cout)
            self.skip = s == 1 and cin == cout
            self.out_size = self._depthwise_conv.out_size

        def forward(self, x):
            y = F.relu6(self._bn0(self._expand_conv(x))) if hasattr(self, "_expand_conv") else x
            y = F.relu6(self._bn1(self._depthwise_conv(y)))
            y = self._bn2(self._project_conv(y))
            return y + x if self.skip else y

    class Lite(nn.Module):
        def __init__(self, size):
            super().__init__()
            self._conv_stem, self._bn0 = SameConv(3, 32, 3, 2, size), bn(32)
            size, cin, blocks = self._conv_stem.out_size, 32, []
            for expand, k, s, cout, repeats in stages:
                for i in range(repeats):
                    blocks.append(Block(cin, cout, expand, k, s if i == 0 else 1, size))
                    cin, size = cout, blocks[-1].out_size
            self._blocks = nn.ModuleList(blocks)
            self._conv_head, self._bn1 = nn.Conv2d(cin, 1280, 1, bias=False), bn(1280)
            self._fc = nn.Linear(1280, 1000)

        def forward(self, x):
            x = F.relu6(self._bn0(self._conv_stem(x)))
            for b in self._blocks:
                x = b(x)
            features = F.relu6(self._bn1(self._conv_head(x))).mean(dim=(2, 3))
            return self._fc(features), features

    model = Lite(size)
    model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True), strict=True)
    return model.eval()
