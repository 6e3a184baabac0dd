#!/usr/bin/env python3
"""An independent HTTPS client for the end-to-end tests (ssl + http.client, nothing else).

  client.py --port P --cafile CA [--host localhost] [--method GET] [--path /]
            [-H "Name: value"]... [--body-file F] [--repeat N]

Sends the request (N times on one keep-alive connection with --repeat) and prints one JSON object per
response on stdout: {"status": 200, "headers": [[name, value], ...], "body": "...", "body_length": N}.
The body is decoded as Latin-1 so that any bytes survive. Exit status 0 unless the exchange failed.
"""

import argparse
import http.client
import json
import ssl
import sys


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cafile", required=True)
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--method", default="GET")
    parser.add_argument("--path", default="/")
    parser.add_argument("-H", dest="headers", action="append", default=[])
    parser.add_argument("--body-file")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=20)
    args = parser.parse_args()

    context = ssl.create_default_context(cafile=args.cafile)
    context.set_alpn_protocols(["http/1.1"])
    connection = http.client.HTTPSConnection(args.host, args.port, context=context, timeout=args.timeout)
    body = open(args.body_file, "rb").read() if args.body_file else None
    for _ in range(args.repeat):
        # putrequest/putheader keep duplicate and odd header names exactly as given.
        connection.putrequest(args.method, args.path, skip_accept_encoding=True)
        for header in args.headers:
            name, _, value = header.partition(":")
            connection.putheader(name.strip(), value.strip())
        if body is not None:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        data = response.read()
        print(json.dumps({
            "status": response.status,
            "headers": [[k, v] for k, v in response.getheaders()],
            "body": data.decode("latin-1"),
            "body_length": len(data),
        }), flush=True)
    connection.close()


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # the test reads the reason from stderr
        print("client error: %s: %s" % (type(error).__name__, error), file=sys.stderr)
        sys.exit(2)
