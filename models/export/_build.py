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
