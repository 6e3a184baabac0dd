#!/usr/bin/env python3
"""A local identity provider for the gateway's remote-key tests: its JWKS, and with --discovery its OpenID
configuration document.

Serves the JSON in JWKS_FILE at /jwks.json over HTTPS (--cert/--key) or HTTP, re-reading the file on
every request so a test rotates keys by rewriting it. While DOWN_FILE exists the server answers 503
(an outage); with --delay-ms every answer waits that long (a slow provider). Prints its port on the
first line; appends one line per fetch to FETCH_LOG: the path, then the client's address.

With --discovery the issuer is https://127.0.0.1:PORT plus --issuer-path, and its document is at the
issuer plus /.well-known/openid-configuration (OpenID Connect Discovery 4.1), naming /jwks.json.
--advertised-issuer makes the document name another issuer; --swap serves each document at the other's
URL; --algs sets id_token_signing_alg_values_supported. --only-from ADDR closes connections from any
other address (logged as "refused ADDR"), so a test can prove the provider was reached through a proxy.
"""
import argparse, http.server, json, os, ssl, sys, threading, time


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("jwks_file")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--max-age", type=int, default=None)
    parser.add_argument("--down-file", default=None)
    parser.add_argument("--fetch-log", default=None)
    parser.add_argument("--delay-ms", type=int, default=0)
    parser.add_argument("--discovery", action="store_true")
    parser.add_argument("--issuer-path", default="")
    parser.add_argument("--advertised-issuer", default=None)
    parser.add_argument("--swap", action="store_true")
    parser.add_argument("--algs", default=None, help="comma-separated")
    parser.add_argument("--only-from", default=None)
    args = parser.parse_args()

    def log(line):
        if args.fetch_log:
            with open(args.fetch_log, "a") as f:
                f.write(line + "\n")

    class Server(http.server.ThreadingHTTPServer):
        def verify_request(self, request, client_address):
            if args.only_from and client_address[0] != args.only_from:
                log("refused " + client_address[0])
                return False
            return True

    server = Server(("127.0.0.1", 0), None)
    port = server.server_address[1]
    origin = "%s://127.0.0.1:%d" % ("https" if args.cert else "http", port)
    issuer = origin + args.issuer_path
    discovery_path = args.issuer_path.rstrip("/") + "/.well-known/openid-configuration"

    def discovery_document():
        document = {"issuer": args.advertised_issuer or issuer, "jwks_uri": origin + "/jwks.json",
                    "response_types_supported": ["code"], "subject_types_supported": ["public"]}
        if args.algs is not None:
            document["id_token_signing_alg_values_supported"] = [a for a in args.algs.split(",") if a]
        return json.dumps(document).encode(), "application/json"

    def jwks_document():
        with open(args.jwks_file, "rb") as f:
            return f.read(), "application/jwk-set+json"

    routes = {"/jwks.json": jwks_document}
    if args.discovery:
        routes[discovery_path] = discovery_document
        if args.swap:
            routes = {"/jwks.json": discovery_document, discovery_path: jwks_document}

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            log(self.path + " " + self.client_address[0])
            if args.delay_ms:
                time.sleep(args.delay_ms / 1000)
            route = routes.get(self.path)
            if (args.down_file and os.path.exists(args.down_file)) or route is None:
                self.send_response(503 if route else 404)
                self.send_header("content-length", "0")
                self.end_headers()
                return
            body, content_type = route()
            self.send_response(200)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(body)))
            if args.max_age is not None:
                self.send_header("cache-control", "public, max-age=%d" % args.max_age)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    server.RequestHandlerClass = Handler
    if args.cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.cert, args.key)
        server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    print(port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
