"""Taste profiles through the daemon. The profiles are the files `keepers taste` reads and writes
(keepers.core.taste.store, one namespace on this machine); the daemon's store records which application made each
one through the API, so an application reads and changes only its own (another application's, or one made on the
command line, is refused: sidecar/api_taste.py's `owned`). The `Trainer` retrains a profile off the request path, in one background thread: after
choices were added, and when signals arrive for a profile that follows its application's signals. One retrain runs
at a time; a profile asked for again while it trains is trained once more after, on its newest signals, and a model
trained on signals that changed meanwhile is never saved over them."""

from __future__ import annotations

import logging
import threading
from collections import Counter

from keepers.core.errors import UserError
from keepers.core.taste import store as profiles
from keepers.sidecar.engine import Stopping, stop_when
from keepers.sidecar.store import now

log = logging.getLogger("keepers.sidecar.taste")


def claim(daemon, key, name: str, follow: bool, state: str = "untrained") -> None:
    """Record `name` as this application's (a row left by a profile deleted on the command line is replaced)."""
    t = now()
    daemon.store.run("INSERT OR REPLACE INTO taste_profiles (name, app_id, follow_signals, state, trained_at, "
                     "created_at) VALUES (?, ?, ?, ?, ?, ?)", (name, key.app_id, int(follow), state,
                                                               t if state == "trained" else None, t))


def summary(profile, row) -> dict:
    """What a profile is and has learned, and where its training stands."""
    from keepers.core.taste.term import weight

    return {"name": profile.name, "signals": len(profile.signals),
            "sources": dict(Counter(s.get("source", "?").split(":", 1)[0] for s in profile.signals)),
            "trained_on": profile.trained_on, "cv_agreement": profile.cv, "weight": round(weight(profile), 3),
            "prefers": profile.explanation, "follow_signals": bool(row["follow_signals"]), "state": row["state"],
            "trained_at": row["trained_at"], "error": row["error"]}


class Trainer:
    def __init__(self, engine):
        self.engine, self.store, self.settings = engine, engine.store, engine.settings
        self._todo: dict[str, bool] = {}  # profile -> its application's signals to be read again first
        self._cond = threading.Condition()
        self._locks: dict[str, threading.Lock] = {}
        self._stop = False
        self._thread: threading.Thread | None = None

    def lock(self, name: str) -> threading.Lock:
        """Held while a profile's file is read, changed and written (requests and the trainer alike)."""
        with self._cond:
            return self._locks.setdefault(name, threading.Lock())

    def start(self) -> None:
        for r in self.store.all("SELECT name, follow_signals FROM taste_profiles WHERE state IN "
                                "('queued', 'retraining')"):  # interrupted by a restart
            self.request(r["name"], bool(r["follow_signals"]))
        self._thread = threading.Thread(target=self._loop, name="keepers-taste", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread:
            self._thread.join(timeout=30)

    def request(self, name: str, signals: bool = False) -> None:
        """Retrain `name` soon (`signals`: from its application's signals as they are then)."""
        self.store.run("UPDATE taste_profiles SET state = 'queued', error = NULL WHERE name = ? AND state != "
                       "'retraining'", (name,))  # before it is queued: a finished run must not be marked queued
        with self._cond:
            self._todo[name] = self._todo.get(name, False) or signals
            self._cond.notify()

    def _loop(self) -> None:
        from keepers.core.io.catalog import Catalog

        catalog = None  # opened at the first retrain: the job runner's thread makes a new catalog at start
        try:
            while True:
                with self._cond:
                    while not self._todo and not self._stop:
                        self._cond.wait()
                    if self._stop:
                        return
                    name = next(iter(self._todo))
                    signals = self._todo.pop(name)
                self.store.run("UPDATE taste_profiles SET state = 'retraining' WHERE name = ?", (name,))
                try:
                    catalog = catalog or Catalog(self.settings.catalog)
                    state = "trained" if self._train(name, signals, catalog) else "untrained"
                    error = None
                except Stopping:  # left 'retraining', which start() queues again
                    return
                except Exception as e:  # one profile that cannot be trained must not stop the others
                    log.exception("taste profile %s could not be trained", name)
                    state, error = "failed", str(e) or type(e).__name__
                with self._cond:
                    again = name in self._todo
                self.store.run("UPDATE taste_profiles SET state = ?, error = ?, trained_at = coalesce(?, trained_at)"
                               " WHERE name = ?", ("queued" if again else state, error,
                                                  now() if state == "trained" else None, name))
        finally:
            if catalog is not None:
                catalog.close()

    def _train(self, name: str, signals: bool, catalog) -> bool:
        """Retrain `name` (from its application's signals first, with `signals`); True where it has a model."""
        from keepers.core.taste import learn, ratings
        from keepers.core.taste.signals import from_daemon

        row = self.store.one("SELECT app_id FROM taste_profiles WHERE name = ?", (name,))
        if row is None:
            return False  # deleted since
        if signals:
            app = self.store.app(app_id=row["app_id"])["name"]
            try:
                values, _ = from_daemon(self.store.path, app)
            except UserError:  # none sent yet
                values = {}
            with self.lock(name):
                p = profiles.load(self.settings.catalog, name)
                if p is None:
                    return False
                learn.merge(p, ratings.pairs(values), f"signals:{app}", replace=True)
                profiles.save(self.settings.catalog, p)
        with self.lock(name):
            p = profiles.load(self.settings.catalog, name)
        if p is None:
            return False
        learn.train(p, self.settings, catalog, analyse=self._analyse)
        with self.lock(name):
            latest = profiles.load(self.settings.catalog, name)
            if latest is None or latest.signals != p.signals:
                return False  # deleted, or changed while it trained: the change asked for another retrain
            profiles.save(self.settings.catalog, p)
        return p.model is not None

    def _analyse(self, paths, settings, catalog) -> dict:
        """As keepers.core.taste.features.analyse, with the daemon's loaded analyzers (nothing loaded again)."""
        from keepers.core.taste.features import seen

        out = {}
        for r in self.engine.cull(catalog, write=False, progress=stop_when(lambda: self._stop)).run(paths):
            s = seen(r.findings, r.verdict.score if r.verdict else None)
            if s is not None:
                out[r.photo.path] = s
        return out
