"""One exiftool `-stay_open` process per Python process, started on first use (a process per file costs
75-98 ms; a command to a running one 1.5-18 ms: ../shared/research/performance.md)."""

from __future__ import annotations

import atexit
import os
import shutil
import threading
from pathlib import Path

import exiftool

from keepers.core.errors import UserError

# defines our private XMP namespace (keepers:*) so exiftool can write it
CONFIG = Path(__file__).with_name("exiftool_config.pl")
INSTALL_HINT = ("exiftool is not installed; on Debian/Ubuntu: sudo apt-get install libimage-exiftool-perl "
                "(macOS: brew install exiftool); `make demo` installs it when run as root")

_local = threading.local()
_all: list[exiftool.ExifToolHelper] = []
_lock = threading.Lock()


def available() -> bool:
    return shutil.which("exiftool") is not None


def get() -> exiftool.ExifToolHelper:
    """This thread's running exiftool (a -stay_open process serves one command at a time)."""
    et = getattr(_local, "et", None)
    if et is None or not et.running or getattr(_local, "pid", None) != os.getpid():
        if not available():
            raise UserError(INSTALL_HINT)
        # check_execute=False: exiftool's own warnings (minor errors in a file) must not abort a batch;
        # callers read the result and decide
        et = exiftool.ExifToolHelper(config_file=str(CONFIG), check_execute=False,
                                     common_args=["-G", "-n", "-charset", "filename=utf8"])
        et.run()
        _local.et, _local.pid = et, os.getpid()
        with _lock:
            _all.append(et)
    return et


def restart() -> exiftool.ExifToolHelper:
    """Replace this thread's exiftool with a fresh process (see keepers.core.xmp for when)."""
    et = getattr(_local, "et", None)
    if et is not None and getattr(_local, "pid", None) == os.getpid():
        try:
            et.terminate()
        except Exception:  # already dead: a new one is started all the same
            pass
    _local.et = None
    return get()


@atexit.register
def _stop_all() -> None:
    import warnings

    for et in _all:
        # at interpreter exit the process may already be gone (killed with its process group): nothing to report
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                if et.running:
                    et.terminate()
            except Exception:
                pass
