"""`keepers models`: the bundled models, where they run, their sizes, and whether their files are intact."""

from __future__ import annotations

import json

from keepers.core.hookspecs import hookimpl
from keepers.core.inference.runtime import MODELS_DIR, choose_providers, manifest, sha256


def check_all() -> list[dict]:
    """One row per model in the manifest: name, file, size, source, licence, and 'ok' / why not."""
    rows = []
    for name, entry in manifest().items():
        path = MODELS_DIR / entry["file"]
        rebuild = entry.get("recipe", "see models/README.md")
        if not path.is_file():
            state = f"MISSING: {path}; rebuild with: {rebuild}"
        elif sha256(path) != entry.get("sha256"):
            state = f"CORRUPTED: sha256 of {path} differs from models/manifest/{name}.json; rebuild with: {rebuild}"
        else:
            state = "ok"
        rows.append({"name": name, "file": entry["file"], "bytes": path.stat().st_size if path.is_file() else 0,
                     "source": entry.get("source", ""), "licence": entry.get("licence", ""), "state": state})
    return rows


def models(args, settings) -> int:
    rows = check_all()
    providers = choose_providers(settings.providers)
    if args.json:
        print(json.dumps({"providers": providers, "models": rows}, indent=1))
    else:
        from rich.console import Console  # here: every `keepers` run imports this module for its parser
        from rich.table import Table

        out = Console()
        out.print(f"execution providers (best first): {', '.join(providers)}")
        t = Table(title=f"models in {MODELS_DIR}")
        for col in ("name", "size", "source", "licence", "state"):
            t.add_column(col, overflow="fold")
        for r in rows:
            t.add_row(r["name"], f"{r['bytes'] / 1e6:.1f} MB", r["source"], r["licence"], r["state"])
        out.print(t)
    return 0 if all(r["state"] == "ok" for r in rows) else 1


@hookimpl
def keepers_commands(subparsers, common):
    p = subparsers.add_parser("models", help="list the bundled models and execution providers; verify checksums")
    p.add_argument("--json", action="store_true")
    common(p)
    p.set_defaults(func=models)
