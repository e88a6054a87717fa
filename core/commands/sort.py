"""`keepers sort PATH`: file a folder's photos into PATH/good and PATH/bad by their verdict.

Every file of a frame (RAW + JPEG) and each file's sidecar travel together and keep matching names. Nothing is
ever overwritten: a name already taken gets a numeric suffix, the same for all files of the frame. What was done
is journaled in PATH/.keepers-sort.json before each file is touched, so `--undo` can put moved files back (and
remove copies/links) even after an interrupted run.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from keepers.core.commands.cull import host_options
from keepers.core.errors import UserError
from keepers.core.hookspecs import hookimpl
from keepers.core.io.discover import SKIP_DIRS, is_video, kind_of
from keepers.core.io.naming import FolderNames, sidecar_for

if TYPE_CHECKING:
    from rich.console import Console

JOURNAL = ".keepers-sort.json"
OUTS = ("good", "bad")


def _sidecar(f: Path, names: FolderNames) -> Path | None:
    s = sidecar_for(f, names=names)
    return s if s.exists() else None


def _target_names(files: list[Path], dest: Path, taken: set[Path]) -> list[Path]:
    """Names in `dest` for all files of one frame, with one shared suffix so that none is taken, on disk or by
    another frame of this run (sidecar names included)."""
    n = 0
    while True:
        suffix = f"-{n}" if n else ""
        names = [dest / f"{f.stem}{suffix}{f.suffix}" for f in files]
        side = [dest / (t.name + ".xmp") for t in names] + [dest / (t.stem + ".xmp") for t in names]
        if not any(p in taken or os.path.lexists(p) for p in names + side):
            return names
        n += 1


def _transfer(src: Path, dst: Path, mode: str) -> None:
    if mode == "move":
        os.rename(src, dst) if src.stat().st_dev == dst.parent.stat().st_dev else shutil.move(src, dst)
    elif mode == "link":
        try:
            os.link(src, dst)
        except OSError:  # across file systems
            os.symlink(src.resolve(), dst)
    else:
        shutil.copy2(src, dst)


def plan(results, root: Path, filed: set[Path] = frozenset()) -> list[tuple[Path, Path]]:
    """(source, target) for every file, sidecars included, in the order they will be filed. `filed`: files an
    earlier sort filed already (its copies are still there), which stay as they are."""
    return [step for frame in plan_frames(results, root, filed) for step in frame]


def plan_frames(results, root: Path, filed: set[Path] = frozenset()) -> list[list[tuple[Path, Path]]]:
    """`plan`'s steps, one list per frame: its files and their sidecars, filed together or not at all."""
    frames: list[list[tuple[Path, Path]]] = []
    steps: list[tuple[Path, Path]] = []
    taken: set[Path] = set()
    sources: set[Path] = set()
    listing = FolderNames(root)  # listed once: nothing moves while the plan is made (a 5,000-photo folder)
    for r in results:
        if r.verdict is None or not all(Path(f).parent == root for f in r.photo.files):
            continue  # unjudged photos and sub-folders stay where they are
        if any(Path(f) in filed for f in r.photo.files):
            continue
        dest = root / r.verdict.verdict
        files = [Path(f) for f in r.photo.files]
        names = _target_names(files, dest, taken)
        first = len(steps)
        for f, t in zip(files, names):
            steps.append((f, t))
            sources.add(f)
            side = _sidecar(f, listing)
            if side is not None and side not in sources:  # a pair may share one sidecar
                # keep the sidecar's naming style: photo.jpg.xmp or photo.xmp
                full_style = side.name.lower() == f.name.lower() + ".xmp"
                steps.append((side, t.parent / (t.name + ".xmp" if full_style else t.stem + side.suffix)))
                sources.add(side)
        taken.update(dst for _, dst in steps[first:])
        frames.append(steps[first:])
    return frames


