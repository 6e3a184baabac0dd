"""Service A or B of the compose demo: answers every request with a JSON echo of what it was sent.

The identity it reports comes only from the gateway's headers (X-User-Id, X-User-Scopes, X-User-Roles,
X-Token-Issuer): the gateway strips every client spelling of them, and the service has no published port.
"""
import argparse
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", required=True)
    parser.add_argument("--port", type=int, default=8080)
    arguments = parser.parse_args()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def answer(self):
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            body = json.dumps({
                "service": arguments.name,
                "method": self.command,
                "path": self.path,
                "user": self.headers.get("X-User-Id"),
                "scopes": self.headers.get("X-User-Scopes"),
                "roles": self.headers.get("X-User-Roles"),
                "issuer": self.headers.get("X-Token-Issuer"),
                "request_id": self.headers.get("X-Request-Id"),
            }).encode() + b"\n"
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = answer

        def log_message(self, format, *args):
            pass

    ThreadingHTTPServer(("0.0.0.0", arguments.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
