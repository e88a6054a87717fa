"""The daemon's settings are `Settings.daemon` (keepers.core.settings: the `[daemon]` table, then
`KEEPERS_DAEMON_<NAME>` variables); this name stays for code that builds a DaemonSettings itself."""

from keepers.core.settings import DaemonSettings

__all__ = ["DaemonSettings"]
