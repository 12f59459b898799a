"""A registry that misbehaves on purpose, run as its own process: ``python fault_server.py PORT ROUTES.json``.

``ROUTES.json``: ``{"<path>": {"status": 200, "headers": {...}, "body": "<text>", "length": <declared
Content-Length, default len(body)>, "auth": "<Authorization expected>", "challenge": "<WWW-Authenticate>"}}``;
a declared length above the body's is a truncated answer (the connection is closed after the body); a
request without the route's ``auth`` gets 401 with its ``challenge``. Unknown paths answer 404 with a
distribution error body. Each request is logged to stdout as ``<method> <path and query> auth=<scheme or ->``."""

from __future__ import annotations

import json
import socketserver
import sys
from http.server import BaseHTTPRequestHandler


def main(port: int, routes_file: str) -> None:
    routes = json.loads(open(routes_file).read())

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            given = self.headers.get("Authorization") or ""
            print(f"{self.command} {self.path} auth={given.split(' ')[0] or '-'}", flush=True)
            path = self.path.split("?", 1)[0]
            route = routes.get(path)
            if route and "auth" in route and given != route["auth"]:
                route = {"status": 401, "headers": {"WWW-Authenticate": route["challenge"], "Content-Type": "application/json"},
                         "body": '{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}'}
            route = route or {"status": 404, "headers": {"Content-Type": "application/json"},
                                         "body": '{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}'}
            body = route.get("body", "").encode()
            self.send_response(route.get("status", 200))
            for k, v in route.get("headers", {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(route.get("length", len(body))))
            if route.get("length", len(body)) != len(body):
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
            if route.get("length", len(body)) != len(body):
                self.close_connection = True

        do_HEAD = do_GET

    class Server(socketserver.TCPServer):
        allow_reuse_address = True

    with Server(("127.0.0.1", port), Handler) as srv:
        print("ready", flush=True)
        srv.serve_forever()


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
