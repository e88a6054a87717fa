"""The worker processes' set-up (keepers.core.workers), checked in fresh processes like the ones a run starts."""

import platform
import subprocess
import sys

import pytest

glibc = pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                           reason="the allocator set-up is for glibc")

# page faults per "photo" of 8 temporaries of 3 MB held together (an analysis's float copies and filter outputs
# of a 1024 px image), written, then all freed, after a first such photo
FAULTS_PER_PHOTO = """
import resource, sys
import numpy as np
from keepers.core.workers import prepare_worker
if sys.argv[1] == "prepared":
    prepare_worker()
def photo():
    held = [np.ones(3 << 20, np.uint8) for _ in range(8)]
    del held
photo()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    photo()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 10)
"""

OPENCV_THREADS = """
import cv2
from keepers.core.workers import prepare_worker
prepare_worker()
print(cv2.getNumThreads())
"""


def _in_fresh_process(code: str, *args: str) -> float:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True)
    return float(out.stdout)


@glibc
def test_a_prepared_worker_reuses_freed_memory_instead_of_faulting_in_new_pages_for_each_photo():
    plain, prepared = _in_fresh_process(FAULTS_PER_PHOTO, "plain"), _in_fresh_process(FAULTS_PER_PHOTO, "prepared")
    assert plain > 3000  # 6,144 pages a photo: glibc hands the memory back, and the next photo faults it in again
    assert prepared < plain / 20


def test_a_worker_keeps_opencv_to_one_thread_as_the_run_starts_one_worker_per_core():
    assert _in_fresh_process(OPENCV_THREADS) == 1
