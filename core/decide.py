"""Moved: the judging step is keepers.core.judge (this name stays until the daemon's engine uses the pipeline)."""

from keepers.core.judge import judge as decide  # noqa: F401
