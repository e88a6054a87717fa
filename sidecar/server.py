"""Serving the app with waitress (a production WSGI server, pure Python), in the foreground or in a thread."""

from __future__ import annotations

import logging
import threading
import time

from waitress import wasyncore
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
                self._poll()
        finally:
            # no new connection: the listening socket alone (waitress's close() also closes the trigger that the
            # request threads wake this loop with, and the thread answering then failed: EBADF)
            wasyncore.dispatcher.close(w)
            # a predict in flight ends at its next input, its photo's sidecar written, and answers 503
            self.daemon.engine.stopping.set()
            try:
                # the review page first: a choice being written is written, and a request waiting on a preview is
                # answered, before the request threads are waited for (5 s at most, then left running)
                close_review(self.app)
            finally:
                self._wait_for_requests()
            # every client connection still open: left to the garbage collector, their clients waited on a server
            # that had stopped
            for channel in list(w._map.values()):
                channel.close()

    def _poll(self, timeout: float = 0.2) -> None:
        w = self.wsgi
        w.asyncore.loop(timeout=timeout, map=w._map, use_poll=w.adj.asyncore_use_poll, count=1)

    def _wait_for_requests(self) -> None:
        """The request threads end (waitress's 5 s at most) while this loop still sends what they answer: waited
        for without it, with a predict of 100 photos in flight `keepers serve` ended 5.3 s after SIGTERM, its client
        never answered, the request's thread still running: killed by SIGABRT at exit ("terminate called without
        an active exception"), or its exiftool ended under a sidecar write (ValueError: write to closed file)."""
        w = self.wsgi
        ending = threading.Thread(target=w.task_dispatcher.shutdown, name="keepers-http-stop", daemon=True)
        ending.start()
        while ending.is_alive():
            self._poll(0.05)
        end = time.monotonic() + 1.0  # the last answers sent (a second at most for a client that reads none)
        while any(c.writable() for c in w._map.values()) and time.monotonic() < end:
            self._poll(0.05)

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
