"""`keepers serve`, `keepers keys ...`, `keepers apps ...` and `keepers watch`."""

from __future__ import annotations

import errno
import json
import signal
import sys
import threading
from pathlib import Path

from keepers.core.errors import UserError
from keepers.core.hookspecs import hookimpl
from keepers.sidecar import auth
from keepers.sidecar.store import Store


def _store(args, settings) -> Store:
    return Store(settings.daemon.store_path(settings.catalog))


def _app(store: Store, name: str | None) -> dict:
    if name is None:
        apps = store.apps()
        if len(apps) != 1:
            raise UserError("name the application with --app (keepers apps list shows them)" if apps else
                            "no application yet: create one with `keepers apps create NAME --root FOLDER`")
        return apps[0]
    app = store.app(name)
    if app is None:
        raise UserError(f"no application named {name!r} (keepers apps list shows them)")
    return app


def _show_token(token: str, what: str) -> None:
    print(f"{what}; this is the only time it is shown, store it now:", file=sys.stderr)
    print(token, flush=True)


def keys_create(args, settings) -> int:
    store = _store(args, settings)
    app = _app(store, args.app)
    try:
        key_id, token = auth.create_key(store, app["id"], args.scope or [], args.note or "")
    except ValueError as e:
        raise UserError(str(e)) from None
    _show_token(token, f"key {key_id} for application {app['name']} with scopes {', '.join(auth.check_scopes(args.scope))}")
    return 0


def keys_list(args, settings) -> int:
    store = _store(args, settings)
    names = {a["id"]: a["name"] for a in store.apps()}
    rows = auth.list_keys(store)
    for r in rows:
        r["application"] = names.get(r.pop("app_id"))
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    from rich.console import Console
    from rich.table import Table

    t = Table(title="API keys (secrets are never shown again; the prefix identifies a key)")
    for col in ("id", "application", "prefix", "scopes", "note", "created", "state", "requests", "operations"):
        t.add_column(col, overflow="fold")
    for r in rows:
        t.add_row(str(r["id"]), r["application"], r["prefix"] + "…", " ".join(r["scopes"]), r["note"],
                  r["created_at"], "revoked" if r["revoked_at"] else "live", str(r["requests"]), str(r["operations"]))
    Console().print(t)
    return 0


def keys_revoke(args, settings) -> int:
    if not auth.revoke(_store(args, settings), args.id):
        raise UserError(f"no live key with id {args.id}")
    print(f"key {args.id} revoked: requests with it now get 401")
    return 0


def apps_create(args, settings) -> int:
    roots = [Path(r).expanduser().resolve() for r in args.root]
    missing = [str(r) for r in roots if not r.is_dir()]
    if missing:
        raise UserError(f"not a folder: {', '.join(missing)}")
    store = _store(args, settings)
    try:
        app_id, key_id, token = auth.create_app(store, args.name, [str(r) for r in roots])
    except ValueError as e:
        raise UserError(str(e)) from None
    _show_token(token, f"application {args.name} created (roots: {', '.join(map(str, roots))}); its key {key_id} "
                       "has every scope")
    return 0


def apps_list(args, settings) -> int:
    apps = _store(args, settings).apps()
    if args.json:
        print(json.dumps(apps, indent=1))
    for a in [] if args.json else apps:
        print(f"{a['name']}: {', '.join(a['roots'])}")
    return 0


def stop_signals(sig=signal) -> list:
    """The signals that stop the daemon: SIGINT (Ctrl-C) and SIGTERM, and on Windows SIGBREAK (Ctrl-Break in its
    console), which only Windows has. `sig`: the signal module (the unit test passes a stand-in)."""
    return [s for s in (sig.SIGINT, sig.SIGTERM, getattr(sig, "SIGBREAK", None)) if s is not None]


def _until_signal(stop) -> None:
    """Block until a stop signal, then call `stop`."""
    done = threading.Event()
    for sig in stop_signals():
        signal.signal(sig, lambda *_: done.set())
    done.wait()
    stop()


