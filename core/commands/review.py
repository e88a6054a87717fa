"""`keepers review PATH...`: cull what is new, then serve the review page on 127.0.0.1 until Ctrl-C or SIGTERM.

The URL printed on stdout carries a per-run token; without it nothing is served (sidecar/review)."""

from __future__ import annotations

import os
import signal
import threading

from keepers.core.commands.cull import host_options
from keepers.core.errors import UserError
from keepers.core.hookspecs import hookimpl


def review(args, settings) -> int:
    from waitress.server import create_server

    from keepers.core.commands.cull import _reported_by_us, _stderr, run_cull
    from keepers.sidecar.review import app_for
    from keepers.sidecar.review.state import Review
    from keepers.sidecar.review.stored import stored_results

    err = _stderr()
    with _reported_by_us(getattr(args, "verbose", False)):
        # a shoot culled already opens from the catalog's judgements (seconds); anything new is culled first
        results = stored_results(args.paths, settings)
        analysed = 0
        if results is None:
            results, stats = run_cull(args.paths, settings)  # progress on stderr, as `cull` shows it
            analysed = stats["analyzed"]
        state = Review(settings, results, [p for p in map(os.path.abspath, args.paths) if os.path.exists(p)])
    if not state.items:
        state.close()
        raise UserError("no photo under " + ", ".join(args.paths) + " could be judged: nothing to review")
    err.print(f"{len(state.items)} photos to review ({analysed} analysed now)", highlight=False)
    try:
        server = create_server(app_for(state), host="127.0.0.1", port=args.port, threads=12, ident="keepers")
    except OSError as e:
        state.close()
        raise UserError(f"cannot listen on 127.0.0.1:{args.port}: {e.strerror or e}") from None
    url = f"http://127.0.0.1:{server.effective_port}/review/?token={state.token}"
    print(url, flush=True)
    stop = threading.Event()

    def _stop(*_):
        stop.set()

    old = signal.signal(signal.SIGTERM, _stop)
    if not args.no_browser:
        import webbrowser

        threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
    try:
        while not stop.is_set():  # waitress's run() cannot be stopped by a signal handler: short rounds
            server.asyncore.loop(timeout=0.2, map=server._map, use_poll=server.adj.asyncore_use_poll, count=1)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, old)
        # the review first: a choice being written is finished, queued previews fail at once, so the requests
        # waiting on them are answered instead of holding the dispatcher's shutdown for its 5 s
        state.close()
        server.task_dispatcher.shutdown()
        for channel in list(server._map.values()):
            channel.close()
    err.print("review stopped; every change is in the sidecars", highlight=False)
    if getattr(settings, "taste", None):  # the page's choices teach the taste profile now, off its requests
        from keepers.core.commands.taste import learn_from_review

        learn_from_review(settings, state.roots, say=lambda line: err.print(line, highlight=False, soft_wrap=True))
    return 0


@hookimpl
def keepers_commands(subparsers, common):
    r = subparsers.add_parser("review", help="cull PATH, then open the review page to rate, pick and reject with "
                                             "the keyboard")
    r.add_argument("paths", nargs="+", metavar="PATH")
    r.add_argument("--port", type=int, default=0, help="the port on 127.0.0.1 (default: any free one)")
    r.add_argument("--no-browser", action="store_true", help="print the page's URL, open no browser")
    host_options(r)  # it culls PATH first, and writes the choices as the photos' host reads them
    common(r)
    r.set_defaults(func=review)
