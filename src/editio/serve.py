"""``editio serve``: the built site over HTTP on 127.0.0.1, and nothing else.

Search needs HTTP (browsers block ``file://`` fetches), so editio serves
``build/html``.  The server may run on a shared machine, so it

* serves regular files inside the site only, through :mod:`editio.gate`
  (a symlink placed in ``build/html`` that leaves the site, a hidden file,
  a FIFO or a device is 404);
* never lists a directory (a directory with an ``index.html`` serves it);
* answers a request path with a NUL, a bad escape or ``..`` with 400/404, never a traceback;
* times out idle connections (:data:`IDLE_TIMEOUT`) and holds at most
  :data:`MAX_CONNECTIONS` at once (more are closed at once);
* sends ``X-Content-Type-Options: nosniff``.

With ``--watch`` (:mod:`editio.watch`) the server also answers three paths of its own under
``/__editio/``: ``live.js`` and ``live.css`` (the reload client, served as files: the site's
Content-Security-Policy allows no inline script) and ``events``, a Server-Sent Events stream
(``connect-src 'self'``) telling the open pages that the site was rebuilt (they reload) or
that the sources have errors (they show the located diagnostics over the last good
rendering).  Each HTML page it serves gets one ``<script src="/__editio/live.js">`` before
``</head>``; the files in ``build/html`` are not changed.  At most :data:`MAX_STREAMS`
streams are open at once.
"""
from __future__ import annotations

import http.server
import io
import json
import os
import posixpath
import sys
import threading
from pathlib import Path
from urllib.parse import unquote, urlsplit

from editio import gate
from editio.diagnostics import EditioError

IDLE_TIMEOUT = 15.0
"""Seconds a connection may stay silent before the server closes it."""
MAX_CONNECTIONS = 64
"""Connections served at once; more are closed at once (a browser opens about six)."""
MAX_STREAMS = 16
"""Reload channels open at once (one per open page)."""
LIVE = Path(__file__).resolve().parent / "templates" / "live"
TYPES = {".wasm": "application/wasm", ".pf_meta": "application/octet-stream",
         ".pf_fragment": "application/octet-stream", ".pf_index": "application/octet-stream",
         ".pagefind": "application/octet-stream"}


