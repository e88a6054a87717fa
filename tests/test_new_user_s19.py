"""What a new photographer tripped on in session 19, each through the real command or the real exiftool."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from helpers import isolated_env


def test_exiftool_outlives_a_ctrl_c_sent_to_the_terminal_s_process_group(tmp_path):
    # Ctrl-C signals the whole foreground process group. exiftool killed by it in the middle of a command left
    # pyexiftool reading its closed pipe for ever: `timeout -s INT 2 keepers cull` spun at 100 % CPU, never
    # ending (1 run of 12). Keepers stops its exiftool itself, so the Ctrl-C is only Keepers' to handle
    script = textwrap.dedent("""
        import os, signal, sys, time
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # this process is the one that handles Ctrl-C, not exiftool
        from keepers.core.io import exiftool as et_proc
        et = et_proc.get()
        os.killpg(os.getpgrp(), signal.SIGINT)
        time.sleep(1.0)
        print("running" if et.running else "killed")
        print(et.execute("-ver").strip())
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          start_new_session=True, env=isolated_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    state, version = proc.stdout.split()
    assert state == "running" and float(version) > 10
