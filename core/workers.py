"""Set-up for the worker processes of a run: one thread per library, and freed memory kept for reuse.

A run starts one worker process per core (keepers.core.pipeline), so each process must stay on one core:

- OpenCV sizes its thread pool to the machine. Two workers with two OpenCV threads each on a 2-core machine
  fought over the cores; one thread each made the decode 6 % and the analysis 5 % faster (docs/benchmarks.md).
  onnxruntime's sessions are single-threaded for the same reason (keepers.core.inference.runtime).
- glibc's malloc serves a large block (above a threshold that starts at 128 KiB and adapts) straight from the
  system with mmap and unmaps it on free, and it trims the top of its heap once enough is free there. An analysis
  makes dozens of 1-6 MB temporaries per photo (float copies of a 1024 px image, filter outputs), so each photo
  met fresh pages, which the kernel faults in and zeroes 4 KiB at a time: ~6,000 faults a photo, 10-15 % of the
  time. With both thresholds raised, the next photo reuses the last one's pages. The cost is memory: a worker
  keeps its peak heap (a few hundred MB) until it exits, which is why this is for a run's workers, which exit
  when it ends, and not for the long-lived daemon.
- A worker that has sent its last result has nothing left to tidy: tearing its interpreter down (freeing the
  models, every module and that heap, piece by piece) took 0.13 s of CPU, while the run's sidecars were being
  written. It ends at once instead, and the system takes its memory back.
- Each worker also paid, before its first photo, for what does not depend on the photo: importing the pipeline,
  the analyzers and onnxruntime (0.4 s of CPU), registering Pillow's and the HEIF decoders (0.12 s) and OpenCV's
  CIELAB tables (0.15 s, on its first Lab conversion). On Linux a run's workers fork from a fork server that did all
  that once (`pool_context`, warmed by keepers.core.warm): one process pays it, not one per core. (macOS's system
  libraries are not safe to fork without exec, and Windows has no fork: both spawn fresh workers, as before.)
  The server is a fresh process, not the run's: no SQLite or exiftool handle of the run crosses into a worker.
  Nothing that owns threads or a model session is made there (a fork copies no threads); each worker still
  opens its own sessions.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import multiprocessing
import os
import platform
import select
import signal
import sys
import threading
from multiprocessing import util

_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
MMAP_THRESHOLD = 32 << 20  # glibc's largest: blocks above it (a full 24 MP decode, 72 MB) still go back at once
TRIM_THRESHOLD = 1 << 30
TOP_PAD = 64 << 20  # grow the heap in large steps: fewer system calls


def pool_context():
    """The multiprocessing context for a run's worker pool: forked from a warmed fork server on Linux (see the
    module docstring), spawned elsewhere."""
    if platform.system() != "Linux" or "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["keepers.core.warm"])  # read when the server starts (the first pool of a process)
    return ctx


def start_early() -> bool:
    """Start the run's fork server now, before the main process has imported what it needs (every plugin: 0.5-0.8 s
    of one core, the other idle): its warm-up (0.5 s) runs on that idle core, and the pool that `pool_context` makes
    later connects to the same server, ready. True if a server was started (Linux), False where workers spawn.
    Everything the server reads from this process (its environment, the preload list) is set when it starts, so call
    it after anything a worker must inherit (the warnings setting)."""
    ctx = pool_context()
    if ctx.get_start_method() != "forkserver":
        return False
    from multiprocessing import forkserver

    forkserver.ensure_running()  # spawns the server and returns: its preload runs while this process goes on
    atexit.register(_stop_server)
    return True


def _stop_server() -> None:
    """At the process's end, the server goes too. A run that made no pool (every photo already in the catalog) left
    it still warming up: it would have outlived the run by up to 0.5 s, holding the run's output open, so that
    `keepers cull --json | ...` (and the check's unchanged re-run) waited for it. An idle server was about to exit
    anyway; the workers it forked are not its threads and end on their own."""
    from multiprocessing import forkserver

    pid = getattr(getattr(forkserver, "_forkserver", None), "_forkserver_pid", None)
    if pid:
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:  # gone already
            pass


def warm_up() -> None:
    """In the fork server, once: what every worker would do before its first photo. Numbers are unchanged: the same
    code runs, only earlier."""
    import importlib
    import pkgutil

    import cv2
    import numpy as np

    cv2.setNumThreads(1)  # before any OpenCV call: the forked workers inherit no thread pool
    import onnxruntime  # noqa: F401  (imported only; sessions are opened in the workers)

    import keepers.core.pipeline  # noqa: F401  (the plugin manager and every built-in analyzer)
    from keepers.core.io.loader import _register_heif

    _register_heif()
    for pkg in ("keepers.core.analyzers", "keepers.core.inference", "keepers.core.judge"):  # their lazy imports
        for m in pkgutil.iter_modules(importlib.import_module(pkg).__path__, pkg + "."):
            try:
                importlib.import_module(m.name)
            except Exception:  # an optional part (a missing extra) is the worker's to report, if it needs it
                pass
    cv2.cvtColor(np.zeros((1, 1, 3), np.uint8), cv2.COLOR_RGB2LAB)  # builds OpenCV's 8-bit Lab tables
    np.median(np.zeros(3))  # its first call imports numpy.ma (9 ms), which each worker's first photo paid


def prepare_worker() -> None:
    """Call first thing in a worker process (a process pool's initializer)."""
    import cv2

    end_with_the_run()
    cv2.setNumThreads(1)
    keep_freed_memory()
    end_without_teardown()


def leave_ctrl_c_to_the_run() -> None:
    """In a cull's worker (it forks from the fork server with this already set; a spawned one calls it): ignore
    Ctrl-C. The terminal signals its whole process group, and a worker's own KeyboardInterrupt (in its set-up, or
    waiting for a photo) printed multiprocessing's traceback under the run's "interrupted" line (4 runs of 80 with
    both cores busy). The cull handles it: it cancels the photos left, and its workers end after the one in hand.
    Not for a pool that its `with` ends (the lab's): that waits for every item submitted, so its workers' own
    KeyboardInterrupt is what stops them. Elsewhere it does nothing."""
    if multiprocessing.parent_process() is not None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextlib.contextmanager
def ctrl_c_held():
    """In the main thread: a Ctrl-C during the block takes effect as it ends. A pool starts its workers as photos are
    submitted; a KeyboardInterrupt in the middle of starting one leaves it running but unknown to the pool (which
    then tells only the others to end, and waits for each it knows of to take its word). Interrupted culls with both
    cores busy said "interrupted" and ran on (2 of 200): py-spy showed the run in the pool's end, joining a known
    worker that sat idle, its word taken by the unknown one. Other threads get no Ctrl-C: only the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    old = signal.signal(signal.SIGINT, lambda sig, _frame: caught.append(sig))
    try:
        yield
    except Exception:
        if caught:  # what failed for the Ctrl-C (a fork server it stopped as it warmed up: "unexpected EOF") is not
            raise KeyboardInterrupt from None  # the story: the run was interrupted
        raise
    finally:
        signal.signal(signal.SIGINT, old)
    if caught and callable(old):
        old(signal.SIGINT, None)  # Python's own handler: raises KeyboardInterrupt, here, after the block
    elif caught and old == signal.SIG_DFL:
        raise KeyboardInterrupt


def end_with_the_run() -> None:
    """In a multiprocessing worker on Linux: end when the process that started the pool has ended. A pool told to
    stop sends each worker it knows of a word to end; one being started as a Ctrl-C stopped the run was never known,
    so it waited for a photo for ever (it holds its queue's other end itself), holding the terminal's output
    open: the run had exited 130, and whoever read its output waited (CI, 1 run in about 100 with both cores busy).
    The wait is one blocked thread, no polling: a process's pidfd becomes readable as it exits."""
    parent = multiprocessing.parent_process()
    if parent is None or not hasattr(os, "pidfd_open"):
        return
    try:
        fd = os.pidfd_open(parent.pid)
    except ProcessLookupError:  # gone already
        os._exit(0)
    except OSError:  # an older kernel (before 5.3): as before, the pool's word is all it waits for
        return

    def wait() -> None:
        ended = select.poll()  # (not select.select: it takes no descriptor above 1023)
        ended.register(fd, select.POLLIN)
        ended.poll()
        os._exit(0)

    threading.Thread(target=wait, name="keepers-end-with-the-run", daemon=True).start()


def end_without_teardown() -> None:
    """In a multiprocessing worker: end the process, once its pool lets it go, without the interpreter's teardown.
    Runs last among the worker's exit steps (multiprocessing's own finalizers, with higher priority, come
    first); elsewhere it does nothing, so a script's exit status is never touched."""
    if multiprocessing.parent_process() is None:
        return

    def end() -> None:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (AttributeError, OSError, ValueError):
                pass
        os._exit(0)

    util.Finalize(None, end, exitpriority=-100)


def keep_freed_memory() -> bool:
    """Tune glibc's malloc in this process (see the module docstring). False, changing nothing, elsewhere (macOS,
    Windows, musl), where the allocators behave differently."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return all(mallopt(k, v) == 1 for k, v in ((_M_MMAP_THRESHOLD, MMAP_THRESHOLD), (_M_TRIM_THRESHOLD, TRIM_THRESHOLD),
                                               (_M_TOP_PAD, TOP_PAD)))
