"""Running the real `keepers` command in an isolated environment (its own catalog, config and data dirs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

KEEPERS = str(Path(sys.executable).with_name("keepers"))


def isolated_env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
        env[var] = str(tmp / var.lower())
    env["KEEPERS_LOAD_PLUGINS"] = "0"
    return env


def keepers(*args, tmp: Path, timeout: int = 300, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([KEEPERS, *map(str, args)], capture_output=True, text=True, timeout=timeout,
                          env=isolated_env(tmp), **kw)


def records(proc: subprocess.CompletedProcess) -> dict[str, dict]:
    """--json output by file name."""
    out = {}
    for line in proc.stdout.splitlines():
        r = json.loads(line)
        out[os.path.basename(r["path"])] = r
    return out


def exiftool_json(*paths, tags=("-Rating", "-Subject", "-HierarchicalSubject")) -> list[dict]:
    p = subprocess.run(["exiftool", "-j", *tags, *map(str, paths)], capture_output=True, text=True)
    return json.loads(p.stdout or "[]")


def frame_of(rgb, name: str = "x.jpg"):
    """An in-memory photo as the analyzers receive it: the RGB array, a JPEG's Photo, the size in its Meta."""
    import numpy as np

    from keepers.core.types import Frame, Meta, Photo

    return Frame(Photo(name, "jpeg"), np.ascontiguousarray(rgb), Meta(width=rgb.shape[1], height=rgb.shape[0]))


def analysis_frame(path):
    """A photo file decoded as a cull decodes it: the analysis image at the default settings' size and pixel limit."""
    from keepers.core.io.discover import kind_of
    from keepers.core.io.loader import load
    from keepers.core.settings import Settings
    from keepers.core.types import Photo

    s = Settings()
    return load(Photo(str(path), kind_of(str(path))), s.analysis_size, s.max_pixels)


def chattr(flag: str, path: Path) -> None:
    """Set or clear a file attribute (+i immutable, +a append-only): the tests run as root, whom chmod does not stop,
    so a read-only sidecar or folder is made this way; skipped where chattr or the file system cannot."""
    import shutil

    import pytest

    if shutil.which("chattr") is None:
        pytest.skip("chattr is not installed")
    p = subprocess.run(["chattr", flag, str(path)], capture_output=True, text=True)
    if p.returncode:
        pytest.skip(f"cannot set {flag} here (needs root on ext4/xfs/btrfs): {p.stderr.strip()}")
