"""Typed errors: what went wrong, to which file, and why, so a batch can report one line per file and go on."""

from __future__ import annotations

import os


class KeepersError(Exception):
    """Base of every error Keepers raises on purpose."""


class UserError(KeepersError):
    """A problem the user must fix (bad arguments, missing tool); the CLI prints it without a traceback."""


class FileOperationError(KeepersError):
    """An operation on one file failed; carries the path and the underlying reason."""

    verb = "process"

    def __init__(self, path: str | os.PathLike, reason: Exception | str):
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(self.path, reason)

    def __str__(self) -> str:
        return f"cannot {self.verb} {self.path}: {self.reason}"

    @property
    def message(self) -> str:
        """The reason alone, for a per-photo `error` field that already names the file."""
        return str(self.reason)


class ReadError(FileOperationError):
    """A photo (or its metadata) could not be read or decoded."""

    verb = "read"


class WriteError(FileOperationError):
    """A sidecar, catalog row or sorted copy could not be written."""

    verb = "write"


class ModelError(KeepersError):
    """A bundled model is missing, corrupted or cannot run."""