def command(args, settings) -> int:
    root = Path(args.path).resolve()
    if not root.is_dir():
        raise UserError(f"not a folder: {args.path}")
    from rich.console import Console  # here, not above: every `keepers` run imports this module for its parser

    out = Console(soft_wrap=True)  # a long path or reason stays on one line, for a reader's grep too
    if args.undo:
        return undo(root, out, dry_run=args.dry_run, catalog=settings.catalog)
    from keepers.core.commands.cull import run_cull

    # each problem is said once, in the list below, not also as a warning while the cull runs
    quiet = logging.getLogger("keepers.pipeline")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        results, _ = run_cull(_to_cull(root), settings, dry_run=args.dry_run, quiet=True)
    finally:
        quiet.setLevel(level)
    top = [r for r in results if Path(r.photo.path).parent == root]
    mode = args.mode or "copy"
    journal = root / JOURNAL
    earlier = json.loads(journal.read_text()) if journal.exists() else []
    # a sort again: what an earlier one filed stays (its copy is there), and the journal keeps both runs' steps,
    # so one undo puts everything back. Replaced, it left the first run's copies with nothing to undo them. A file
    # moved away is not there to be filed again: a photo by its name now is a new one (the next card's IMG_0001.JPG)
    filed = {Path(s["src"]) for s in earlier if s["mode"] != "move" and os.path.lexists(s["dst"])}
    frames = plan_frames(top, root, filed)
    steps = [step for frame in frames for step in frame]
    again = sum(1 for r in top if r.verdict and any(Path(f) in filed for f in r.photo.files))
    failed: list[tuple[Path, str]] = []
    if args.dry_run:
        for src, dst in steps:
            out.print(f"would {mode} {src.name} -> {dst.relative_to(root)}", highlight=False)
    else:
        done: list[dict] = list(earlier)
        for frame in frames:
            moved_here = 0
            for src, dst in frame:
                done.append({"src": str(src), "dst": str(dst), "mode": mode})
                _write_journal(journal, done)  # before the file moves, so an interruption can still be undone
                try:
                    dst.parent.mkdir(exist_ok=True)
                    _transfer(src, dst, mode)
                    moved_here += 1
                except OSError as e:
                    # the frame's files already filed go back: a photo in good/ without its sidecar showed a DAM
                    # no rating, and its sidecar stayed behind in PATH
                    back = _put_back(frame[:moved_here], mode)
                    del done[len(done) - 1 - moved_here + back:]
                    _write_journal(journal, done)
                    verb, reason = "not moved" if mode == "move" else "not filed", e.strerror or e
                    together = ("a photo's files stay together" if not back else
                                f"its files filed before could not be put back: keepers sort --undo {args.path}")
                    failed.append((src, f"{verb}: {reason}") if src == frame[0][0] else
                                  (frame[0][0], f"{verb}: {src.name}: {reason} ({together})"))
                    break
        if mode == "move" and os.path.exists(settings.catalog):
            from keepers.core.io.catalog import Catalog

            cat = Catalog(settings.catalog)  # the moved photos' rows follow them: search and a re-cull find them
            for s in done[len(earlier):]:
                cat.move(s["src"], s["dst"])
            cat.close()
        moved = {Path(s["src"]) for s in done[len(earlier):]}
        counts = {o: sum(1 for r in top if r.verdict and r.verdict.verdict == o and Path(r.photo.path) in moved)
                  for o in OUTS}
        hint = f"; undo with: keepers sort --undo {args.path}" if len(done) > len(earlier) else ""
        out.print(f"{mode}: {counts['good']} photos to good/, {counts['bad']} to bad/ ({len(done) - len(earlier)} "
                  f"files with sidecars){hint}", highlight=False)
    if again:
        out.print(f"{again} photos filed by an earlier sort stay as they are (keepers sort --undo {args.path} "
                  "puts them back, to file them again)", highlight=False)
    return _report(results, root, failed, out, args.dry_run)


def _to_cull(root: Path) -> list[str]:
    """What a sort culls: PATH without the good/ and bad/ an earlier sort filed into. Culled with them, each photo
    and its copy there were one group of duplicates, and the second sort rewrote both sidecars with it."""
    out = []
    for e in sorted(os.scandir(root), key=lambda e: e.name):
        if e.name.startswith(".") or e.name in SKIP_DIRS or (e.name in OUTS and e.is_dir()):
            continue
        if e.is_dir() or kind_of(e.name) != "unknown" or is_video(e.name):  # a named file is culled whatever it is
            out.append(e.path)
    return out


