"""One exiftool `-stay_open` process per Python process, started on first use (a process per file costs
75-98 ms; a command to a running one 1.5-18 ms: ../shared/research/performance.md)."""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import threading
from pathlib import Path

import exiftool

from keepers.core.errors import UserError

log = logging.getLogger("keepers.exiftool")

# defines our private XMP namespace (keepers:*) so exiftool can write it
CONFIG = Path(__file__).with_name("exiftool_config.pl")
INSTALL_HINT = ("exiftool is not installed; on Debian/Ubuntu: sudo apt-get install libimage-exiftool-perl "
                "(macOS: brew install exiftool; Windows: the Windows executable from exiftool.org, "
                "as exiftool.exe on the PATH); `make demo` installs it when run as root")

_local = threading.local()
# every process started, with its thread and the (Python) process that owns it
_all: list[tuple[threading.Thread, int, exiftool.ExifToolHelper]] = []
_lock = threading.Lock()
# the tags a verdict's write sets: writing them once to nowhere has a new process compile its XMP writer and their
# tables (0.1-0.2 s), which the first sidecar write would otherwise wait for
_WARM = ("-o", "-.xmp", "-XMP-xmp:Rating=0", "-XMP-dc:Subject+=x", "-XMP-lr:HierarchicalSubject+=x",
         "-XMP-keepers:Score=1", "-XMP-photoshop:SidecarForExtension=JPG")


def _own_process_group(sig):
    """pyexiftool's pre-exec hook (stop with this process, on Linux) plus a process group of exiftool's own. Ctrl-C
    signals the terminal's whole foreground group: exiftool killed by it in the middle of a command left pyexiftool
    reading the closed pipe for ever, so an interrupted `keepers cull` spun at 100 % CPU and never ended. Keepers
    stops its exiftool itself (`_terminate`), so the Ctrl-C is only Keepers' to handle."""
    inner = _pdeathsig(sig)

    def setup() -> None:
        os.setpgid(0, 0)
        if inner is not None:
            inner()
    return setup


if os.name == "posix":
    _pdeathsig = exiftool.exiftool._set_pdeathsig
    exiftool.exiftool._set_pdeathsig = _own_process_group


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
        reap()
        et.run()
        _local.et, _local.pid = et, os.getpid()
        with _lock:
            _all.append((threading.current_thread(), os.getpid(), et))
    return et


def warm() -> None:
    """Start this thread's exiftool and have it ready to write, ahead of the first write. Quiet when it cannot:
    the write itself reports why."""
    try:
        get().execute(*_WARM)
    except Exception as e:
        log.debug("exiftool warm-up failed: %s", e)


def reap() -> None:
    """Stop the processes of threads that have ended (a pool's, after a batch): a daemon runs batch after batch,
    and each would leave its writer threads' processes behind."""
    with _lock:
        ended = [x for x in _all if not x[0].is_alive() and x[1] == os.getpid()]  # a forked child's are not its own
        _all[:] = [x for x in _all if x not in ended]
    for _, _, et in ended:
        _terminate(et)


def restart() -> exiftool.ExifToolHelper:
    """Replace this thread's exiftool with a fresh process (see keepers.core.io.xmp for when)."""
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
    for _, pid, et in _all:
        if pid == os.getpid():
            _terminate(et)


def _terminate(et: exiftool.ExifToolHelper) -> None:
    import warnings

    # the process may already be gone (killed with its process group): nothing to report
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if et.running:
                et.terminate()
        except Exception:
            pass
