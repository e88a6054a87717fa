"""A small client for the daemon's API, on the standard library only (host adapters, the load test, the tests)."""

from __future__ import annotations

import http.client
import json
import os
import secrets
from urllib.parse import urlsplit


class Response:
    def __init__(self, status: int, body: bytes, headers: dict[str, str]):
        self.status, self.body, self.headers = status, body, headers

    def json(self):
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.body[:200]!r}>"


class Client:
    """One keep-alive connection (not thread-safe: one Client per thread)."""

    def __init__(self, url: str, key: str | None = None, timeout: float = 120):
        u = urlsplit(url)
        self.host, self.port, self.key, self.timeout = u.hostname, u.port or 80, key, timeout
        self._conn: http.client.HTTPConnection | None = None

    def close(self) -> None:
        if self._conn:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        # a client dropped without close() (a script's one-off call) hangs up rather than leave its socket for the
        # garbage collector, which warns (ResourceWarning) and keeps a server thread waiting on the connection
        if getattr(self, "_conn", None) is not None:  # None too where __init__ failed half way
            self.close()

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
                key: str | None = None) -> Response:
        h = dict(headers or {})
        k = key if key is not None else self.key
        if k:
            h["Authorization"] = f"Bearer {k}"
        for attempt in (0, 1):  # a keep-alive connection the server closed is reopened once
            if self._conn is None:
                self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self._conn.request(method, path, body=body, headers=h)
                r = self._conn.getresponse()
                data = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.close()
                return Response(r.status, data, dict(r.getheaders()))
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def get(self, path: str, **kw) -> Response:
        return self.request("GET", path, **kw)

    def delete(self, path: str, **kw) -> Response:
        return self.request("DELETE", path, **kw)

    def post(self, path: str, payload=None, method: str = "POST", **kw) -> Response:
        body = json.dumps(payload).encode() if payload is not None else None
        return self.request(method, path, body, {"Content-Type": "application/json"}, **kw)

    def patch(self, path: str, payload, **kw) -> Response:
        return self.post(path, payload, method="PATCH", **kw)

    def put(self, path: str, payload, **kw) -> Response:
        return self.post(path, payload, method="PUT", **kw)

    def upload(self, path: str, files: list[tuple[str, bytes]], fields: dict[str, str] | None = None,
               **kw) -> Response:
        """multipart/form-data: each (file name, bytes) as a `file` field."""
        boundary = "keepers" + secrets.token_hex(12)
        parts = []
        for name, value in (fields or {}).items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
        for name, data in files:
            head = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                    f'filename="{os.path.basename(name)}"\r\nContent-Type: application/octet-stream\r\n\r\n')
            parts.append(head.encode() + data + b"\r\n")
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        return self.request("POST", path, body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}, **kw)
