"""Fixtures shared by the tests: real sample photos (scikit-image's bundled ones, BSD) and ../shared data."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SHARED_DATA = SHARED / "data"


def pytest_configure(config):
    sys._called_from_test = True  # keeps installed third-party plugins out of the test run


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"needs the development data in {SHARED_DATA} (absent on this machine)")
    return SHARED_DATA


def sample_rgb(name: str) -> np.ndarray:
    """A real photo from scikit-image's bundled data, e.g. 'astronaut', 'chelsea', 'coffee', 'rocket', 'motorcycle'."""
    from keepers.core.lab.demo import sample_photo

    return sample_photo(name)


@pytest.fixture
def write_jpeg(tmp_path):
    """Save an RGB array as a JPEG under tmp_path and return its path."""
    from PIL import Image

    def write(rgb: np.ndarray, name: str = "photo.jpg", quality: int = 92, exif: bytes | None = None) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        kw = {"exif": exif} if exif else {}
        Image.fromarray(rgb).save(path, quality=quality, **kw)
        return path

    return write


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """`keepers demo`'s photos culled once by the real command: (folder, the process, its records by name, the
    folder whose catalog and config it used). Tests read it; none changes it."""
    from helpers import keepers, records
    from keepers.core.lab import demo

    tmp = tmp_path_factory.mktemp("demo")
    folder = tmp / "photos"
    demo.build(folder)
    proc = keepers("cull", "--json", folder, tmp=tmp)
    return folder, proc, records(proc), tmp
