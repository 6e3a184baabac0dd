#!/usr/bin/env python3
"""A local identity provider's JWKS endpoint for the gateway's remote-key tests.

Serves the JSON in JWKS_FILE at /jwks.json over HTTPS (--cert/--key) or HTTP, re-reading the file on
every request so a test rotates keys by rewriting it. While DOWN_FILE exists the server answers 503
(an outage); with --delay-ms every answer waits that long (a slow provider). Prints its port on the
first line; appends one line per fetch to FETCH_LOG.
"""
import argparse, http.server, os, ssl, sys, threading, time


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("jwks_file")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--max-age", type=int, default=None)
    parser.add_argument("--down-file", default=None)
    parser.add_argument("--fetch-log", default=None)
    parser.add_argument("--delay-ms", type=int, default=0)
    args = parser.parse_args()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            if args.fetch_log:
                with open(args.fetch_log, "a") as log:
                    log.write(self.path + "\n")
            if args.delay_ms:
                time.sleep(args.delay_ms / 1000)
            if args.down_file and os.path.exists(args.down_file):
                self.send_response(503)
                self.send_header("content-length", "0")
                self.end_headers()
                return
            if self.path != "/jwks.json":
                self.send_response(404)
                self.send_header("content-length", "0")
                self.end_headers()
                return
            with open(args.jwks_file, "rb") as f:
                body = f.read()
            self.send_response(200)
            self.send_header("content-type", "application/jwk-set+json")
            self.send_header("content-length", str(len(body)))
            if args.max_age is not None:
                self.send_header("cache-control", "public, max-age=%d" % args.max_age)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if args.cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.cert, args.key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
