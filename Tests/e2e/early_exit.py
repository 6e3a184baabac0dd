#!/usr/bin/env python3
"""Clients that leave before their exchange is over, for the gateway's early-exit tests
(Tests/AuthGatewayTests/EndToEnd/EarlyExitEndToEndTests.swift).

  early_exit.py --port P --cafile CA --mode MODE [--count N] [--path /public/x] [--token-file F]
                [--after-ms MS] [--timeout S]

Each of the N exchanges starts a request the gateway admits and forwards, then leaves in the way MODE
names, at --after-ms milliseconds after the request was sent (0: at once). Prints one JSON object:
{"mode": ..., "count": N, "left": how many exchanges were left as described, "answered": how many got a
response before leaving (a fast upstream can win the race; the tests slow it down)}.

HTTP/1.1 modes (one TLS connection per exchange):
  h1_fin              GET, then close (TLS close_notify and FIN)
  h1_rst              GET, then a TCP reset (SO_LINGER 0)
  h1_half_close       GET, then shutdown(SHUT_WR) without close_notify, then close
  h1_mid_upload       POST with Content-Length 65536 and 1 KiB of it, then close
  h1_mid_upload_rst   the same, then a TCP reset
  h1_mid_download     GET a large answer, read 4 KiB of it, then close
HTTP/2 modes (one connection; N streams, each left before the next starts):
  h2_rst_after_headers      GET HEADERS (END_STREAM), then RST_STREAM(CANCEL)
  h2_rst_mid_upload         POST HEADERS (content-length 65536), 1 KiB DATA, then RST_STREAM(CANCEL)
  h2_short_content_length   POST HEADERS (content-length 65536), 1 KiB DATA with END_STREAM (malformed: the
                            gateway resets the stream)
  h2_rst_mid_download       GET a large answer, read some of it, then RST_STREAM(CANCEL)
HTTP/2 modes (one connection per exchange):
  h2_close_after_headers    GET HEADERS, then close the connection
  h2_close_mid_upload       POST HEADERS + 1 KiB DATA, then close the connection
  h2_goaway_mid_upload      POST HEADERS + 1 KiB DATA, then GOAWAY(NO_ERROR) and close
"""

import argparse
import json
import os
import socket
import ssl
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import h2.errors  # noqa: E402
from h2_attack import (GOAWAY, Client, block, frame, request_fields)  # noqa: E402

UPLOAD_LENGTH = 65536
PIECE = b"u" * 1024


def tls_connect(args, alpn="http/1.1"):
    context = ssl.create_default_context(cafile=args.cafile)
    context.set_alpn_protocols([alpn])
    raw = socket.create_connection(("127.0.0.1", args.port), timeout=args.timeout)
    return context.wrap_socket(raw, server_hostname="localhost")


def head(method, path, token, extra=()):
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: localhost"]
    if token:
        lines.append("Authorization: Bearer " + token)
    lines += list(extra)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def reset(sock):
    """Closes with a TCP reset: SO_LINGER 0, no close_notify."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    socket.socket.close(sock)


def pause(args):
    if args.after_ms > 0:
        time.sleep(args.after_ms / 1000)


def h1_exchange(args, mode):
    sock = tls_connect(args)
    answered = False
    if mode in ("h1_fin", "h1_rst", "h1_half_close"):
        sock.sendall(head("GET", args.path, args.token))
    elif mode in ("h1_mid_upload", "h1_mid_upload_rst"):
        sock.sendall(head("POST", args.path, args.token, ["Content-Length: %d" % UPLOAD_LENGTH]) + PIECE)
    elif mode == "h1_mid_download":
        sock.sendall(head("GET", args.path, args.token))
        received = 0
        sock.settimeout(args.timeout)
        while received < 4096:
            data = sock.recv(4096)
            if not data:
                break
            received += len(data)
        answered = received > 0
    pause(args)
    if mode in ("h1_rst", "h1_mid_upload_rst"):
        reset(sock)
    elif mode == "h1_half_close":
        socket.socket.shutdown(sock, socket.SHUT_WR)  # FIN without close_notify
        time.sleep(0.05)
        socket.socket.close(sock)
    else:
        sock.settimeout(1)
        try:
            sock.unwrap()  # close_notify, then FIN
        except (ssl.SSLError, OSError):
            pass
        sock.close()
    return answered


def h2_client(args):
    client = Client(args)
    if client.alpn != "h2":
        raise SystemExit("the gateway did not negotiate h2")
    client.start()
    return client


def upload_fields(args):
    return request_fields(method="POST", path=args.path,
                          extra=[("content-length", str(UPLOAD_LENGTH))] + token_fields(args))


def token_fields(args):
    return [("authorization", "Bearer " + args.token)] if args.token else []


def h2_stream_exchange(client, args, mode):
    """One stream on a shared connection, left as `mode` says; returns whether it got an answer first."""
    stream_id = client.new_stream_id()
    if mode == "h2_rst_after_headers":
        client.headers(stream_id, request_fields(path=args.path, extra=token_fields(args)), end_stream=True)
    elif mode in ("h2_rst_mid_upload", "h2_short_content_length"):
        client.headers(stream_id, upload_fields(args), end_stream=False)
        client.data(stream_id, PIECE, end_stream=mode == "h2_short_content_length")
    elif mode == "h2_rst_mid_download":
        client.headers(stream_id, request_fields(path=args.path, extra=token_fields(args)), end_stream=True)
        client.wait(lambda: len(client.stream(stream_id).body) > 0 or client.stream(stream_id).done)
    pause(args)
    client.pump(0)
    stream = client.stream(stream_id)
    answered = stream.status is not None
    if mode != "h2_short_content_length" and not stream.done:
        client.rst(stream_id)
    return answered


def h2_connection_exchange(args, mode):
    client = h2_client(args)
    stream_id = client.new_stream_id()
    if mode == "h2_close_after_headers":
        client.headers(stream_id, request_fields(path=args.path, extra=token_fields(args)), end_stream=True)
    else:
        client.headers(stream_id, upload_fields(args), end_stream=False)
        client.data(stream_id, PIECE, end_stream=False)
    pause(args)
    client.pump(0)
    answered = client.stream(stream_id).status is not None
    if mode == "h2_goaway_mid_upload":
        client.send(frame(GOAWAY, 0, 0, struct.pack(">II", stream_id, h2.errors.ErrorCodes.NO_ERROR)))
    client.sock.close()
    return answered


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cafile", required=True)
    parser.add_argument("--mode", required=True)
    parser.add_argument("--count", type=int, default=16)
    parser.add_argument("--path", default="/public/x")
    parser.add_argument("--token-file")
    parser.add_argument("--after-ms", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=10)
    args = parser.parse_args()
    args.token = open(args.token_file).read().strip() if args.token_file else None
    answered = 0
    if args.mode.startswith("h1_"):
        for _ in range(args.count):
            answered += h1_exchange(args, args.mode)
    elif args.mode in ("h2_rst_after_headers", "h2_rst_mid_upload", "h2_short_content_length", "h2_rst_mid_download"):
        client = h2_client(args)
        for _ in range(args.count):
            answered += h2_stream_exchange(client, args, args.mode)
        client.barrier()
        client.sock.close()
    elif args.mode in ("h2_close_after_headers", "h2_close_mid_upload", "h2_goaway_mid_upload"):
        for _ in range(args.count):
            answered += h2_connection_exchange(args, args.mode)
    else:
        raise SystemExit("unknown mode " + args.mode)
    print(json.dumps({"mode": args.mode, "count": args.count, "left": args.count, "answered": answered}))


if __name__ == "__main__":
    main()
