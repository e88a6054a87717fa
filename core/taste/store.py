"""Profiles, stored on this machine only: one JSON file per profile in a `taste/` folder beside the catalog
(`<catalog dir>/taste/<name>.json`), holding the signals (pairs of photos, with their content hashes, so a moved
photo is still known) and the trained model. A file is replaced atomically (written beside, then renamed), and the
same file is what `keepers taste export` writes and `import --profile-file` reads."""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from keepers.core.errors import UserError
from keepers.core.taste.model import Model

FORMAT = "keepers-taste/1"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass
class Profile:
    name: str
    signals: list[dict] = field(default_factory=list)  # {"preferred", "other", "source"} (+ content hashes)
    model: Model | None = None
    cv: float | None = None  # cross-validated held-out agreement of the model's kind on these signals
    trained_on: int = 0  # how many signals the model learned from
    explanation: list[str] = field(default_factory=list)  # what the profile prefers, in words

    def to_json(self) -> dict:
        return {"format": FORMAT, "name": self.name, "signals": self.signals, "cv": self.cv,
                "trained_on": self.trained_on, "explanation": self.explanation,
                "model": self.model.to_json() if self.model else None}

    @classmethod
    def from_json(cls, d: dict, name: str | None = None) -> "Profile":
        if d.get("format") != FORMAT:
            raise UserError(f"not a Keepers taste profile (format {d.get('format')!r}, expected {FORMAT})")
        return cls(name or d["name"], list(d.get("signals", [])), Model.from_json(d["model"]) if d.get("model") else None,
                   d.get("cv"), int(d.get("trained_on", 0)), list(d.get("explanation", [])))


def folder(catalog: Path) -> Path:
    return Path(catalog).parent / "taste"


def check_name(name: str) -> str:
    if not NAME.match(name or ""):
        raise UserError(f"bad profile name {name!r}: letters, digits, '.', '_' or '-', up to 64")
    return name


def path_of(catalog: Path, name: str) -> Path:
    return folder(catalog) / f"{check_name(name)}.json"


def load(catalog: Path, name: str) -> Profile | None:
    p = path_of(catalog, name)
    if not p.is_file():
        return None
    return read_file(p, name)


def read_file(p: Path, name: str | None = None) -> Profile:
    try:
        return Profile.from_json(json.loads(Path(p).read_text(encoding="utf-8")), name)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise UserError(f"cannot read the taste profile {p}: {e}") from None


def save(catalog: Path, profile: Profile) -> Path:
    return write_file(path_of(catalog, profile.name), profile)


def write_file(p: Path, profile: Profile) -> Path:
    p = Path(p)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(profile.to_json(), f)
        os.replace(tmp, p)  # readers see the old profile or the new one, never half of one
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p


def remove(catalog: Path, name: str) -> bool:
    p = path_of(catalog, name)
    if p.is_file():
        p.unlink()
        return True
    return False


def names(catalog: Path) -> list[str]:
    return sorted(p.stem for p in folder(catalog).glob("*.json"))
