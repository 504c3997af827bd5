"""A folder's files served on 127.0.0.1 for the tests of HTTP inputs: Range requests,
optional basic auth, scripted 503 answers (with or without Retry-After) and a transfer that
breaks once, with every request recorded."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class FileServer:
    def __init__(self, root: Path, auth: tuple[str, str] | None = None):
        self.root = root
        self.requests: list[dict] = []  # path, range, auth, host, at (monotonic seconds)
        self.busy: list[str | None] = []  # the next answers are 503s, with this Retry-After (None: none)
        self.cut_after: int | None = None  # bytes after which a full response drops the connection
        expected = "Basic " + base64.b64encode(":".join(auth).encode()).decode() if auth else None
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _empty(self, status: int, **headers: str) -> None:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k.replace("_", "-"), v)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self):
                rng = self.headers.get("Range")
                server.requests.append({"path": self.path, "range": rng, "auth": self.headers.get("Authorization"),
                                        "host": self.headers.get("Host"), "at": time.monotonic()})
                if expected and self.headers.get("Authorization") != expected:
                    return self._empty(401, WWW_Authenticate='Basic realm="crawl"')
                if server.busy:
                    retry_after = server.busy.pop(0)
                    return self._empty(503, **({"Retry_After": retry_after} if retry_after else {}))
                f = server.root / self.path.split("?")[0].lstrip("/")
                if not f.is_file():
                    return self.send_error(404)
                data = f.read_bytes()
                start = int(rng.split("=")[1].split("-")[0]) if rng else 0
                self.send_response(206 if rng else 200)
                if rng:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if server.cut_after is not None and not rng:
                    self.wfile.write(body[: server.cut_after])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def served(tmp_path: Path, cls: type[FileServer] = FileServer) -> Iterator[FileServer]:
    """A server of an empty folder `www` under tmp_path, for a fixture to `yield from`."""
    root = tmp_path / "www"
    root.mkdir()
    server = cls(root)
    try:
        yield server
    finally:
        server.close()
