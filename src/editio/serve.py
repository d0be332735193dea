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
"""
from __future__ import annotations

import http.server
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
TYPES = {".wasm": "application/wasm", ".pf_meta": "application/octet-stream",
         ".pf_fragment": "application/octet-stream", ".pf_index": "application/octet-stream",
         ".pagefind": "application/octet-stream"}


class Handler(http.server.SimpleHTTPRequestHandler):
    timeout = IDLE_TIMEOUT          # socket timeout: an idle connection is closed
    protocol_version = "HTTP/1.0"   # one request per connection: nothing held open
    server_version = "editio"
    sys_version = ""

    def __init__(self, *a, site: Path, **kw):
        self.site = site
        super().__init__(*a, directory=str(site), **kw)

    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **TYPES}

    def end_headers(self):
        self.send_header("X-Content-Type-Options", "nosniff")
        super().end_headers()

    def list_directory(self, path):  # never a listing
        self.send_error(404, "Not found")
        return None

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
        if rel in ("", "."):
            rel = "index.html"
        elif path.endswith("/"):
            rel = rel + "/index.html"
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


def serve(site: Path, port: int, where: str) -> int:
    if not 0 <= port <= 65535:
        raise EditioError(f"--port {port} is not a port number (0 to 65535)", code="serve.port")
    if not (site / "index.html").is_file():
        raise EditioError("no site here; run `editio build` first", file=where + "/",
                          code="serve.nosite")
    import functools
    handler = functools.partial(Handler, site=site.resolve())
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