def serve(args, settings) -> int:
    from keepers.sidecar.app import Daemon
    from keepers.sidecar.server import Server

    ds = settings.daemon.updated(host=args.bind_host, port=args.port)
    if ds.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: listening on {ds.host}: anyone who can reach it and holds a key can read your library",
              file=sys.stderr)
    daemon = Daemon(settings, ds)
    try:
        server = Server(daemon)
    except OSError as e:  # the port taken (another `keepers serve`?): one line, as `keepers review` says it
        daemon.close()
        hint = {errno.EADDRINUSE: " (another keepers serve? --port N picks another, --port 0 a free one)",
                errno.EACCES: " (a port below 1024 needs root: --port N picks another, --port 0 a free one)",
                errno.EADDRNOTAVAIL: " (--host takes an address of this machine: 127.0.0.1, ::1, or 0.0.0.0 for "
                                     "every one)"}.get(e.errno, "")
        raise UserError(f"cannot listen on {ds.host}:{ds.port}: {e.strerror or e}{hint}") from None
    except ValueError:  # waitress: a name that resolves to nothing ("localhots"), an address out of range
        daemon.close()
        raise UserError(f"cannot listen on {ds.host}: not an address of this machine nor a name it resolves "
                        "(--host 127.0.0.1, ::1, or 0.0.0.0 for every one)") from None
    if not daemon.store.apps():
        print("no application yet: create one with `keepers apps create NAME --root FOLDER` to get a key",
              file=sys.stderr)
    print(f"keepers daemon on {server.url} (API: {server.url}/v1/openapi.json)", file=sys.stderr, flush=True)
    for sig in stop_signals():
        signal.signal(sig, lambda *_: server.shutdown())
    server.serve_forever()
    return 0


def watch(args, settings) -> int:
    from keepers.sidecar.engine import Engine
    from keepers.sidecar.watch import Watcher

    ds = settings.daemon.updated(settle_s=args.settle)  # checked as the config file's value is
    store = Store(ds.store_path(settings.catalog))
    engine = Engine(settings, store)

    def report(done: int, failed: int) -> None:
        # a batch holds photos and clips alike (a clip is one file, judged by the second)
        print(f"{done} file(s) analysed, {failed} failed; queue: {store.queue_counts().get('queued', 0)}", flush=True)

    watcher = Watcher([str(p) for p in args.paths], engine, settle_s=ds.settle_s, batch=ds.watch_batch, on_batch=report)
    try:
        watcher.start()
    except FileNotFoundError as e:
        raise UserError(str(e)) from None
    print(f"watching {', '.join(map(str, args.paths))}; Ctrl-C stops", file=sys.stderr, flush=True)
    _until_signal(watcher.stop)
    return 0


@hookimpl
def keepers_commands(subparsers, common):
    p = subparsers.add_parser("serve", help="run the local daemon: HTTP API, batch jobs, watched folders")
    p.add_argument("--host", dest="bind_host", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default 8765; 0 picks a free one)")
    common(p)
    p.set_defaults(func=serve)

    k = subparsers.add_parser("keys", help="API keys: create, list, revoke")
    ks = k.add_subparsers(dest="keys_command", required=True)
    c = ks.add_parser("create", help="create a key (shown once)")
    c.add_argument("--app", help="the application the key belongs to")
    c.add_argument("--scope", action="append", choices=auth.SCOPES, required=True, help="repeat for several")
    c.add_argument("--note", default="", help="what the key is for")
    common(c)
    c.set_defaults(func=keys_create)
    ls = ks.add_parser("list", help="list keys with their usage")
    ls.add_argument("--json", action="store_true")
    common(ls)
    ls.set_defaults(func=keys_list)
    r = ks.add_parser("revoke", help="revoke a key: it is refused from now on")
    r.add_argument("id", type=int)
    common(r)
    r.set_defaults(func=keys_revoke)

    a = subparsers.add_parser("apps", help="applications: a library (its roots) with its keys and workflows")
    As = a.add_subparsers(dest="apps_command", required=True)
    ac = As.add_parser("create", help="create an application and its first key (every scope; shown once)")
    ac.add_argument("name")
    ac.add_argument("--root", action="append", required=True, help="a folder the application may read; repeatable")
    common(ac)
    ac.set_defaults(func=apps_create)
    al = As.add_parser("list", help="list applications")
    al.add_argument("--json", action="store_true")
    common(al)
    al.set_defaults(func=apps_list)

    w = subparsers.add_parser("watch", help="analyse new photos in folders as they arrive (foreground, no HTTP)")
    w.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    w.add_argument("--settle", type=float, help="seconds a file must stay unchanged before it is read (default 1)")
    common(w)
    w.set_defaults(func=watch)
