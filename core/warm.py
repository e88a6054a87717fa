"""Imported by a run's fork server only (keepers.core.workers.pool_context): the workers' common warm-up, done
once before they fork from it."""

import signal

from keepers.core.workers import warm_up

try:
    warm_up()
except KeyboardInterrupt:
    # Ctrl-C signals the terminal's whole process group, this server included: one during the warm-up (its first
    # 0.5 s) printed the server's traceback under the run's own "interrupted" line. The run reports it; the server
    # ends quietly, as it ended before (not ignoring it: workers forked after the run had gone waited for ever)
    raise SystemExit(130) from None

# the workers this server forks start with its handlers as they are now: a Ctrl-C from the very first instruction
# is the run's (keepers.core.workers.leave_ctrl_c_to_the_run, which their set-up calls, comes a few steps later)
signal.signal(signal.SIGINT, signal.SIG_IGN)
