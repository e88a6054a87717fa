"""The worker processes' set-up (keepers.core.workers), checked in fresh processes like the ones a run starts."""

import os
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


# a pool of 2 workers that each build a large heap of Python objects (a stand-in for the models and modules an
# analysis leaves behind), then the time the pool takes to let them go; argv: "prepared" or "plain"
POOL_END = """
import multiprocessing, sys, time
from concurrent.futures import ProcessPoolExecutor
from keepers.core.workers import prepare_worker

def work(i):
    global heap
    heap = [(n, str(n)) for n in range(1_500_000)]
    print("buffered line from worker", i)  # must reach the terminal although the worker ends early
    return i

if __name__ == "__main__":
    init = prepare_worker if sys.argv[1] == "prepared" else None
    pool = ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn"), initializer=init)
    assert sorted(pool.map(work, range(2))) == [0, 1]
    t = time.perf_counter()
    pool.shutdown(wait=True)
    print(time.perf_counter() - t)
"""


def test_a_finished_worker_ends_without_tearing_its_heap_down_and_its_output_still_arrives(tmp_path):
    script = tmp_path / "pool_end.py"  # spawned workers import the script's functions from its file
    script.write_text(POOL_END)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # output to a pipe is held in a buffer
    ends = {}
    for kind in ("plain", "prepared"):
        out = subprocess.run([sys.executable, str(script), kind], capture_output=True, text=True, check=True, env=env)
        lines = out.stdout.split()
        ends[kind] = float(lines[-1])
        assert out.stdout.count("buffered line from worker") == 2, out.stdout
    assert ends["prepared"] < ends["plain"] / 2, ends


def test_preparing_a_process_that_is_not_a_pool_worker_keeps_its_exit_status():
    code = "import sys\nfrom keepers.core.workers import prepare_worker\nprepare_worker()\nsys.exit(3)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 3


# a run's pool (keepers.core.workers.pool_context), as keepers.core.pipeline makes it; each worker reports, before it
# has done anything itself, whether the analyzers are imported, and the CPU its first CIELAB conversion costs
WARM_POOL = """
import json, sys, time
from concurrent.futures import ProcessPoolExecutor
from keepers.core.workers import pool_context, prepare_worker

def first_look(_):
    # numpy.ma: the first np.median imports it (an analyzer's, on each worker's first photo before it was warmed)
    loaded = all(m in sys.modules for m in ("keepers.core.analyzers.faces", "numpy.ma"))
    import cv2, numpy as np
    t = time.process_time()
    cv2.cvtColor(np.zeros((1, 1, 3), np.uint8), cv2.COLOR_RGB2LAB)  # OpenCV builds its Lab tables on the first
    return loaded, time.process_time() - t

if __name__ == "__main__":
    with ProcessPoolExecutor(2, mp_context=pool_context(), initializer=prepare_worker) as pool:
        print(json.dumps(list(pool.map(first_look, range(2)))))
"""


@pytest.mark.skipif(platform.system() != "Linux", reason="workers fork from a warmed server on Linux only")
def test_a_runs_workers_start_warm_having_paid_the_imports_and_tables_once_between_them(tmp_path):
    import json

    script = tmp_path / "warm_pool.py"
    script.write_text(WARM_POOL)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True)
    for loaded, lab_cpu in json.loads(out.stdout):
        assert loaded  # imported in the fork server, once, not again in each worker
        assert lab_cpu < 0.03, lab_cpu  # built there too: about 0.15 s of CPU in a cold process


EARLY_SERVER = """
import json, sys
from multiprocessing import forkserver
from keepers.cli import _early_workers
_early_workers(sys.argv[1:])
print(json.dumps([forkserver._forkserver._forkserver_pid is not None, "keepers.core.pm" in sys.modules]))
"""


@pytest.mark.skipif(platform.system() != "Linux", reason="workers fork from a warmed server on Linux only")
def test_a_cull_starts_its_workers_server_before_loading_the_plugins_and_a_one_worker_cull_or_other_command_none():
    def started(*argv):
        out = subprocess.run([sys.executable, "-c", EARLY_SERVER, *argv], capture_output=True, text=True, check=True)
        return json.loads(out.stdout)

    import json

    # the server warms up on the second core while this process imports every plugin (0.4-0.8 s), not after it
    assert started("cull", "photos") == [True, False]
    assert started("cull", "--workers", "1", "photos") == [False, False]  # no pool: nothing to start
    assert started("sort", "photos") == [False, False]
    assert started("--version") == [False, False]


