"""A threaded HTTP/1.1 server on top of socketserver, dispatching to a Router."""

from __future__ import annotations

import socketserver
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from .routing import Router

MAX_HEADER_BYTES = 16 * 1024
REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    500: "Internal Server Error",
}


@dataclass
class Request:
    method: str
    path: str
    query: dict
    headers: dict
    body: bytes = b""


def parse_request(rfile) -> Request | None:
    """Read one request from a binary file object; None when the client sent nothing."""
    line = rfile.readline(MAX_HEADER_BYTES).decode("latin-1").rstrip("\r\n")
    if not line:
        return None
    try:
        method, target, _version = line.split(" ", 2)
    except ValueError:
        raise ValueError(f"malformed request line: {line!r}") from None
    headers = {}
    total = len(line)
    while True:
        raw = rfile.readline(MAX_HEADER_BYTES)
        total += len(raw)
        if total > MAX_HEADER_BYTES:
            raise ValueError("headers too large")
        text = raw.decode("latin-1").rstrip("\r\n")
        if not text:
            break
        name, _, value = text.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0") or 0)
    body = rfile.read(length) if length > 0 else b""
    url = urlsplit(target)
    return Request(method.upper(), url.path or "/", parse_qs(url.query), headers, body)


def format_response(status: int, headers: dict, body) -> bytes:
    if isinstance(body, str):
        body = body.encode("utf-8")
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Unknown')}"]
    headers = {"Content-Length": str(len(body)), "Connection": "close", **headers}
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class Handler(socketserver.StreamRequestHandler):
    router: Router  # set on the subclass that serve() creates

    def handle(self):
        try:
            request = parse_request(self.rfile)
        except ValueError as exc:
            self.wfile.write(format_response(400, {"Content-Type": "text/plain"}, f"{exc}\n"))
            return
        if request is None:
            return
        handler, params = self.router.resolve(request.method, request.path)
        if handler is None:
            status = 405 if params is None else 404
            self.wfile.write(format_response(status, {"Content-Type": "text/plain"}, REASONS[status] + "\n"))
            return
        try:
            status, headers, body = handler(request, **params)
        except Exception as exc:  # a broken handler must not take the server down
            status, headers, body = 500, {"Content-Type": "text/plain"}, f"error: {type(exc).__name__}\n"
        self.wfile.write(format_response(status, headers, body))


class ThreadedServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    allow_reuse_address = True
    daemon_threads = True


def serve(router: Router, host: str = "127.0.0.1", port: int = 8080) -> None:
    handler = type("BoundHandler", (Handler,), {"router": router})
    with ThreadedServer((host, port), handler) as server:
        print(f"serving on http://{host}:{port}/")
        server.serve_forever()


def main() -> None:
    router = Router()

    @router.get("/")
    def index(request):
        return 200, {"Content-Type": "text/plain; charset=utf-8"}, "tinyhttp is running\n"

    @router.get("/hello/{name}")
    def hello(request, name):
        return 200, {"Content-Type": "text/plain; charset=utf-8"}, f"Hello, {name}!\n"

    serve(router)


if __name__ == "__main__":
    main()
