#!/usr/bin/env python3
"""A recording HTTP/1.1 upstream for the gateway's end-to-end tests.

Listens on 127.0.0.1 (port 0 unless --port), prints the bound port as the first line of stdout, and
appends one JSON line per event to RECORDS (flushed at once, so the tests can read it while it runs):

  {"event": "connection", "conn": 1, "peer": "127.0.0.1:40000"}
  {"event": "request", "conn": 1, "seq": 1, "request_line": "GET /x HTTP/1.1",
   "headers": [["Host", "a"], ...], "body_length": 0, "body_sha256": "e3b0...", "chunked": false,
   "trailers": []}
  {"event": "head", "conn": 1, "request_line": "POST /x HTTP/1.1"}   (a head was read; its body comes next)
  {"event": "incomplete", "conn": 1, "reason": "...", "request_line": ..., "body_length": N}
  {"event": "bytes", "conn": 1, "data": "..."}          (only with --canary)

Headers are recorded exactly as sent: the raw name and value of every line, in order, duplicates kept; so
are the trailer fields of a chunked body (the gateway never forwards any: the tests check that they are empty).
Request bodies may be framed by Content-Length or by chunked transfer coding; keep-alive is honoured.

Behaviour:
  --delay-ms N         wait N ms after the request before answering
  --status N           answer with status N (default 200)
  --response-bytes N   answer with an N-byte body streamed in 64 KiB writes (instead of the JSON echo)
  --name X             echoed in the body and in an X-Upstream-Name header
  --cut-after-bytes N  with --response-bytes, for requests whose target starts with --cut-path: send the
                       head and N body bytes, then reset the connection (an upstream that dies mid-answer)
  --canary             record the connection and the first bytes, then close: nothing should come here
  --read-rate N        read request bodies at about N bytes per second, with a small receive buffer (an
                       upstream that takes uploads slowly: the gateway must wait for it, not blame the client)

Raw sockets and asyncio only: no framework between the gateway's bytes and the record.
"""

import argparse
import asyncio
import hashlib
import json
import socket
import sys

REASONS = {200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request", 404: "Not Found",
           500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}
MAX_HEAD = 1 << 20
CHUNK = 64 * 1024


class Recorder:
    def __init__(self, path):
        self.file = open(path, "a", encoding="utf-8")
        self.connections = 0
        self.requests = 0

    def write(self, record):
        self.file.write(json.dumps(record, separators=(",", ":")) + "\n")
        self.file.flush()  # one write per record: a reader never sees half a line for long


class BadRequest(Exception):
    pass


async def read_head(reader):
    """The request line and raw header lines, or None at a clean end of the connection."""
    try:
        data = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as error:
        if not error.partial:
            return None
        raise BadRequest("connection closed inside the head: %r" % error.partial[:200])
    except asyncio.LimitOverrunError:
        raise BadRequest("head too large")
    lines = data[:-4].split(b"\r\n")
    request_line = lines[0].decode("latin-1")
    headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep:
            raise BadRequest("header line without a colon: %r" % line[:200])
        headers.append([name.decode("latin-1"), value.strip(b" \t").decode("latin-1")])
    return request_line, headers


def header_values(headers, name):
    return [value for key, value in headers if key.lower() == name]


READ_RATE = None


async def read_some(reader, limit):
    """Up to `limit` bytes; at most READ_RATE bytes per second when it is set."""
    if READ_RATE is None:
        return await reader.read(limit)
    data = await reader.read(min(limit, 16 * 1024))
    await asyncio.sleep(len(data) / READ_RATE)
    return data


async def read_body(reader, headers, digest, trailers):
    """Reads the body into `digest` and a chunked body's trailer fields into `trailers`; returns (length, chunked)."""
    if any("chunked" in value.lower() for value in header_values(headers, "transfer-encoding")):
        length = 0
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0].strip(), 16)
            if size == 0:
                while True:
                    line = await reader.readuntil(b"\r\n")
                    if line == b"\r\n":
                        return length, True
                    name, _, value = line[:-2].partition(b":")
                    trailers.append([name.decode("latin-1"), value.strip(b" \t").decode("latin-1")])
            remaining = size
            while remaining:
                data = await read_some(reader, min(remaining, 1 << 20))
                if not data:
                    raise BadRequest("connection closed inside a chunk")
                digest.update(data)
                remaining -= len(data)
            length += size
            if await reader.readexactly(2) != b"\r\n":
                raise BadRequest("chunk not followed by CRLF")
    lengths = header_values(headers, "content-length")
    if not lengths:
        return 0, False
    if len(set(lengths)) != 1:
        raise BadRequest("conflicting Content-Length: %r" % lengths)
    remaining = int(lengths[0])
    total = remaining
    while remaining:
        data = await read_some(reader, min(remaining, 1 << 20))
        if not data:
            raise BadRequest("connection closed inside the body")
        digest.update(data)
        remaining -= len(data)
    return total, False


