"""`keepers demo [FOLDER]`: build a folder of sample photos and cull it (keepers.core.lab.demo makes the photos)."""

from __future__ import annotations

import re
from pathlib import Path

from keepers.core.errors import UserError
from keepers.core.hookspecs import hookimpl


def demo(args, settings) -> int:
    from keepers.core.lab import demo as lab_demo  # numpy, PIL and scikit-image: only when a demo is asked for

    foreign = _not_the_demo_s(Path(args.folder), lab_demo)
    if foreign:  # the demo builds its folder anew: it removed FOLDER whole, whatever it held (`keepers demo ~/Pictures`)
        shown = ", ".join(str(p.relative_to(args.folder)) for p in foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        raise UserError(f"{args.folder} holds files that are not a demo's ({shown}): the demo replaces its folder, so "
                        "name a new one, e.g. keepers demo demo-photos")
    return lab_demo.command(args, settings)


def _not_the_demo_s(folder: Path, lab_demo) -> list[Path]:
    """What in `folder` an earlier demo did not make: its photos, their sidecars, and a `keepers sort` of them
    (good/, bad/, the journal, a name's -1 suffix)."""
    if not folder.is_dir():
        return [folder] if folder.exists() else []
    stems = set(lab_demo.ORIGINALS) | set(lab_demo.VARIANTS) | {f"burst_{i}" for i in range(1, 5)}
    out = []
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder)
        if p.is_dir() and not p.is_symlink():
            if len(rel.parts) == 1 and p.name in ("good", "bad"):
                continue
        elif p.name == ".keepers-sort.json" or (re.sub(r"-\d+$", "", p.name.split(".")[0]) in stems
                                                and (p.suffix.lower() != ".jpg" or _by_the_demo(p))):
            continue
        out.append(p)
    return out


def _by_the_demo(photo: Path) -> bool:
    """A photo the demo made (its camera is "Demo Camera"), not the photographer's coffee.jpg."""
    from PIL import Image

    try:
        with Image.open(photo) as im:
            return im.getexif().get(0x0110) == "Demo Camera"  # Model
    except (OSError, ValueError):
        return False


@hookimpl
def keepers_commands(subparsers, common):
    d = subparsers.add_parser("demo", help="build a demo folder from bundled sample photos and cull it")
    d.add_argument("folder", nargs="?", default="demo-photos", type=Path)
    d.add_argument("--json", action="store_true")
    common(d)
    d.set_defaults(func=demo)