def _put_back(steps: list[tuple[Path, Path]], mode: str) -> int:
    """Undo `steps` (a frame's files filed before one of them failed), last first; returns how many could not be
    put back (they stay journaled, for `--undo`)."""
    left = len(steps)
    for src, dst in reversed(steps):
        try:
            if mode == "move":
                _transfer(dst, src, "move")
            else:
                dst.unlink()  # a copy or link: the original is still in place
        except OSError:
            break
        left -= 1
    return left


def _report(results, root: Path, failed: list[tuple[Path, str]], out: Console, dry_run: bool) -> int:
    """What the sort left where it was and why, and what it filed without an updated sidecar: one line each.
    Returns the exit status: 1 when anything is listed."""
    left = [(Path(r.photo.path), r.error) for r in results if r.error] + failed
    unwritten = [(Path(r.photo.path), r.write_error) for r in results if r.write_error and not r.error]
    elsewhere = sum(1 for r in results if not r.error and Path(r.photo.path).parent != root
                    and Path(r.photo.path).parent.name not in OUTS)
    if elsewhere:
        out.print(f"{elsewhere} photos in sub-folders stay where they are: sort files the photos directly in "
                  f"{root}", highlight=False)
    for title, items in ((f"left in place ({len(left)}):", left),
                         (f"filed, but {'its sidecar would not be' if dry_run else 'its sidecar was not'} updated "
                          f"({len(unwritten)}):", unwritten)):
        if items:
            out.print(title, highlight=False)
            for path, why in items:
                out.print(f"  {_name(path, root)}: {why}", highlight=False, markup=False)
    return 1 if left or unwritten else 0


def _name(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _write_journal(path: Path, steps: list[dict]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(steps, ensure_ascii=False, indent=0))
    os.replace(tmp, path)


def undo(root: Path, out: Console, dry_run: bool = False, catalog: str | os.PathLike | None = None) -> int:
    journal = root / JOURNAL
    if not journal.exists():
        raise UserError(f"nothing to undo in {root} (no {JOURNAL})")
    steps = json.loads(journal.read_text())
    problems = 0
    restored: list[tuple[str, str]] = []  # (where it was, where it is again)
    removed: list[str] = []
    for s in reversed(steps):
        src, dst = Path(s["src"]), Path(s["dst"])
        if not os.path.lexists(dst):
            continue  # never reached, or already undone
        if s["mode"] == "move":
            if os.path.lexists(src):
                out.print(f"[red]not restored[/red] {dst}: {src} exists again", highlight=False)
                problems += 1
                continue
            if not dry_run:
                shutil.move(dst, src)
                restored.append((s["dst"], s["src"]))
        elif not dry_run:
            dst.unlink()  # a copy or link: the original is still in place
            removed.append(s["dst"])
    if (restored or removed) and catalog is not None and os.path.exists(catalog):
        from keepers.core.io.catalog import Catalog

        cat = Catalog(catalog)  # the rows follow the photos back; a removed copy's row goes with it
        for old, new in restored:
            cat.move(old, new)
        for path in removed:
            cat.forget(path)
        cat.close()
    if not dry_run and not problems:
        journal.unlink()
        for o in OUTS:
            d = root / o
            if d.is_dir() and not any(d.iterdir()):
                d.rmdir()
    out.print(f"undone: {len(steps)} files" + (f", {problems} left in place" if problems else ""))
    return 1 if problems else 0


@hookimpl
def keepers_commands(subparsers, common):
    so = subparsers.add_parser("sort", help="file a folder's photos into good/ and bad/ sub-folders")
    so.add_argument("path")
    mode = so.add_mutually_exclusive_group()
    mode.add_argument("--copy", dest="mode", action="store_const", const="copy", help="copy (default)")
    mode.add_argument("--move", dest="mode", action="store_const", const="move", help="move")
    mode.add_argument("--link", dest="mode", action="store_const", const="link",
                      help="hard-link (symlink across disks)")
    so.add_argument("--undo", action="store_true", help="put back what the sorts of PATH filed")
    so.add_argument("--dry-run", action="store_true", help="say what would be filed where, touch nothing")
    host_options(so)  # it culls PATH first: its sidecars as the photos' host reads them
    common(so)
    so.set_defaults(func=command)