async def respond(writer, args, record, keep_alive):
    status = args.status
    head = ["HTTP/1.1 %d %s" % (status, REASONS.get(status, "Status"))]
    if args.name:
        head.append("X-Upstream-Name: %s" % args.name)
    head.append("Connection: %s" % ("keep-alive" if keep_alive else "close"))
    is_head = record["request_line"].startswith("HEAD ")
    if args.response_bytes is not None:
        head += ["Content-Type: application/octet-stream", "Content-Length: %d" % args.response_bytes]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        if not is_head:
            block = bytes(range(256)) * (CHUNK // 256)
            remaining = args.response_bytes
            target = record["request_line"].split(" ")[1] if " " in record["request_line"] else ""
            if args.cut_after_bytes is not None and target.startswith(args.cut_path):
                remaining = min(remaining, args.cut_after_bytes)
                while remaining:
                    part = block[: min(remaining, CHUNK)]
                    writer.write(part)
                    remaining -= len(part)
                await writer.drain()
                raise ConnectionResetError("cut on purpose")
            while remaining:
                part = block[: min(remaining, CHUNK)]
                writer.write(part)
                remaining -= len(part)
                await writer.drain()  # backpressure: the gateway's reads pace us
    else:
        body = json.dumps({
            "name": args.name, "conn": record["conn"], "seq": record["seq"],
            "request_line": record["request_line"], "headers": record["headers"],
            "body_length": record["body_length"], "body_sha256": record["body_sha256"],
        }).encode("utf-8")
        head += ["Content-Type: application/json", "Content-Length: %d" % len(body)]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + (b"" if is_head else body))
    await writer.drain()


async def serve_connection(reader, writer, args, recorder):
    recorder.connections += 1
    conn = recorder.connections
    peer = writer.get_extra_info("peername")
    recorder.write({"event": "connection", "conn": conn, "peer": "%s:%s" % (peer[0], peer[1])})
    try:
        if args.canary:
            try:
                data = await asyncio.wait_for(reader.read(4096), 1.0)
            except asyncio.TimeoutError:
                data = b""
            if data:
                recorder.write({"event": "bytes", "conn": conn, "data": data.decode("latin-1")})
            return
        while True:
            request_line = None
            length = 0
            try:
                head = await read_head(reader)
                if head is None:
                    return
                request_line, headers = head
                recorder.write({"event": "head", "conn": conn, "request_line": request_line})
                digest = hashlib.sha256()
                trailers = []
                length, chunked = await read_body(reader, headers, digest, trailers)
            except (BadRequest, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                    ConnectionError) as error:
                recorder.write({"event": "incomplete", "conn": conn, "reason": str(error)[:300],
                                "request_line": request_line, "body_length": length})
                return
            recorder.requests += 1
            record = {"event": "request", "conn": conn, "seq": recorder.requests, "request_line": request_line,
                      "headers": headers, "body_length": length, "body_sha256": digest.hexdigest(),
                      "chunked": chunked, "trailers": trailers}
            recorder.write(record)
            keep_alive = not any(v.lower() == "close" for v in header_values(headers, "connection"))
            if args.delay_ms:
                await asyncio.sleep(args.delay_ms / 1000)
            await respond(writer, args, record, keep_alive)
            if not keep_alive:
                return
    except (ConnectionError, asyncio.CancelledError):
        if writer.transport is not None and not writer.transport.is_closing():
            writer.transport.abort()
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("records")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay-ms", type=int, default=0)
    parser.add_argument("--status", type=int, default=200)
    parser.add_argument("--response-bytes", type=int, default=None)
    parser.add_argument("--name", default="")
    parser.add_argument("--canary", action="store_true")
    parser.add_argument("--cut-after-bytes", type=int, default=None)
    parser.add_argument("--cut-path", default="/public/cut")
    parser.add_argument("--read-rate", type=int, default=None)
    args = parser.parse_args()
    global READ_RATE
    READ_RATE = args.read_rate
    recorder = Recorder(args.records)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if READ_RATE is not None:
        # A fixed, small receive buffer (inherited by accepted sockets): the kernel cannot absorb the body.
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024)
    listener.bind(("127.0.0.1", args.port))
    server = await asyncio.start_server(
        lambda r, w: serve_connection(r, w, args, recorder), sock=listener,
        limit=MAX_HEAD if READ_RATE is None else 64 * 1024)
    port = server.sockets[0].getsockname()[1]
    sys.stdout.write("%d\n" % port)
    sys.stdout.flush()
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
