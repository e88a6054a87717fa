"""Serving the app with waitress (a production WSGI server, pure Python), in the foreground or in a thread."""

from __future__ import annotations

import logging
import threading

from waitress.server import create_server

from keepers.sidecar.app import Daemon, create_app
from keepers.sidecar.review.daemon import close_review

log = logging.getLogger("keepers.sidecar")


class Server:
    """A daemon's HTTP server; `port=0` picks a free port (see `.port`)."""

    def __init__(self, daemon: Daemon, host: str | None = None, port: int | None = None):
        ds = daemon.daemon_settings
        self.daemon = daemon
        self.app = create_app(daemon)
        # waitress buffers a whole request before the app sees it: cap it a little above the upload limit
        self.wsgi = create_server(self.app, host=host or ds.host, port=ds.port if port is None else port,
                                  threads=ds.threads, max_request_body_size=ds.max_upload_bytes + 65536,
                                  ident="keepers", clear_untrusted_proxy_headers=True)
        self.host, self.port = self.wsgi.effective_host, self.wsgi.effective_port
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _loop(self) -> None:
        # waitress's own run() cannot be stopped from another thread: poll in short rounds and close here
        w = self.wsgi
        try:
            while not self._stop.is_set():
                w.asyncore.loop(timeout=0.2, map=w._map, use_poll=w.adj.asyncore_use_poll, count=1)
        finally:
            try:
                # the review page first: a choice being written is written, and a request waiting on a preview is
                # answered, before the request threads are waited for (5 s at most, then left running)
                close_review(self.app)
            finally:
                w.task_dispatcher.shutdown()
            # the listening socket and every client connection still open: closing only the first left the others
            # to the garbage collector, and their clients waiting on a server that had stopped
            for channel in list(w._map.values()):
                channel.close()

    def serve_forever(self) -> None:
        """Serve until `shutdown()` (a signal handler may call it); then stop the daemon's workers."""
        log.info("serving on %s", self.url)
        try:
            self._loop()
        finally:
            self.daemon.close()

    def shutdown(self) -> None:
        self._stop.set()

    def start(self) -> "Server":
        self._thread = threading.Thread(target=self._loop, name="keepers-http", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)
        close_review(self.app)  # (done by the loop's end; here too for a server never started, or still stopping)
        self.daemon.close()
