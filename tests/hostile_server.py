"""A local HTTP server that misbehaves the ways real servers and middleboxes do: trickles, floods, bombs, redirects.

Threaded, so a slow answer does not hold up the next request; every handler writes to 127.0.0.1 only.
"""

from __future__ import annotations

import gzip
import io
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BOMB_DECODED_BYTES = 300 * 1024 * 1024


def _bomb() -> bytes:
    """A gzip stream of BOMB_DECODED_BYTES zeros, compressed a megabyte at a time (never held decoded)."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9) as stream:
        zeros = b"\0" * (1024 * 1024)
        for _ in range(BOMB_DECODED_BYTES // len(zeros)):
            stream.write(zeros)
    return out.getvalue()


BOMB = _bomb()


class HostileServer:
    """Routes by path prefix; `seen` lists every request line received (path with query)."""

    def __init__(self):
        self.seen: list[str] = []
        self.routes: dict[str, Callable[[BaseHTTPRequestHandler], None]] = {
            "/trickle": self.trickle, "/endless": self.endless, "/bomb": self.bomb, "/huge": self.huge,
            "/hang": self.hang, "/ok": self.ok, "/json": self.json,
        }
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.seen.append(self.path)
                for prefix, handler in server.routes.items():
                    if self.path.startswith(prefix):
                        try:
                            return handler(self)
                        except (BrokenPipeError, ConnectionResetError):
                            return
                self.send_error(404)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def redirect(self, prefix: str, location: str) -> None:
        def handler(h):
            h.send_response(302)
            h.send_header("Location", location)
            h.send_header("Content-Length", "0")
            h.end_headers()
        self.routes = {prefix: handler} | self.routes

    # --- behaviours ------------------------------------------------------------------------------
    def ok(self, h):
        body = b"date,value\n2024-01-02,1.5\n"
        h.send_response(200)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def json(self, h):
        body = b'{"observations": []}'
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def trickle(self, h):
        """A valid-looking answer, one byte every 0.2 s: never slow enough to trip a per-read timeout."""
        h.send_response(200)
        h.send_header("Content-Length", "100000")
        h.end_headers()
        while not self.stopping.is_set():
            h.wfile.write(b"x")
            h.wfile.flush()
            time.sleep(0.2)

    def endless(self, h):
        h.send_response(200)
        h.end_headers()  # no length: the body ends when the connection does, which it never does
        chunk = b"y" * 65536
        while not self.stopping.is_set():
            h.wfile.write(chunk)

    def huge(self, h):
        """A 200 whose Content-Length announces 500 MB and whose body then delivers them."""
        h.send_response(200)
        h.send_header("Content-Length", str(500 * 1024 * 1024))
        h.end_headers()
        chunk = b"z" * 65536
        for _ in range(500 * 16):
            if self.stopping.is_set():
                return
            h.wfile.write(chunk)

    def bomb(self, h):
        """A small gzip body that decodes to hundreds of megabytes."""
        h.send_response(200)
        h.send_header("Content-Encoding", "gzip")
        h.send_header("Content-Length", str(len(BOMB)))
        h.end_headers()
        h.wfile.write(BOMB)

    def hang(self, h):
        """Accepts the request and never answers."""
        self.stopping.wait(600)
