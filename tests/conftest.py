"""Fixtures shared by the tests: real sample photos (scikit-image's bundled ones, BSD) and ../shared data."""

from __future__ import annotations

import faulthandler
import os
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SHARED_DATA = SHARED / "data"


# how long the test process may take to end after its report (it takes well under a second)
EXIT_GRACE_S = float(os.environ.get("KEEPERS_TEST_EXIT_GRACE", 120))


def pytest_configure(config):
    sys._called_from_test = True  # keeps installed third-party plugins out of the test run


def pytest_sessionfinish(session, exitstatus):
    session.config._keepers_status = int(exitstatus)


def pytest_unconfigure(config):
    """The run has reported; if its process then does not end, say why and end it. CI of e86f179 printed
    '822 passed' and then waited 80 minutes, until its time ran out, for a process that had no more tests to run,
    with nothing in its log to say what it waited for. Past EXIT_GRACE_S every thread's stack and the child
    processes are printed and the process ends with the run's own status (the tests have all been judged by
    then). A hang after Python has stopped its threads is caught by faulthandler's own timer a minute later."""
    status = getattr(config, "_keepers_status", 1)

    def watch() -> None:
        threading.Event().wait(EXIT_GRACE_S)
        err = sys.__stderr__
        print(f"\n*** the test process did not end within {EXIT_GRACE_S:g} s of its report; its threads:", file=err)
        faulthandler.dump_traceback(file=err, all_threads=True)
        print("*** its child processes:", *_children(os.getpid()) or ["none"], sep="\n    ", file=err)
        err.flush()
        os._exit(status)

    threading.Thread(target=watch, name="keepers-exit-watch", daemon=True).start()
    faulthandler.dump_traceback_later(EXIT_GRACE_S + 60, exit=True, file=sys.__stderr__)


def _children(pid: int) -> list[str]:
    """`pid`'s child processes as 'pid command line' (Linux's /proc; elsewhere none)."""
    found = []
    for d in os.listdir("/proc") if os.path.isdir("/proc") else []:
        try:
            with open(f"/proc/{d}/stat") as f:
                if int(f.read().rsplit(")", 1)[1].split()[1]) != pid:
                    continue
            with open(f"/proc/{d}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            found.append(f"{d} {cmd[:300]}")
        except (OSError, ValueError, IndexError):
            pass
    return found


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
