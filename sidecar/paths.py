"""Which files an application may read: only those whose real path (symlinks resolved) lies under its roots."""

from __future__ import annotations

import os


class PathRefused(Exception):
    """A path the application may not read; the message says why without revealing what lies outside."""


def real_roots(roots: list[str]) -> list[str]:
    return [os.path.realpath(r) for r in roots]


def inside(real: str, roots: list[str]) -> bool:
    """`real` (already resolved) is one of `roots` (resolved) or below one."""
    return any(real == r or real.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


def resolve(path: str, roots: list[str]) -> str:
    """The real path of `path` if the application may read it; raises PathRefused otherwise."""
    if not isinstance(path, str) or not path:
        raise PathRefused("a path must be a non-empty string")
    if "\x00" in path:
        raise PathRefused("a path may not contain NUL")
    if not os.path.isabs(path):
        raise PathRefused(f"a path must be absolute: {path!r}")
    if ".." in path.replace("\\", "/").split("/"):
        raise PathRefused(f"'..' is not allowed in a path: {path!r}")
    real = os.path.realpath(path)
    if not inside(real, real_roots(roots)):
        # a symlink inside a root that points elsewhere lands here too
        raise PathRefused(f"{path!r} is outside this application's library roots")
    return real


def unreadable(path: str) -> tuple[str, str] | None:
    """(error code, message) when `path` (allowed already) cannot be a file to read, found before anything is
    analysed or billed; None when it can be read."""
    try:
        os.stat(path)
    except FileNotFoundError:
        return "not_found", "no such file"
    except OSError as e:
        return "read_error", f"cannot read the file: {e.strerror or e}"
    if not os.path.isfile(path):
        return "not_a_file", "not a regular file (a folder? use /v1/jobs)"
    return None
