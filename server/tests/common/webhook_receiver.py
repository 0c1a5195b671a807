"""A webhook receiver for the server's tests: verifies every request with the Standard Webhooks
reference library (`standardwebhooks` from PyPI) and records what it got.

    python webhook_receiver.py DIR

Listens on 127.0.0.1 on a free port, written to DIR/port. Each request is checked against the
secrets in DIR/secrets (one per line, re-read on every request, so a test can rotate them).
DIR/status, when present, holds the status to answer instead of 204 (for retries and 410).
Verified messages are appended to DIR/received (one JSON object a line: path, id,
timestamp, signatures, body); refused ones to DIR/rejected with the reason.
"""

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

DIR = sys.argv[1]


def read(name):
    try:
        with open(os.path.join(DIR, name)) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def append(name, record):
    with open(os.path.join(DIR, name), "a") as f:
        f.write(json.dumps(record) + "\n")


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("content-length", "0"))
        body = self.rfile.read(length)
        headers = {k: v for k, v in self.headers.items()}
        forced = read("status").strip()
        if forced:
            append("forced", {"path": self.path, "id": headers.get("webhook-id"), "status": int(forced)})
            self.send_response(int(forced))
            self.end_headers()
            return
        verified = None
        reasons = []
        for secret in [s.strip() for s in read("secrets").splitlines() if s.strip()]:
            try:
                verified = Webhook(secret).verify(body, headers)
                break
            except WebhookVerificationError as e:
                reasons.append(str(e))
        if verified is None:
            append("rejected", {"path": self.path, "id": headers.get("webhook-id"), "reasons": reasons})
            self.send_response(400)
            self.end_headers()
            return
        append(
            "received",
            {
                "path": self.path,
                "id": headers.get("webhook-id"),
                "timestamp": headers.get("webhook-timestamp"),
                "signatures": headers.get("webhook-signature", "").split(" "),
                "body": verified,
            },
        )
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
tmp = os.path.join(DIR, "port.tmp")
with open(tmp, "w") as f:
    f.write(str(server.server_address[1]))
os.rename(tmp, os.path.join(DIR, "port"))
server.serve_forever()