# a run's pool whose workers each report their pid and then work on a "photo" (a 3 s sleep), as a run's pool does
RUN_WITH_WORKERS = """
import os, signal, sys, time
from concurrent.futures import ProcessPoolExecutor
from keepers.core.workers import pool_context, prepare_worker

def photo(_):
    time.sleep(3)
    return os.getpid()

if __name__ == "__main__":
    pool = ProcessPoolExecutor(2, mp_context=pool_context(), initializer=prepare_worker)
    futures = [pool.submit(photo, i) for i in range(2)]
    time.sleep(1)  # both workers up, each with a photo in hand
    print(" ".join(str(p) for p in pool._processes), flush=True)
    if sys.argv[1] == "killed":
        os.kill(os.getpid(), signal.SIGKILL)  # a run that ends without a word to its pool
    for p in pool._processes:
        os.kill(p, signal.SIGINT)  # a Ctrl-C, as the terminal sends it to each process of the run
    print(sorted(f.result() for f in futures) == sorted(pool._processes), flush=True)
"""


@pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="a worker watches its run through a pidfd (Linux 5.3+)")
def test_a_runs_workers_end_with_the_run_so_whoever_reads_its_output_is_not_left_waiting(tmp_path):
    # a worker the pool never told to stop (one being started as a Ctrl-C stopped the run) waited for a photo for
    # ever, holding the run's output open: the run had exited, and CI waited on its output until its timeout
    script = tmp_path / "run.py"  # the workers import the script's functions from its file
    script.write_text(RUN_WITH_WORKERS)
    proc = subprocess.Popen([sys.executable, str(script), "killed"], stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=30)
    finally:
        os.killpg(proc.pid, 9)  # what is left of the run's group, if the test failed
    assert proc.returncode == -9
    workers = [int(p) for p in out.split()]
    assert len(workers) == 2 and not any(_running(p) for p in workers)


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"  # ended, not yet reaped by its parent
    except FileNotFoundError:
        return False


def test_a_ctrl_c_leaves_each_worker_to_finish_its_photo_for_the_run_to_handle(tmp_path):
    # the run handles a Ctrl-C (it cancels the photos left); a worker's own KeyboardInterrupt printed
    # multiprocessing's traceback under the run's "interrupted" line
    script = tmp_path / "run.py"
    script.write_text(RUN_WITH_WORKERS)
    out = subprocess.run([sys.executable, str(script), "interrupted"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.split()[-1] == "True", out.stderr
    assert "Traceback" not in out.stderr and "KeyboardInterrupt" not in out.stderr


HELD = """
import os, signal, time
from keepers.core.workers import ctrl_c_held
try:
    with ctrl_c_held():
        os.kill(os.getpid(), signal.SIGINT)  # a Ctrl-C as the pool starts a worker
        time.sleep(0.2)
        print("the block ran to its end", flush=True)
    print("not stopped", flush=True)
except KeyboardInterrupt:
    print("stopped after the block", flush=True)
"""


def test_a_ctrl_c_while_a_run_starts_its_workers_stops_it_once_they_are_started_not_half_way():
    # interrupted half way, a worker was left running but unknown to its pool, whose end then waited on it for ever
    out = subprocess.run([sys.executable, "-c", HELD], capture_output=True, text=True, timeout=60)
    assert out.stdout.split("\n")[:2] == ["the block ran to its end", "stopped after the block"], out


def test_what_fails_for_a_held_ctrl_c_is_told_as_the_interruption_it_is():
    # a fork server stopped by the same Ctrl-C as it warmed up: the run's next worker start read "unexpected EOF",
    # and the cull ended with that traceback and exit status 1 instead of "interrupted"
    code = HELD.replace('print("the block ran to its end", flush=True)', 'raise EOFError("unexpected EOF")')
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "stopped after the block" and "EOFError" not in out.stderr, out
