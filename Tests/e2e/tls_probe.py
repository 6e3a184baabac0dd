#!/usr/bin/env python3
"""A raw TLS ClientHello prober for the gateway's TLS attack tests (Tests/AuthGatewayTests/Attacks).

  tls_probe.py --port P [--version 0x0303] [--record-version 0x0301] [--cipher 0xc02b]...
               [--compression 0]... [--sni NAME | --sni-hex HEX | --no-sni] [--alpn h2]... [--heartbeat]
               [--padding N] [--partial N] [--timeout S]

Builds one ClientHello byte by byte (nothing in between normalizes it: the point is to offer what a
modern client library refuses to offer), sends it, and prints one JSON object describing the server's
first answer:

  {"outcome": "server_hello" | "alert" | "closed" | "timeout" | "other" (then "received": the bytes),
   "alert": {"level": 2, "description": 70} | null,
   "server_hello": {"version": "0x0303", "cipher": "0xc02b", "compression": 0, "extensions": [...],
                    "supported_version": "0x0304" | null} | null,
   "seconds": 0.01, "sent": N}

--raw TEXT sends TEXT instead of a hello (plaintext on the TLS port). --partial N sends only the first N bytes of the hello and then waits (half-open handshake): the outcome
says whether, and after how long, the server closed. Exit status 0 unless the probe itself failed.
"""

import argparse
import json
import os
import select
import socket
import struct
import sys
import time

# ECDHE-ECDSA-AES128-GCM-SHA256, ECDHE-RSA-AES128-GCM-SHA256, TLS_AES_128_GCM_SHA256.
DEFAULT_CIPHERS = [0xC02B, 0xC02F, 0x1301]


def u8(value):
    return struct.pack(">B", value)


def u16(value):
    return struct.pack(">H", value)


def vector16(data):
    return u16(len(data)) + data


def extension(kind, data):
    return u16(kind) + vector16(data)


def client_hello(args):
    extensions = b""
    if args.sni is not None:
        name = bytes.fromhex(args.sni) if args.sni_is_hex else args.sni.encode("latin-1")
        extensions += extension(0x0000, vector16(u8(0) + vector16(name)))
    extensions += extension(0x000A, vector16(u16(0x001D) + u16(0x0017)))  # x25519, secp256r1
    extensions += extension(0x000B, u8(1) + u8(0))  # uncompressed points
    extensions += extension(0x000D, vector16(b"".join(u16(s) for s in (0x0403, 0x0804, 0x0401))))
    if args.alpn:
        names = b"".join(u8(len(p)) + p.encode("ascii") for p in args.alpn)
        extensions += extension(0x0010, vector16(names))
    if args.heartbeat:
        extensions += extension(0x000F, u8(1))  # peer_allowed_to_send (RFC 6520)
    if args.version >= 0x0303 and any(c >> 8 == 0x13 for c in args.cipher):
        # TLS 1.3: supported_versions and a key share.
        extensions += extension(0x002B, u8(4) + u16(0x0304) + u16(0x0303))
        extensions += extension(0x0033, vector16(u16(0x001D) + vector16(os.urandom(32))))
    if args.padding:
        extensions += extension(0x0015, bytes(args.padding))
    body = u16(args.version) + os.urandom(32) + u8(32) + os.urandom(32)
    body += vector16(b"".join(u16(c) for c in args.cipher))
    body += u8(len(args.compression)) + bytes(args.compression)
    body += vector16(extensions)
    handshake = u8(1) + struct.pack(">I", len(body))[1:] + body
    records = b""
    for start in range(0, len(handshake), 16384):
        piece = handshake[start:start + 16384]
        records += u8(0x16) + u16(args.record_version) + u16(len(piece)) + piece
    return records


def read_exactly(sock, count, deadline):
    data = b""
    while len(data) < count:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return data, "timeout"
        readable, _, _ = select.select([sock], [], [], remaining)
        if not readable:
            continue
        try:
            chunk = sock.recv(count - len(data))
        except OSError:
            return data, "closed"
        if not chunk:
            return data, "closed"
        data += chunk
    return data, None


def parse_server_hello(body):
    version = struct.unpack(">H", body[0:2])[0]
    offset = 2 + 32
    session_length = body[offset]
    offset += 1 + session_length
    cipher = struct.unpack(">H", body[offset:offset + 2])[0]
    compression = body[offset + 2]
    offset += 3
    extensions, supported = [], None
    if offset + 2 <= len(body):
        end = offset + 2 + struct.unpack(">H", body[offset:offset + 2])[0]
        offset += 2
        while offset + 4 <= end:
            kind, length = struct.unpack(">HH", body[offset:offset + 4])
            if kind == 0x002B and length == 2:
                supported = "0x%04x" % struct.unpack(">H", body[offset + 4:offset + 6])[0]
            extensions.append(kind)
            offset += 4 + length
    return {"version": "0x%04x" % version, "cipher": "0x%04x" % cipher, "compression": compression,
            "extensions": extensions, "supported_version": supported}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--version", type=lambda v: int(v, 0), default=0x0303)
    parser.add_argument("--record-version", type=lambda v: int(v, 0), default=0x0301)
    parser.add_argument("--cipher", type=lambda v: int(v, 0), action="append")
    parser.add_argument("--compression", type=int, action="append")
    parser.add_argument("--sni", default="localhost")
    parser.add_argument("--sni-hex")
    parser.add_argument("--no-sni", action="store_true")
    parser.add_argument("--alpn", action="append", default=[])
    parser.add_argument("--heartbeat", action="store_true")
    parser.add_argument("--padding", type=int, default=0)
    parser.add_argument("--partial", type=int)
    parser.add_argument("--timeout", type=float, default=5)
    parser.add_argument("--raw", help="send these bytes (Latin-1) instead of a ClientHello, e.g. plaintext HTTP")
    args = parser.parse_args()
    args.cipher = args.cipher or DEFAULT_CIPHERS
    args.compression = args.compression if args.compression is not None else [0]
    args.sni_is_hex = args.sni_hex is not None
    if args.sni_is_hex:
        args.sni = args.sni_hex
    if args.no_sni:
        args.sni = None

    hello = args.raw.encode("latin-1") if args.raw is not None else client_hello(args)
    payload = hello[:args.partial] if args.partial is not None else hello
    sock = socket.create_connection(("127.0.0.1", args.port), timeout=args.timeout)
    started = time.monotonic()
    deadline = started + args.timeout
    try:
        sock.sendall(payload)
    except OSError:
        pass
    result = {"outcome": None, "alert": None, "server_hello": None, "sent": len(payload)}
    header, problem = read_exactly(sock, 5, deadline)
    if problem:
        result["outcome"] = problem
        if header:
            result["received"] = header.decode("latin-1")
    else:
        kind, _, length = struct.unpack(">BHH", header)
        body, problem = read_exactly(sock, length, deadline)
        if problem:
            result["outcome"] = problem
        elif kind == 0x15 and len(body) >= 2:
            result["outcome"] = "alert"
            result["alert"] = {"level": body[0], "description": body[1]}
        elif kind == 0x16 and body[:1] == b"\x02":
            result["outcome"] = "server_hello"
            result["server_hello"] = parse_server_hello(body[4:])
        else:
            result["outcome"] = "other"
            result["received"] = (header + body)[:200].decode("latin-1")
    result["seconds"] = round(time.monotonic() - started, 3)
    sock.close()
    print(json.dumps(result))


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # the test reads the reason from stderr
        print("tls_probe error: %s: %s" % (type(error).__name__, error), file=sys.stderr)
        sys.exit(2)
