"""Keys and the daemon itself (sidecar/api_admin.py, api.py): a key made, listed and revoked, the caller's own key,
the health check."""

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
