#!/usr/bin/env python3
"""Envoy's gRPC ext_authz call, made with grpcio, for the end-to-end tests.

  ext_authz_client.py --port P --cafile CA --protos DIR --out DIR [--server-name localhost]
                      --method GET --path /api/data/x [--host api.example] [-H "name: value"]...
                      [--raw-headers] [--timeout S]

Generates the Python stubs from the repository's Protos/ with grpcio-tools (into --out), sends one
envoy.service.auth.v3.Authorization/Check over TLS (verifying the server against CA), shaped as Envoy sends it
(lower-case header names in `headers`, or in `header_map` with --raw-headers), and prints the response as one
JSON object: {"grpc_status": N, "message": "...", "ok": {"headers": [[k, v, action]], "headers_to_remove": [...]}}
or {"grpc_status": N, "denied": {"status": 401, "headers": [[k, v]], "body": "..."}}. A failed call prints
{"rpc_error": "CODE", "details": "..."}. Exit status 0 unless the client itself failed.
"""

import argparse
import json
import os
import sys


def generate(protos, out):
    from grpc_tools import protoc
    import grpc_tools

    files = sorted(
        os.path.relpath(os.path.join(root, name), protos)
        for root, _, names in os.walk(protos) for name in names if name.endswith(".proto")
    )
    include = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    status = protoc.main(["protoc", "-I", protos, "-I", include, "--python_out", out, "--grpc_python_out", out] + files)
    if status != 0:
        sys.exit("protoc failed with %d" % status)
    sys.path.insert(0, out)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cafile", required=True)
    parser.add_argument("--protos", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--server-name", default="localhost")
    parser.add_argument("--method", default="GET")
    parser.add_argument("--path", default="/")
    parser.add_argument("--host", default="api.example")
    parser.add_argument("-H", dest="headers", action="append", default=[])
    parser.add_argument("--raw-headers", action="store_true")
    parser.add_argument("--timeout", type=float, default=10)
    args = parser.parse_args()

    generate(args.protos, args.out)
    import grpc
    from envoy.service.auth.v3 import external_auth_pb2 as auth
    from envoy.service.auth.v3 import external_auth_pb2_grpc as auth_grpc
    from envoy.config.core.v3 import base_pb2 as base

    request = auth.CheckRequest()
    http = request.attributes.request.http
    http.method = args.method
    http.path = args.path
    http.host = args.host
    http.scheme = "https"
    http.protocol = "HTTP/1.1"
    pairs = [(":authority", args.host), (":method", args.method), (":path", args.path)]
    for line in args.headers:
        name, _, value = line.partition(":")
        pairs.append((name.strip().lower(), value.strip()))
    for name, value in pairs:
        if args.raw_headers:
            http.header_map.headers.append(base.HeaderValue(key=name, raw_value=value.encode()))
        elif name in http.headers:
            http.headers[name] += "," + value
        else:
            http.headers[name] = value

    with open(args.cafile, "rb") as handle:
        credentials = grpc.ssl_channel_credentials(root_certificates=handle.read())
    options = [("grpc.ssl_target_name_override", args.server_name)]
    with grpc.secure_channel("127.0.0.1:%d" % args.port, credentials, options=options) as channel:
        stub = auth_grpc.AuthorizationStub(channel)
        try:
            response = stub.Check(request, timeout=args.timeout)
        except grpc.RpcError as error:
            print(json.dumps({"rpc_error": error.code().name, "details": error.details()}))
            return
    result = {"grpc_status": response.status.code, "message": response.status.message}
    if response.HasField("ok_response"):
        result["ok"] = {
            "headers": [[o.header.key, o.header.value, o.append_action] for o in response.ok_response.headers],
            "headers_to_remove": list(response.ok_response.headers_to_remove),
        }
    if response.HasField("denied_response"):
        denied = response.denied_response
        result["denied"] = {
            "status": denied.status.code,
            "headers": [[o.header.key, o.header.value] for o in denied.headers],
            "body": denied.body,
        }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
