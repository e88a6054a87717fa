"""Imported by a run's fork server only (keepers.core.workers.pool_context): the workers' common warm-up, done
once before they fork from it."""

from keepers.core.workers import warm_up

try:
    warm_up()
except KeyboardInterrupt:
    # Ctrl-C signals the terminal's whole process group, this server included: one during the warm-up (its first
    # 0.5 s) printed the server's traceback under the run's own "interrupted" line. The run reports it; the server
    # ends quietly, as it ended before (not ignoring it: workers forked after the run had gone waited for ever)
    raise SystemExit(130) from None
