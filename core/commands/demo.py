"""`keepers demo [FOLDER]`: build a folder of sample photos and cull it (keepers.core.lab.demo makes the photos)."""

from __future__ import annotations

from pathlib import Path

from keepers.core.hookspecs import hookimpl


def demo(args, settings) -> int:
    from keepers.core.lab import demo as lab_demo  # numpy, PIL and scikit-image: only when a demo is asked for

    return lab_demo.command(args, settings)


@hookimpl
def keepers_commands(subparsers, common):
    d = subparsers.add_parser("demo", help="build a demo folder from bundled sample photos and cull it")
    d.add_argument("folder", nargs="?", default="demo-photos", type=Path)
    d.add_argument("--json", action="store_true")
    common(d)
    d.set_defaults(func=demo)
