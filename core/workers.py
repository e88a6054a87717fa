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
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import platform
import sys
from multiprocessing import util

_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
MMAP_THRESHOLD = 32 << 20  # glibc's largest: blocks above it (a full 24 MP decode, 72 MB) still go back at once
TRIM_THRESHOLD = 1 << 30
TOP_PAD = 64 << 20  # grow the heap in large steps: fewer system calls


def prepare_worker() -> None:
    """Call first thing in a worker process (a process pool's initializer)."""
    import cv2

    cv2.setNumThreads(1)
    keep_freed_memory()
    end_without_teardown()


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
