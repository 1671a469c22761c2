#!/usr/bin/env python3
"""A local HTTP endpoint for the webhook tests (tests/it_webhook.sh).

usage: webhook_sink.py PORTFILE LOG [--fail N] [--alertmanager] [--slow SECONDS]

Listens on 127.0.0.1 (a free port, written to PORTFILE once listening) and answers every
POST: the first N with 503; then, with --alertmanager, as a stand-in for Alertmanager's
POST /api/v2/alerts: 200 when the body is a list of alerts in the v2 API's shape
(postableAlert: labels required, a non-empty map of valid label names to strings;
annotations a map of strings; startsAt, endsAt RFC 3339 times with endsAt not before
startsAt; generatorURL a string; no other field), else 400 saying why; otherwise 200. A
request to a path ending in /slow is answered after SECONDS (default 3). Each request is
one JSON line in LOG: n, path, status, headers, body.
"""
import json
import os
import re
import sys
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
FIELDS = {"labels", "annotations", "startsAt", "endsAt", "generatorURL"}


def rfc3339(s):
    if not isinstance(s, str) or not re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$", s):
        raise ValueError(f"not an RFC 3339 time: {s!r}")
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def label_set(v, what, required):
    if not isinstance(v, dict) or (required and not v):
        raise ValueError(f"{what} must be a{' non-empty' if required else ''} object")
    for k, x in v.items():
        if not LABEL.match(k) or not isinstance(x, str):
            raise ValueError(f"{what}: bad entry {k!r}: {x!r}")


def check_v2(body):
    alerts = json.loads(body)
    if not isinstance(alerts, list) or not alerts:
        raise ValueError("the body must be a non-empty list of alerts")
    for a in alerts:
        if not isinstance(a, dict):
            raise ValueError("an alert must be an object")
        extra = set(a) - FIELDS
        if extra:
            raise ValueError(f"unknown fields {sorted(extra)}")
        label_set(a.get("labels"), "labels", True)
        if "alertname" not in a["labels"]:
            raise ValueError("labels: no alertname")
        if "annotations" in a:
            label_set(a["annotations"], "annotations", False)
        if "generatorURL" in a and not isinstance(a["generatorURL"], str):
            raise ValueError("generatorURL must be a string")
        starts = rfc3339(a["startsAt"]) if "startsAt" in a else None
        ends = rfc3339(a["endsAt"]) if "endsAt" in a else None
        if starts and ends and ends < starts:
            raise ValueError("endsAt before startsAt")


def main():
    portfile, log = sys.argv[1], sys.argv[2]
    args = sys.argv[3:]
    fail = int(args[args.index("--fail") + 1]) if "--fail" in args else 0
    slow = float(args[args.index("--slow") + 1]) if "--slow" in args else 3.0
    am = "--alertmanager" in args
    lock = threading.Lock()
    state = {"n": 0}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def answer(self, status, text):
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            if self.path.endswith("/slow"):
                time.sleep(slow)
            with lock:
                state["n"] += 1
                n = state["n"]
            status, text = 200, "ok\n"
            if n <= fail:
                status, text = 503, "failing on purpose\n"
            elif am:
                try:
                    check_v2(body)
                except (ValueError, KeyError, json.JSONDecodeError) as e:
                    status, text = 400, f"{e}\n"
            try:
                self.answer(status, text)
            except OSError:
                status = -1  # the client went away (its timeout)
            with lock, open(log, "a") as f:
                f.write(json.dumps({"n": n, "path": self.path, "status": status,
                                    "headers": dict(self.headers), "body": body}) + "\n")

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(portfile + ".tmp", "w") as f:
        f.write(f"{srv.server_address[1]}\n")
    os.rename(portfile + ".tmp", portfile)
    srv.serve_forever()


if __name__ == "__main__":
    main()
