"""Keys and the daemon itself (sidecar/api_admin.py, api.py): a key made, listed and revoked, the caller's own key,
the health check, the watched folders (what is queued, which files failed and why)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from keepers.sidecar.schemas_base import Scope, Strict


class KeyCreate(Strict):
    scopes: list[Scope] = Field(min_length=1, max_length=7)
    note: str = Field("", max_length=200)


class Key(BaseModel):
    id: int
    prefix: str
    scopes: list[str]
    note: str
    created_at: str
    revoked_at: str | None
    last_used_at: str | None
    requests: int
    operations: int


class KeyList(BaseModel):
    keys: list[Key]


class KeyCreated(Key):
    key: str = Field(description="the secret: shown this once, stored only as a hash")


class Me(BaseModel):
    application: str
    key: Key


class Health(BaseModel):
    status: Literal["ok"]
    version: str
    models: list[dict[str, Any]]
    providers: list[str]
    queue: dict[str, int]
    taste: dict[str, Any] | None = Field(None, description="the `taste` setting's profile, whether it is in use, "
                                         "and why not (a deleted profile: judged without taste)")


class WatchFailure(BaseModel):
    path: str = Field(description="the file, as the daemon found it in a watched folder")
    error: str = Field(description="why it was not analysed: 'not a recognised image format ...', 'file is empty "
                       "(0 bytes)', 'file is truncated ...'")
    failed_at: str | None = Field(description="when (UTC, ISO 8601)")
    size: int = Field(description="its size in bytes when it was read")


class WatchStatus(BaseModel):
    folders: list[str] = Field(description="the watched folders whose files this key's roots hold (those of a "
                               "folder only partly under the roots: the part under them)")
    queued: int = Field(description="files waiting to be analysed")
    running: int = Field(description="files being analysed now")
    done: int = Field(description="files analysed, their sidecars written")
    failed: list[WatchFailure] = Field(description="files not analysed and why, newest first; a file changed "
                                       "since (a new version analysed or queued) or gone is not listed")
    failed_total: int = Field(description="how many files `failed` would list without its limit")
