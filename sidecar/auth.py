"""API keys: `kp_` + 32 random bytes, shown once, stored as a sha256; each belongs to an application and carries
scopes. Usage (requests, operations = inputs x models) is counted per key."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass

from keepers.sidecar.store import Store, now

PREFIX = "kp_"
SCOPES = ("predict", "search", "workflows", "models:add", "models:patch", "keys:admin", "taste")
APP_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass
class Key:
    """The key a request came with, and its application."""

    id: int
    app_id: int
    app_name: str
    roots: list[str]
    scopes: tuple[str, ...]


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def check_scopes(scopes) -> list[str]:
    bad = [s for s in scopes if s not in SCOPES]
    if bad:
        raise ValueError(f"unknown scope {', '.join(bad)}; scopes are {', '.join(SCOPES)}")
    return sorted(set(scopes), key=SCOPES.index)


def create_key(store: Store, app_id: int, scopes, note: str = "") -> tuple[int, str]:
    """A new key for the application; returns (id, token). The token is not kept: only its hash is."""
    scopes = check_scopes(scopes)
    if not scopes:
        raise ValueError("a key needs at least one scope")
    token = PREFIX + secrets.token_urlsafe(32)
    key_id = store.run("INSERT INTO keys (app_id, prefix, hash, scopes, note, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                       (app_id, token[:10], digest(token), json.dumps(scopes), note, now()))
    return key_id, token


def create_app(store: Store, name: str, roots: list[str], note: str = "") -> tuple[int, int, str]:
    """A new application (a library) and its first key, with every scope; returns (app id, key id, token)."""
    if not APP_NAME.match(name):
        raise ValueError("an application name is 1-64 letters, digits, '_', '.' or '-'")
    if store.app(name) is not None:
        raise ValueError(f"an application named {name!r} exists already")
    if not roots:
        raise ValueError("an application needs at least one library root (a folder it may read)")
    app_id = store.create_app(name, roots)
    key_id, token = create_key(store, app_id, SCOPES, note or f"first key of {name}")
    return app_id, key_id, token


class Refused(Exception):
    """A request's key is not accepted; `code` says why (`unauthorized`, `key_revoked`), the message what to do."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def _row(store: Store, header: str | None):
    """The keys row named by an `Authorization: Bearer kp_...` header (revoked or not), or None."""
    if not header or not header.startswith("Bearer "):
        return None
    token = header[7:].strip()
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    h = digest(token)
    row = store.one("SELECT k.id, k.hash, k.scopes, k.revoked_at, a.id AS app_id, a.name, a.roots FROM keys k "
                    "JOIN applications a ON a.id = k.app_id WHERE k.hash = ?", (h,))
    # the lookup is by hash; the constant-time compare guards the final equality all the same
    return row if row is not None and hmac.compare_digest(row["hash"], h) else None


def check(store: Store, header: str | None) -> Key:
    """The live key named by the header; raises Refused saying why not (a revoked key is said to be revoked, so
    a script knows to ask for a new key rather than look for a typo)."""
    row = _row(store, header)
    if row is None:
        raise Refused("unauthorized", "a valid API key is needed: 'Authorization: Bearer kp_...'")
    if row["revoked_at"] is not None:
        raise Refused("key_revoked", f"this key was revoked at {row['revoked_at']}; ask for a new one "
                                     "(`keepers keys create`)")
    return Key(row["id"], row["app_id"], row["name"], json.loads(row["roots"]), tuple(json.loads(row["scopes"])))


def authenticate(store: Store, header: str | None) -> Key | None:
    """The live key named by an `Authorization: Bearer kp_...` header, or None."""
    try:
        return check(store, header)
    except Refused:
        return None


def count_usage(store: Store, key_id: int, operations: int) -> None:
    store.run("UPDATE keys SET requests = requests + 1, operations = operations + ?, last_used_at = ? WHERE id = ?",
              (int(operations), now(), key_id))


def add_operations(store: Store, key_id: int | None, operations: int) -> None:
    if key_id is not None and operations:
        store.run("UPDATE keys SET operations = operations + ? WHERE id = ?", (int(operations), key_id))


def key_dict(row) -> dict:
    return {"id": row["id"], "prefix": row["prefix"], "scopes": json.loads(row["scopes"]), "note": row["note"],
            "created_at": row["created_at"], "revoked_at": row["revoked_at"], "last_used_at": row["last_used_at"],
            "requests": row["requests"], "operations": row["operations"]}


def list_keys(store: Store, app_id: int | None = None) -> list[dict]:
    rows = (store.all("SELECT * FROM keys WHERE app_id = ? ORDER BY id", (app_id,)) if app_id is not None
            else store.all("SELECT * FROM keys ORDER BY id"))
    out = []
    for r in rows:
        d = key_dict(r)
        d["app_id"] = r["app_id"]
        out.append(d)
    return out


def revoke(store: Store, key_id: int, app_id: int | None = None) -> bool:
    """Revoke a key (of `app_id` only, when given); False when there is no such live key."""
    sql = "UPDATE keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL"
    args: tuple = (now(), key_id)
    if app_id is not None:
        sql, args = sql + " AND app_id = ?", args + (app_id,)
    return store.run(sql, args) > 0
