"""The test run itself: a process that will not end after its report is ended, with a reason, instead of holding
CI until its time runs out (tests/conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

STUCK = '''
import threading

def test_leaves_a_thread_nobody_will_stop():
    def wait_for_ever():
        threading.Event().wait()
    threading.Thread(target=wait_for_ever, name="stuck-worker").start()  # not a daemon: exit waits for it
'''


def run_pytest(tmp_path: Path, body: str) -> tuple[subprocess.CompletedProcess, float]:
    (tmp_path / "test_inner.py").write_text(body)
    env = {**os.environ, "KEEPERS_TEST_EXIT_GRACE": "2", "PYTHONPATH": str(HERE)}
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "conftest", "-p", "no:cacheprovider",
                           str(tmp_path / "test_inner.py")], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    return proc, time.monotonic() - start


def test_a_run_whose_process_hangs_after_its_report_ends_with_its_status_and_the_stuck_threads_stack(tmp_path):
    proc, took = run_pytest(tmp_path, STUCK)
    assert "1 passed" in proc.stdout, proc.stdout
    assert proc.returncode == 0, proc.stderr
    assert "did not end within 2 s of its report" in proc.stderr, proc.stderr
    assert "wait_for_ever" in proc.stderr  # the stuck thread's stack names what it waits in
    assert took < 60


def test_a_failed_run_that_hangs_still_fails(tmp_path):
    proc, _ = run_pytest(tmp_path, STUCK + "\n\ndef test_fails():\n    assert 1 == 2\n")
    assert "1 failed, 1 passed" in proc.stdout, proc.stdout
    assert proc.returncode == 1 and "did not end within" in proc.stderr