class Handler(http.server.SimpleHTTPRequestHandler):
    timeout = IDLE_TIMEOUT          # socket timeout: an idle connection is closed
    protocol_version = "HTTP/1.0"   # one request per connection: nothing held open
    server_version = "editio"
    sys_version = ""

    def __init__(self, *a, site: Path, live=None, streams=None, **kw):
        self.site = site
        self.live = live            # editio.watch.LiveState with --watch, else None
        self.streams = streams
        super().__init__(*a, directory=str(site), **kw)

    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **TYPES}

    def end_headers(self):
        self.send_header("X-Content-Type-Options", "nosniff")
        super().end_headers()

    def list_directory(self, path):  # never a listing
        self.send_error(404, "Not found")
        return None

    def do_GET(self):
        if self.live is not None and urlsplit(self.path).path == "/__editio/events":
            return self.events()
        return super().do_GET()

    def events(self):
        """The reload channel: one ``data:`` line of JSON per change of the live state
        (generation, ok, diagnostics), a comment every few seconds to keep it open."""
        if not self.streams.acquire(blocking=False):
            self.send_error(503, "Too many open pages")
            return
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            seen = None
            while True:
                state = self.live.wait(seen, timeout=5.0)
                if state == seen:
                    self.wfile.write(b": keep-alive\n\n")
                else:
                    self.wfile.write(b"retry: 1000\ndata: " + json.dumps(state).encode() + b"\n\n")
                    seen = state
                self.wfile.flush()
        except (OSError, ValueError):
            pass  # the page went away
        finally:
            self.streams.release()

    def _live_file(self, rel: str):
        name = rel.removeprefix("__editio/")
        if name not in ("live.js", "live.css"):
            self.send_error(404, "Not found")
            return None
        data = (LIVE / name).read_bytes()
        return self._bytes(data, "text/javascript" if name.endswith(".js") else "text/css")

    def _bytes(self, data: bytes, ctype: str):
        self.send_response(200)
        self.send_header("Content-type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        return io.BytesIO(data)

    PLACEHOLDER = (b'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>editio</title>'
                   b"</head><body><main><h1>No site yet</h1><p>The sources have errors; fix them "
                   b"and this page shows the edition.</p></main></body></html>")

    def _inject(self, data: bytes) -> bytes:
        gen = self.live.snapshot()["generation"]
        tag = f'<script src="/__editio/live.js" data-generation="{gen}" defer></script>'.encode()
        at = data.find(b"</head>")
        return data[:at] + tag + data[at:] if at >= 0 else tag + data

    def send_head(self):
        try:
            path = urlsplit(self.path).path
            rel = unquote(path, errors="strict")
        except (ValueError, UnicodeDecodeError):
            self.send_error(400, "Bad request path")
            return None
        if "\0" in rel or "\\" in rel:
            self.send_error(400, "Bad request path")
            return None
        rel = posixpath.normpath("/" + rel).lstrip("/")
        if self.live is not None and rel.startswith("__editio/"):
            return self._live_file(rel)
        if rel in ("", "."):
            rel = "index.html"
        elif path.endswith("/"):
            rel = rel + "/index.html"
        if self.live is not None and rel == "index.html" and not (self.site / rel).is_file():
            return self._bytes(self._inject(self.PLACEHOLDER), "text/html; charset=utf-8")
        try:
            real = gate.check(self.site, rel, max_bytes=None)
        except gate.Refused as err:
            if "a directory" in err.reason and not path.endswith("/"):
                self.send_response(301)
                self.send_header("Location", path + "/")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            self.send_error(404, "Not found")
            return None
        try:
            f = open(real, "rb", opener=lambda p, fl: os.open(p, fl | os.O_NONBLOCK))
            st = os.fstat(f.fileno())
        except OSError:
            self.send_error(404, "Not found")
            return None
        if self.live is not None and str(real).endswith(".html"):
            with f:
                data = f.read()
            return self._bytes(self._inject(data), "text/html; charset=utf-8")
        self.send_response(200)
        self.send_header("Content-type", self.guess_type(str(real)))
        self.send_header("Content-Length", str(st.st_size))
        self.send_header("Last-Modified", self.date_time_string(int(st.st_mtime)))
        self.end_headers()
        return f

    def log_message(self, fmt, *args):
        sys.stderr.write("%s - %s\n" % (self.address_string(), gate.show(fmt % args)))


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False   # a port in use is an error, not shared

    def __init__(self, addr, handler, max_connections: int = MAX_CONNECTIONS):
        self.slots = threading.BoundedSemaphore(max_connections)
        super().__init__(addr, handler)

    def process_request(self, request, client_address):
        if not self.slots.acquire(blocking=False):
            self.shutdown_request(request)  # too many at once: closed, not queued
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()
            raise

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()

    def handle_error(self, request, client_address):
        pass  # a client that went away (timeouts, resets) is no error of the server


def serve(site: Path, port: int, where: str, live=None) -> int:
    """Serve ``site``; with ``live`` (an :class:`editio.watch.LiveState`) also the reload
    channel, and a placeholder page while no site has been built."""
    if not 0 <= port <= 65535:
        raise EditioError(f"--port {port} is not a port number (0 to 65535)", code="serve.port")
    if live is None and not (site / "index.html").is_file():
        raise EditioError("no site here; run `editio build` first", file=where + "/",
                          code="serve.nosite")
    import functools
    site.mkdir(parents=True, exist_ok=True) if live is not None else None
    handler = functools.partial(Handler, site=site.resolve(), live=live,
                                streams=threading.BoundedSemaphore(MAX_STREAMS))
    try:
        httpd = Server(("127.0.0.1", port), handler)
    except OSError as err:
        why = "is in use (another server is running there)" if err.errno in (98, 48) \
            else f"cannot be used ({err.strerror})"
        raise EditioError(f"port {port} {why}; choose another with --port", code="serve.port") \
            from None
    with httpd:
        print(f"serving {where}/ at http://127.0.0.1:{httpd.server_address[1]}/ "
              "(Ctrl-C to stop)", file=sys.stderr, flush=True)
        try:
            httpd.serve_forever()
        except KeyboardInterrupt:
            pass
    return 0

