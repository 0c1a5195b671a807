#!/usr/bin/env python3
"""Small API helper for bench/server.sh (standard library only).

  server_api.py token URL EMAIL PASSWORD     registers the user (if new), signs in, prints the access token
  server_api.py purge URL TOKEN [KEEP_ID]    deletes every file in the user's root except KEEP_ID, then empties the trash
"""

import http.client
import json
import sys
import urllib.parse


def conn(url):
    u = urllib.parse.urlsplit(url)
    return http.client.HTTPConnection(u.hostname, u.port or 80, timeout=600)


def call(c, method, path, token=None, body=None, headers=None):
    h = dict(headers or {})
    if token:
        h["Authorization"] = f"Bearer {token}"
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    return r.status, (json.loads(data) if data and data[:1] in b"[{" else data)


def die(what, status, body):
    sys.exit(f"server_api: {what} failed: HTTP {status}: {body!r}")


def token(url, email, password):
    c = conn(url)
    s, b = call(c, "POST", "/auth/register", body={"email": email, "name": "Bench", "password": password})
    if s not in (200, 201, 202):
        die("register", s, b)
    s, b = call(c, "POST", "/auth/login", body={"email": email, "password": password})
    if s != 200:
        die("login", s, b)
    print(b["access_token"])


def purge(url, tok, keep=""):
    c = conn(url)
    while True:
        s, b = call(c, "GET", "/files?limit=1000", tok)
        if s != 200:
            die("list", s, b)
        doomed = [f["id"] for f in b["files"] if f["id"] != keep]
        if not doomed:
            # Deleting moves to the trash, which still holds the content (and its chunks, which
            # a later upload of the same bytes would dedup against): empty it.
            s, b = call(c, "DELETE", "/trash", tok)
            if s not in (200, 204):
                die("empty trash", s, b)
            return
        for fid in doomed:
            s, b = call(c, "DELETE", f"/files/{fid}", tok)
            if s not in (204, 404):
                die("delete", s, b)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"token": token, "purge": purge}[cmd](*args)
