#!/usr/bin/env python3
"""fake_vault.py - a minimal HashiCorp Vault KV v2 read API, for tests.

    fake_vault.py --data FILE --token-file FILE --port-file FILE
                  [--mount NAME] [--log FILE] [--cert PEM --key PEM]

Listens on 127.0.0.1 (a free port, written to --port-file once it
listens; plain HTTP, or TLS with --cert/--key) and answers
GET /v1/<mount>/data/<path> as Vault does:
  - the X-Vault-Token header must equal the token in --token-file
    (read at every request, so a test can change it): else 403;
  - <path> must be a key of the JSON object in --data (read at every
    request): else 404; its value is the secret's data, returned as
    {"data": {"data": {...}, "metadata": {...}}};
  - a path starting with "slow/" answers after 10 s (client timeouts);
    a path starting with "garbage/" answers 200 with a body that is not
    JSON.
Each request appends "METHOD PATH STATUS" to --log (never the token).
"""
import argparse
import json
import os
import ssl
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--token-file", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--mount", default="secret")
    ap.add_argument("--log")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    args = ap.parse_args()
    prefix = "/v1/%s/data/" % args.mount

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):  # quiet: no token, no noise
            pass

        def reply(self, status, body):
            if args.log:
                with open(args.log, "a") as f:
                    f.write("%s %s %d\n" % (self.command, self.path, status))
            data = body if isinstance(body, bytes) else \
                json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            with open(args.token_file) as f:
                token = f.read().strip()
            if self.headers.get("X-Vault-Token") != token:
                return self.reply(403, {"errors": ["permission denied"]})
            if not self.path.startswith(prefix):
                return self.reply(404, {"errors": []})
            path = self.path[len(prefix):]
            if path.startswith("slow/"):
                time.sleep(10)
            if path.startswith("garbage/"):
                return self.reply(200, b"<html>not json</html>")
            with open(args.data) as f:
                data = json.load(f)
            if path not in data:
                return self.reply(404, {"errors": []})
            return self.reply(200, {
                "request_id": "00000000-0000-0000-0000-000000000000",
                "lease_id": "", "renewable": False, "lease_duration": 0,
                "data": {"data": data[path],
                         "metadata": {"created_time": "2024-01-01T00:00:00Z",
                                      "deletion_time": "", "destroyed": False,
                                      "version": 1}},
                "wrap_info": None, "warnings": None, "auth": None})

        def do_POST(self):
            self.reply(405, {"errors": ["method not allowed"]})

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    if args.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.cert, args.key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    with open(args.port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(args.port_file + ".tmp", args.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
