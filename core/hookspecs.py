"""Every hook Keepers calls, as documented empty functions. Built-in features implement them the same way a
third-party plugin does (registered in keepers.core.pm), so one path serves both."""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("keepers")
hookimpl = pluggy.HookimplMarker("keepers")


@hookspec
def keepers_analyzers(settings):
    """Return a list of Analyzer objects (keepers.core.analyzers.Analyzer) to run on every photo."""


@hookspec
def keepers_host_adapters(settings):
    """Return a list of HostAdapter objects that decide sidecar naming and which XMP properties to write."""


@hookspec
def keepers_photo_decided(photo, verdict, findings):
    """Called after a photo's verdict is decided, before it is written back; may add keywords to the verdict."""


@hookspec
def keepers_commands(subparsers, common):
    """Add sub-commands to the `keepers` parser; set `func(args, settings) -> int` on each.

    `subparsers` is the argparse sub-parsers action: `p = subparsers.add_parser("name", help=...)`. `common(p)`
    adds the options every command takes (--catalog, --config, --workers, -v); `settings` is the Settings they
    select. `p.set_defaults(func=...)`: its return value is the exit code, and a `keepers.core.errors.UserError`
    it raises is printed as `keepers: <message>` with exit code 2. `keepers --help` lists the commands in the
    order their plugins were registered: the built-ins first. Keep the module's top-level imports light (import
    what the command needs inside `func`): every `keepers` run, `--help` included, imports each plugin."""
