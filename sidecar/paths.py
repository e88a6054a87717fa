"""Which files an application may read: only those whose real path (symlinks resolved) lies under its roots; and
the caller's own form of every path the daemon answers with (`Echo`).

Paths are compared the way the file system compares them: without case on Windows (`normcase`), with either
separator there. Every function takes the path module (`os.path` by default) so the Windows rules are unit-tested
with `ntpath` on any machine. macOS's file systems ignore case too (and Unicode normalisation), but its `normcase`
and `realpath` keep the case a path was typed in: a path whose folders differ from a root only so is asked of the
file system itself (`same_folder`), so "/users/ann/pictures/a.jpg" is inside the root "/Users/ann/Pictures" there,
and never on Linux, where those are two folders."""

from __future__ import annotations

import os
import unicodedata
from functools import lru_cache


class PathRefused(Exception):
    """A path the application may not read; the message says why without revealing what lies outside."""


def real_roots(roots: list[str]) -> list[str]:
    return [os.path.realpath(r) for r in roots]


def same_folder(a: str, b: str) -> bool:
    """The file system's own answer to whether two existing names are one folder (the probe the unit tests
    replace to play a case-insensitive file system on Linux)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


@lru_cache(maxsize=1024)
def _same(a: str, b: str) -> bool:
    # a folder walk asks this for each file found under one folder: the file system is asked once
    return same_folder(a, b)


def _fold(p: str) -> str:
    return unicodedata.normalize("NFC", p).casefold()


def inside(real: str, roots: list[str], mod=os.path) -> bool:
    """`real` (already resolved) is one of `roots` (resolved) or below one."""
    path = mod.normcase(real)
    for root in roots:
        r = mod.normcase(root).rstrip(mod.sep)  # "/" and "C:\\" end in a separator; "" and "C:" then add it back
        if path == r or path.startswith(r + mod.sep) or path == r + mod.sep:
            return True
    return mod is os.path and _inside_ignoring_case(real, roots)


def _inside_ignoring_case(real: str, roots: list[str]) -> bool:
    """Where the names differ only in case or Unicode form, whether the file system holds `real` in one of
    `roots` (it does on a case-insensitive file system: macOS, Windows)."""
    folded = {_fold(r.rstrip(os.sep) or os.sep): r for r in roots}
    head = real
    while True:
        root = folded.get(_fold(head))
        if root is not None and _same(head, root):
            return True
        up = os.path.dirname(head)
        if up == head:
            return False
        head = up


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


def _heads(given: str, real: str, mod) -> list[tuple[str, str]]:
    """(real folder, given folder) pairs naming the same place, deepest first: the two paths' folders, then each
    pair left after a trailing component the two have in common. "/lib/link/2024/a.jpg" sent, read as
    "/srv/photos/2024/a.jpg": ("/srv/photos/2024", "/lib/link/2024"), ("/srv/photos", "/lib/link")."""
    g, r = mod.dirname(given), mod.dirname(real)
    out = []
    while g and r and mod.normcase(g) != mod.normcase(r):
        out.append((r, g))
        (gh, gt), (rh, rt) = mod.split(g), mod.split(r)
        if not gt or not rt or mod.normcase(gt) != mod.normcase(rt) or gh == g or rh == r:
            break
        g, r = gh, rh
    return out


class Echo:
    """The daemon reads files by their real path (symlinks resolved, a mapped drive as its network path), but a
    caller looks its photos up by the path it sent: Lightroom's `findPhotoByPath`, darktable's film rolls. Every
    path an answer carries goes back through here: a path the caller sent comes back exactly as sent; another (a
    RAW's JPEG companion, a sidecar, a file found in a folder the caller sent, a search hit) in the caller's form
    of the folder it lies in, where that form leads to the same file; else as it is.

    `realpath` is how a candidate is checked (injected by the unit tests of the Windows rules)."""

    def __init__(self, mod=os.path, realpath=None):
        self.mod = mod
        self.realpath = realpath or os.path.realpath
        self.sent: dict[str, list[str]] = {}  # normcase(real) -> the forms it was sent as, first first
        self.folders: dict[str, tuple[str, str]] = {}  # normcase(real folder) -> (real folder, given folder)

    def add(self, given: str, real: str) -> None:
        forms = self.sent.setdefault(self.mod.normcase(real), [])
        if given not in forms:
            forms.append(given)
        if self.mod.normcase(given) == self.mod.normcase(real):
            return
        # a folder sent: the files found in it follow it (for a file, nothing lies below it to look this up)
        self.folders.setdefault(self.mod.normcase(real), (real, given))
        for r, g in _heads(given, real, self.mod):
            self.folders.setdefault(self.mod.normcase(r), (r, g))

    def forms(self, real: str) -> list[str]:
        """Every form `real` was sent as (several when two sent paths lead to one file), or its one echoed form."""
        return self.sent.get(self.mod.normcase(real)) or [self(real)]

    def __call__(self, real: str) -> str:
        sent = self.sent.get(self.mod.normcase(real))
        if sent:
            return sent[0]
        want = self.mod.normcase(real)
        folder = real
        while True:  # the deepest folder of `real` whose sent form leads back to it
            pair = self.folders.get(self.mod.normcase(folder))
            if pair is not None:
                rest = real[len(folder):].lstrip("\\/" if self.mod.sep == "\\" else "/")
                candidate = self.mod.join(pair[1], rest) if rest else pair[1]
                if self.mod.normcase(self.realpath(candidate)) == want:
                    return candidate
            head = self.mod.dirname(folder)
            if not head or head == folder:
                return real
            folder = head

    def record(self, rec: dict) -> dict:
        """A result with its paths in the caller's form (`input` is the caller's already)."""
        rec["path"] = self(rec["path"])
        for key in ("files", "sidecars", "embedded", "via_plugin"):  # every list of paths a record may hold
            if isinstance(rec.get(key), list):
                rec[key] = [self(p) for p in rec[key]]
        return rec
