"""A local HTTP server that misbehaves the ways real servers and middleboxes do: trickles, floods, bombs, redirects,
throttles for a day, pages forever, echoes the request into a 200 page, or answers random bytes.

Threaded, so a slow answer does not hold up the next request; every handler writes to 127.0.0.1 only.
"""

from __future__ import annotations

import gzip
import html
import io
import json as jsonlib
import random
import threading
from collections.abc import Callable
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

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
            "/hang": self.hang, "/ok": self.ok, "/json": self.json, "/throttled": self.throttled, "/echo": self.echo,
            "/random": self.random, "/pages": self.pages,
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
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
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
        self.routes = {prefix: lambda h: self._answer(h, 302, b"", Location=location)} | self.routes

    # --- behaviours ------------------------------------------------------------------------------
    @staticmethod
    def _answer(h, status: int, body: bytes, **headers: str):
        h.send_response(status)
        for name, value in (headers | {"Content-Length": str(len(body))}).items():
            h.send_header(name.replace("_", "-"), value)
        h.end_headers()
        h.wfile.write(body)

    def ok(self, h):
        self._answer(h, 200, b"date,value\n2024-01-02,1.5\n")

    def json(self, h):
        self._answer(h, 200, b'{"observations": []}', Content_Type="application/json")

    def trickle(self, h):
        """A valid-looking answer at 5 bytes a second, or at the rate the path names (`/trickle/2/…`: 2 B/s), never
        slow enough to trip a per-read timeout."""
        segments = urlsplit(h.path).path.split("/")
        pause = 1 / float(segments[2]) if len(segments) > 2 and segments[2].replace(".", "", 1).isdigit() else 0.2
        h.send_response(200)
        h.send_header("Content-Length", "100000")
        h.end_headers()
        while not self.stopping.is_set():
            h.wfile.write(b"x")
            h.wfile.flush()
            self.stopping.wait(pause)

    def throttled(self, h):
        """429 with a Retry-After of a day, to every request."""
        self._answer(h, 429, b'{"error_code": 429, "error_message": "Too Many Requests"}', Retry_After="86400")

    def echo(self, h):
        """A captive portal's 200 HTML page that quotes the request: its URL (query included) and headers."""
        headers = "".join(f"<li>{html.escape(k)}: {html.escape(v)}</li>" for k, v in h.headers.items())
        page = f"<html><body><p>Sign in to continue to {html.escape(h.path)}</p><ul>{headers}</ul></body></html>"
        self._answer(h, 200, page.encode(), Content_Type="text/html")

    def pages(self, h):
        """Pages that never end: FRED lists (vintage dates, observations) with new items on every page and a
        count never reached; a Socrata dataset that ignores `$offset` and sends the same full page each time."""
        query = parse_qs(urlsplit(h.path).query)
        offset, limit = (int(query.get(name, ["0"])[0]) for name in ("offset", "limit"))
        if "$limit" in query:
            body = [{"report_date_as_yyyy_mm_dd": "2024-01-02T00:00:00.000", "cftc_contract_market_code": "043602",
                     "open_interest_all": "1", "lev_money_positions_long": "1", "lev_money_positions_short": "1"}
                    ] * int(query["$limit"][0])
        else:
            days = [(date(1900, 1, 1) + timedelta(days=offset + i)).isoformat() for i in range(min(limit, 10_000))]
            body = {"count": 10**9, "vintage_dates": days,
                    "observations": [{"date": d, "value": "1.0", "realtime_start": d, "realtime_end": d} for d in days]}
        self._answer(h, 200, jsonlib.dumps(body).encode(), Content_Type="application/json")

    def random(self, h):
        """2,000 random bytes, the same for the same path, instead of an HTTP answer; then the connection closes."""
        h.wfile.write(random.Random(h.path).randbytes(2000))
        h.close_connection = True

    def _flood(self, h, chunks: int | None):
        """Answer 200 and write 64 KiB chunks: `chunks` of them (announced as the length) or forever."""
        h.send_response(200)
        if chunks is not None:
            h.send_header("Content-Length", str(chunks * 65536))
        h.end_headers()
        sent = 0
        while not self.stopping.is_set() and (chunks is None or sent < chunks):
            h.wfile.write(b"y" * 65536)
            sent += 1

    def endless(self, h):
        self._flood(h, None)  # no length: the body ends when the connection does, which it never does

    def huge(self, h):
        self._flood(h, 500 * 16)  # Content-Length announces 500 MB, and the body then delivers them

    def bomb(self, h):
        """A small gzip body that decodes to hundreds of megabytes."""
        self._answer(h, 200, BOMB, Content_Encoding="gzip")

    def hang(self, h):
        """Accepts the request and never answers."""
        self.stopping.wait(600)
