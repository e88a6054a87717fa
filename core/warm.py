"""Imported by a run's fork server only (keepers.core.workers.pool_context): the workers' common warm-up, done
once before they fork from it."""

from keepers.core.workers import warm_up

warm_up()
