"""A cull run: the photos under the paths judged and written through the pipeline (its progress on stderr), and
each photo's result as its `--json` record and error code, the pipeline's own warning for a photo kept out of the
log (the summary or the record reports it). `keepers cull`, `show`, `sort` and `review` run it."""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING

from keepers.core.errors import UserError

if TYPE_CHECKING:
    from rich.console import Console

    from keepers.core.io.catalog import Catalog
    from keepers.core.pipeline import Result

STAGES = {"analyze": "Analysing", "write": "Writing sidecars"}


@cache
def _stderr() -> Console:
    from rich.console import Console

    return Console(stderr=True)


def _catalog(settings) -> Catalog:
    from keepers.core.io.catalog import Catalog

    try:
        return Catalog(settings.catalog)
    except Exception as e:
        raise UserError(f"cannot open the catalog {settings.catalog}: {e}") from e


def error_of(r: Result, *, writing: bool = True) -> tuple[str, str] | None:
    """(code, message) of a photo's error, or None. `writing=False`: a sidecar that could not be written is no
    error (nothing was asked to be written)."""
    if r.error:
        if r.error.startswith("not judged"):
            code = "not_judged"  # read, but nothing in it could be judged (too small)
        else:
            code = "read_error" if os.path.lexists(r.photo.path) else "not_found"
        return code, r.error
    if r.write_error and writing:
        return "write_error", r.write_error  # judged: the verdict stands, the sidecar holds what it held
    return None


def record(r: Result, *, writing: bool = True) -> dict:
    """One photo's `--json` record (README: the `--json` contract), as the API's predict and jobs also give it:
    `error` the message (a string, as scripts have always read it), `error_code` a code to switch on."""
    err = error_of(r, writing=writing)
    return {**r.record(), "error": err[1] if err else None, "error_code": err[0] if err else None}


class _OncePerFile(logging.Filter):
    """Each photo's problem is reported once, by the summary or in its --json record: the pipeline's own warning
    for it (a sidecar it could not write) would be the second copy."""

    def filter(self, rec: logging.LogRecord) -> bool:
        return rec.levelno != logging.WARNING


@contextmanager
def _reported_by_us(verbose: bool):
    log = logging.getLogger("keepers.pipeline")
    f = _OncePerFile()
    if not verbose:  # -v shows everything, as it happens
        log.addFilter(f)
    try:
        yield
    finally:
        log.removeFilter(f)


def run_cull(paths, settings, *, dry_run=False, quiet=False) -> tuple[list[Result], dict]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from keepers.core.io import exiftool
    from keepers.core.pipeline import Cull
    from keepers.core.taste.term import require

    err = _stderr()
    require(settings)  # a taste profile named but gone: one line, before any work (not an error per photo)
    if not exiftool.available():
        raise UserError(exiftool.INSTALL_HINT)
    missing = [p for p in paths if not os.path.lexists(p)]
    if missing and len(missing) == len(paths):
        raise UserError(f"no such file or folder: {', '.join(map(str, missing))}")
    catalog = _catalog(settings)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=err, transient=True, disable=quiet or not err.is_terminal) as bar:
        tasks: dict[str, int] = {}

        def progress(stage, done, total):
            if stage not in tasks:
                tasks[stage] = bar.add_task(STAGES.get(stage, stage), total=total)
            bar.update(tasks[stage], completed=done, total=total)

        cull = Cull(settings, catalog, dry_run=dry_run, progress=progress)
        results = cull.run([os.path.abspath(p) for p in paths])
    catalog.close()
    if cull.skipped:  # on stderr: stdout may be --json
        names = ", ".join(os.path.basename(p) for p, _ in cull.skipped[:5]) + (", ..." if len(cull.skipped) > 5 else "")
        err.print(f"skipped {len(cull.skipped)} video(s) ({names}): {cull.skipped[0][1]}", highlight=False,
                  soft_wrap=True)
    return results, cull.stats
