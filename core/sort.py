"""`keepers sort PATH`: file a folder's photos into PATH/good and PATH/bad by their verdict.

Every file of a frame (RAW + JPEG) and each file's sidecar travel together and keep matching names. Nothing is
ever overwritten: a name already taken gets a numeric suffix, the same for all files of the frame. What was done
is journaled in PATH/.keepers-sort.json before each file is touched, so `--undo` can put moved files back (and
remove copies/links) even after an interrupted run.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from rich.console import Console

from keepers.core.errors import UserError
from keepers.core.naming import FolderNames, sidecar_for

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


def plan(results, root: Path) -> list[tuple[Path, Path]]:
    """(source, target) for every file, sidecars included, in the order they will be filed."""
    steps: list[tuple[Path, Path]] = []
    taken: set[Path] = set()
    sources: set[Path] = set()
    listing = FolderNames(root)  # listed once: nothing moves while the plan is made (a 5,000-photo folder)
    for r in results:
        if r.verdict is None or not all(Path(f).parent == root for f in r.photo.files):
            continue  # unjudged photos and sub-folders stay where they are
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
    return steps


def command(args, settings) -> int:
    root = Path(args.path).resolve()
    if not root.is_dir():
        raise UserError(f"not a folder: {args.path}")
    out = Console()
    if args.undo:
        return undo(root, out, dry_run=args.dry_run)
    from keepers.core.commands import run_cull

    results, stats = run_cull([str(root)], settings, dry_run=args.dry_run, quiet=True)
    # only the photos directly in PATH: good/ and bad/ from an earlier sort are not filed again
    top = [r for r in results if Path(r.photo.path).parent == root]
    mode = args.mode or "copy"
    steps = plan(top, root)
    if args.dry_run:
        for src, dst in steps:
            out.print(f"would {mode} {src.name} -> {dst.relative_to(root)}", highlight=False)
        return 0
    journal = root / JOURNAL
    done: list[dict] = []
    for src, dst in steps:
        dst.parent.mkdir(exist_ok=True)
        done.append({"src": str(src), "dst": str(dst), "mode": mode})
        _write_journal(journal, done)  # before the file moves, so an interruption can still be undone
        _transfer(src, dst, mode)
    if mode == "move":
        from keepers.core.catalog import Catalog

        cat = Catalog(settings.catalog)
        for s in done:
            cat.move(s["src"], s["dst"])
        cat.close()
    counts = {o: sum(1 for r in top if r.verdict and r.verdict.verdict == o) for o in OUTS}
    out.print(f"{mode}: {counts['good']} photos to good/, {counts['bad']} to bad/ ({len(steps)} files with sidecars); "
              f"undo with: keepers sort --undo {args.path}", highlight=False)
    return 1 if stats["errors"] else 0


def _write_journal(path: Path, steps: list[dict]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(steps, ensure_ascii=False, indent=0))
    os.replace(tmp, path)


def undo(root: Path, out: Console, dry_run: bool = False) -> int:
    journal = root / JOURNAL
    if not journal.exists():
        raise UserError(f"nothing to undo in {root} (no {JOURNAL})")
    steps = json.loads(journal.read_text())
    problems = 0
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
        elif not dry_run:
            dst.unlink()  # a copy or link: the original is still in place
    if not dry_run and not problems:
        journal.unlink()
        for o in OUTS:
            d = root / o
            if d.is_dir() and not any(d.iterdir()):
                d.rmdir()
    out.print(f"undone: {len(steps)} files" + (f", {problems} left in place" if problems else ""))
    return 1 if problems else 0
