"""The files a write touches, apart from what is in them: check_writable (refuse what the photographer made read-only,
before anything is written), replace (a sidecar's new bytes into a temp file beside it, fsynced and renamed over it:
the old sidecar or the new, never half of one), install (the same for a photo exiftool rewrote, the original kept
where asked), temp_name and unlink, and remove_stale_temps (the temp files of a Keepers process killed between write
and rename). WINDOWS picks the paths that differ there (a file another program holds open, a folder's read-only
attribute, no process probed): a module constant, so the tests run them on Linux.
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from pathlib import Path

from keepers.core.errors import WriteError
from keepers.core.io.naming import TMP, FolderNames

WINDOWS = os.name == "nt"  # a module constant, so the tests run the Windows paths on Linux
_REPLACE_TRIES = 8  # Windows: a sidecar another program holds open cannot be replaced; wait up to ~2.5 s for it


def check_writable(sidecar: Path, exists: bool, what: str = "sidecar") -> None:
    """Refuse, before anything is written, what the photographer made read-only: also as root, who could.
    `what`: the file's role in the messages (a sidecar, or a photo --embed writes)."""
    folder = sidecar.parent
    if not folder.is_dir():
        raise WriteError(sidecar, f"folder {folder} does not exist")
    if exists:
        st = sidecar.stat()
        if not sidecar.is_file():
            raise WriteError(sidecar, f"the {what} path is not a regular file")
        if not st.st_mode & 0o222 or not os.access(sidecar, os.W_OK):
            raise WriteError(sidecar, f"the {what} is read-only; Keepers leaves it as it is")
    # Windows: a folder's read-only attribute (its st_mode without write bits) does not stop files being written in
    # it, and Explorer sets it on customised folders such as Pictures; the write itself reports a refusal
    if not WINDOWS and (not folder.stat().st_mode & 0o222 or not os.access(folder, os.W_OK | os.X_OK)):
        raise WriteError(sidecar, f"folder {folder} is read-only (a {what} is replaced through a temp file there)")


def temp_name(path: Path) -> Path:
    """A temp file beside `path`: .<name>.keepers-<pid>-<random>.tmp (keepers.core.io.naming.TMP)."""
    return path.with_name(f".{path.name}{TMP}{os.getpid()}-{secrets.token_hex(4)}.tmp")


def _keep_mode(fd: int, tmp: Path, st) -> None:
    """The replaced file's permissions and, where allowed, owner, onto the temp file (open as `fd`). Windows has no
    fchmod, fchown nor getuid: chmod by name (only the read-only attribute means anything there), no owner."""
    if hasattr(os, "fchmod"):
        os.fchmod(fd, st.st_mode & 0o7777)
    else:
        os.chmod(tmp, st.st_mode & 0o7777)
    if hasattr(os, "fchown") and hasattr(os, "getuid") and (st.st_uid, st.st_gid) != (os.getuid(), os.getgid()):
        try:
            os.fchown(fd, st.st_uid, st.st_gid)
        except OSError:
            pass


def _rename_over(tmp: Path, target: Path) -> None:
    """os.replace, atomic on POSIX and on Windows (MoveFileEx). On Windows it fails while another program (a DAM
    reading the sidecar, an antivirus scanning a new file) holds the target open: tried again for a few seconds."""
    for i in range(_REPLACE_TRIES):
        try:
            os.replace(tmp, target)
            return
        except PermissionError:
            if not WINDOWS or i == _REPLACE_TRIES - 1:
                raise
            time.sleep(0.02 * 2 ** i)


def unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def replace(sidecar: Path, data: bytes) -> None:
    """Write `data` to a temp file beside the sidecar, fsync it and rename it over the sidecar (atomic)."""
    st = sidecar.stat() if sidecar.exists() else None
    tmp = temp_name(sidecar)
    try:
        # O_BINARY: on Windows os.open is in text mode otherwise, and every \n would be written as \r\n
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
        fd = os.open(tmp, flags, 0o666 if st is None else st.st_mode & 0o7777)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            if st is not None:  # keep the sidecar's permissions and, where allowed, its owner
                _keep_mode(fd, tmp, st)
            os.fsync(fd)
        finally:
            os.close(fd)
        _rename_over(tmp, sidecar)
    except OSError as e:
        unlink(tmp)
        raise WriteError(sidecar, e.strerror or str(e)) from e
    except BaseException:  # interrupted: leave no temp file behind
        unlink(tmp)
        raise


STALE_AFTER_S = 3600  # Windows: a temp file this old is a killed run's (no process may be probed there, below)


def _pid_alive(pid: int) -> bool:
    """Whether process `pid` runs. POSIX: signal 0 probes it. On Windows os.kill(pid, 0) would *terminate* that
    process (TerminateProcess with exit code 0), so it is never called there: see remove_stale_temps."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it runs, as another user
        return True
    return True


def remove_stale_temps(sidecar: Path, names: FolderNames | None = None) -> None:
    """Temp files of a Keepers process that was killed between write and rename. `names`: the folder's, if kept.
    POSIX: those whose process is gone. Windows: those older than STALE_AFTER_S (a process id is not probed)."""
    names = names if names is not None else FolderNames(sidecar.parent)
    prefix = f".{sidecar.name}{TMP}"
    for n in list(names.temps.get(sidecar.name, ())):
        path = sidecar.parent / n
        try:
            pid = int(n[len(prefix):].split("-")[0])
            if WINDOWS:
                stale = time.time() - path.stat().st_mtime > STALE_AFTER_S
            else:
                stale = pid != os.getpid() and not _pid_alive(pid)
        except (ValueError, OSError):
            continue
        if stale:
            try:
                os.unlink(path)
                names.discard(n)
            except OSError:
                pass


def install(tmp: Path, target: Path, keep_original: bool) -> None:
    """exiftool's rewrite of a photo (`tmp`, beside it) put in its place: the photo's mode kept, the bytes on disk
    before the rename (a crash leaves the old photo or the new, never half of one), the original kept as
    `<name>_original` where asked. The caller removes `tmp` if this raises."""
    st = target.stat()
    fd = os.open(tmp, os.O_RDWR | getattr(os, "O_BINARY", 0))
    try:
        _keep_mode(fd, tmp, st)
        os.fsync(fd)
    finally:
        os.close(fd)
    if keep_original:
        _keep_original(target)
    _rename_over(tmp, target)


def rewrite(target: Path, write_copy, keep_original: bool, photo: Path | None = None) -> None:
    """The photo `target` replaced by exiftool's rewrite of it: `write_copy(tmp)` makes the new file at a temp name
    beside it (`exiftool -o tmp ... target`), which `install` then puts in its place. On any failure the temp file
    goes, and an OSError is the photo's WriteError (`photo`: the name to report, where not `target`)."""
    tmp = temp_name(target)
    try:
        write_copy(tmp)
        install(tmp, target, keep_original)
    except OSError as e:
        unlink(tmp)
        raise WriteError(photo or target, e.strerror or str(e)) from e
    except BaseException:
        unlink(tmp)
        raise


def _keep_original(photo: Path) -> None:
    """`photo` as it is now, as `<name>_original` beside it (exiftool's convention), unless one is there: a hard
    link where the file system has them (no copy of a large file), else a copy."""
    orig = photo.with_name(photo.name + "_original")
    if os.path.lexists(orig):
        return
    try:
        os.link(photo, orig)
    except OSError:
        shutil.copy2(photo, orig)
