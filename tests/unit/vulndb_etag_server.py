#!/usr/bin/env python3
"""A static file server with ETag and Last-Modified, for test_vulndb_update.c.

python3 -m http.server sends Last-Modified but no ETag and ignores
If-None-Match; `imgsec vulndb update` uses both, so this subclass adds them.
Usage: vulndb_etag_server.py ROOT LOG. Listens on 127.0.0.1, an ephemeral
port, printed as the first line of stdout. Each request is appended to LOG
as "METHOD PATH STATUS if-none-match=... if-modified-since=...".
"""
import email.utils
import hashlib
import http.server
import os
import sys

ROOT, LOG = sys.argv[1], sys.argv[2]


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def note(self, status):
        with open(LOG, "a") as f:
            f.write("%s %s %d if-none-match=%s if-modified-since=%s\n" % (
                self.command, self.path, status, self.headers.get("If-None-Match", "-"),
                self.headers.get("If-Modified-Since", "-")))

    def do_GET(self):
        path = os.path.join(ROOT, self.path.lstrip("/").replace("%20", " "))
        if ".." in self.path or not os.path.isfile(path):
            self.note(404)
            self.send_error(404)
            return
        with open(path, "rb") as f:
            body = f.read()
        etag = '"%s"' % hashlib.sha256(body).hexdigest()[:16]
        mtime = int(os.stat(path).st_mtime)
        last_modified = email.utils.formatdate(mtime, usegmt=True)
        inm = self.headers.get("If-None-Match")
        ims = self.headers.get("If-Modified-Since")
        not_modified = False
        if inm is not None:
            not_modified = inm == etag
        elif ims is not None:
            t = email.utils.parsedate_to_datetime(ims).timestamp()
            not_modified = mtime <= t
        if not_modified:
            self.note(304)
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        self.note(200)
        self.send_response(200)
        self.send_header("Content-Type", "application/zip")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", last_modified)
        self.end_headers()
        self.wfile.write(body)


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
