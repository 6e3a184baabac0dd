#!/usr/bin/env python3
"""Clients that hold the gateway at their own pace, for the slow-client tests
(Tests/AuthGatewayTests/EndToEnd/SlowClientEndToEndTests.swift).

  slow_clients.py --port P --cafile CA --kind KIND [--connections N] [--streams S] [--source 127.0.0.2]
                  [--hold SECONDS] [--stop-file F] [--path P] [--token-file F] [--ready-file F]

Opens the connections (from --source, another loopback address, so that the gateway can tell them from
ordinary clients), does what KIND says, keeps everything open until --stop-file appears or --hold seconds pass (at most 120),
then closes
and prints one JSON object: {"kind", "connections": opened, "streams": opened, "bytes_sent", "responses":
response heads seen, "resets": streams the server reset, "closed_by_server": connections the server
closed}. --ready-file is created once every connection has done its first step.

Kinds:
  slow_upload        HTTP/1.1 POST with Content-Length 1000, then one body byte every --interval seconds
  h2_header_only     HTTP/2, S streams per connection: POST HEADERS with content-length 1000, no DATA ever
  h2_zero_window     HTTP/2 with SETTINGS_INITIAL_WINDOW_SIZE 0, S streams per connection asking for --path
                     (a large answer), never a WINDOW_UPDATE: the server cannot send one byte of body
  h1_pipeline        HTTP/1.1, S GET requests pipelined at once per connection, never reading an answer
"""

import argparse
import asyncio
import json
import os
import socket
import ssl
import time

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings

RESULT = {"connections": 0, "streams": 0, "bytes_sent": 0, "responses": 0, "resets": 0, "closed_by_server": 0}
STOP = None  # an asyncio.Event set when the stop file appears or the hold time is over


async def watch_stop(args, deadline):
    while time.monotonic() < deadline and not (args.stop_file and os.path.exists(args.stop_file)):
        await asyncio.sleep(0.1)
    STOP.set()


def tls_context(args, alpn):
    context = ssl.create_default_context(cafile=args.cafile)
    context.set_alpn_protocols([alpn])
    return context


async def connect(args, alpn):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    sock.bind((args.source, 0))
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", args.port))
    reader, writer = await asyncio.open_connection(
        sock=sock, ssl=tls_context(args, alpn), server_hostname="localhost", ssl_handshake_timeout=10)
    RESULT["connections"] += 1
    return reader, writer


def authorization(args):
    return "Authorization: Bearer %s\r\n" % args.token if args.token else ""


async def watch_close(reader):
    """Reads (and drops) whatever comes until the server closes."""
    try:
        while await reader.read(65536):
            pass
        RESULT["closed_by_server"] += 1
    except (ConnectionError, ssl.SSLError, OSError):
        RESULT["closed_by_server"] += 1


async def slow_upload(args, ready, deadline):
    reader, writer = await connect(args, "http/1.1")
    head = "POST %s HTTP/1.1\r\nHost: localhost\r\n%sContent-Length: 1000\r\n\r\n" % (args.path, authorization(args))
    writer.write(head.encode())
    await writer.drain()
    RESULT["streams"] += 1
    ready()
    closed = asyncio.ensure_future(watch_close(reader))
    sent = 0
    while not STOP.is_set() and sent < 999 and not closed.done():
        try:
            await asyncio.wait_for(STOP.wait(), timeout=args.interval)
            break
        except asyncio.TimeoutError:
            pass
        try:
            writer.write(b"x")
            await writer.drain()
        except (ConnectionError, ssl.SSLError, OSError):
            break
        sent += 1
        RESULT["bytes_sent"] += 1
    await hold_then_close(writer, closed, deadline)


async def h1_pipeline(args, ready, deadline):
    reader, writer = await connect(args, "http/1.1")
    request = ("GET %s HTTP/1.1\r\nHost: localhost\r\n%s\r\n" % (args.path, authorization(args))).encode()
    payload = request * args.streams
    writer.write(payload)
    RESULT["streams"] += args.streams
    RESULT["bytes_sent"] += len(payload)
    ready()
    # Never read: the transport buffers what the gateway sends until the kernel's buffers are full.
    writer.transport.pause_reading()
    closed = asyncio.ensure_future(STOP.wait())
    await hold_then_close(writer, closed, deadline)


class H2:
    def __init__(self, reader, writer, window):
        config = h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
        self.connection = h2.connection.H2Connection(config=config)
        self.reader, self.writer = reader, writer
        settings = {h2.settings.SettingCodes.ENABLE_PUSH: 0}
        if window is not None:
            settings[h2.settings.SettingCodes.INITIAL_WINDOW_SIZE] = window
        self.connection.local_settings = h2.settings.Settings(client=True, initial_values=settings)
        self.connection.initiate_connection()
        self.flush()

    def flush(self):
        data = self.connection.data_to_send()
        if data:
            self.writer.write(data)
            RESULT["bytes_sent"] += len(data)

    async def pump(self, deadline):
        """Handles the server's frames (SETTINGS, PING, HEADERS, resets) without ever opening a window."""
        try:
            while not STOP.is_set():
                data = await asyncio.wait_for(self.reader.read(65536), timeout=0.2)
                if not data:
                    RESULT["closed_by_server"] += 1
                    return
                for event in self.connection.receive_data(data):
                    if isinstance(event, h2.events.ResponseReceived):
                        RESULT["responses"] += 1
                    elif isinstance(event, h2.events.StreamReset):
                        RESULT["resets"] += 1
                self.flush()
        except asyncio.TimeoutError:
            return await self.pump(deadline) if not STOP.is_set() else None
        except (ConnectionError, ssl.SSLError, OSError, h2.exceptions.ProtocolError):
            RESULT["closed_by_server"] += 1


async def h2_streams(args, ready, deadline, kind):
    reader, writer = await connect(args, "h2")
    client = H2(reader, writer, 0 if kind == "h2_zero_window" else None)
    pump = asyncio.ensure_future(client.pump(deadline))
    await asyncio.sleep(0.2)  # the server's SETTINGS (its stream limit) first
    for _ in range(args.streams):
        stream_id = client.connection.get_next_available_stream_id()
        headers = [(":method", "POST" if kind == "h2_header_only" else "GET"), (":scheme", "https"),
                   (":path", args.path), (":authority", "localhost")]
        if args.token:
            headers.append(("authorization", "Bearer " + args.token))
        if kind == "h2_header_only":
            headers.append(("content-length", "1000"))
        try:
            client.connection.send_headers(stream_id, headers, end_stream=kind != "h2_header_only")
        except h2.exceptions.TooManyStreamsError:
            break
        RESULT["streams"] += 1
    client.flush()
    await writer.drain()
    ready()
    await hold_then_close(writer, pump, deadline)


async def hold_then_close(writer, watcher, deadline):
    stop = asyncio.ensure_future(STOP.wait())
    await asyncio.wait([watcher, stop], return_when=asyncio.FIRST_COMPLETED)
    watcher.cancel()
    stop.cancel()
    writer.transport.abort()


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cafile", required=True)
    parser.add_argument("--kind", required=True)
    parser.add_argument("--connections", type=int, default=10)
    parser.add_argument("--streams", type=int, default=1)
    parser.add_argument("--source", default="127.0.0.2")
    parser.add_argument("--hold", type=float, default=10)
    parser.add_argument("--stop-file")
    parser.add_argument("--interval", type=float, default=2)
    parser.add_argument("--path", default="/upload/x")
    parser.add_argument("--token-file")
    parser.add_argument("--ready-file")
    args = parser.parse_args()
    args.token = open(args.token_file).read().strip() if args.token_file else None
    deadline = time.monotonic() + min(args.hold, 120)
    global STOP
    STOP = asyncio.Event()
    stopper = asyncio.ensure_future(watch_stop(args, deadline))
    remaining = [args.connections]

    def ready():
        remaining[0] -= 1
        if remaining[0] == 0 and args.ready_file:
            open(args.ready_file, "w").close()

    kinds = {
        "slow_upload": slow_upload,
        "h1_pipeline": h1_pipeline,
        "h2_header_only": lambda a, r, d: h2_streams(a, r, d, "h2_header_only"),
        "h2_zero_window": lambda a, r, d: h2_streams(a, r, d, "h2_zero_window"),
    }
    run = kinds[args.kind]
    tasks = []
    for _ in range(args.connections):
        tasks.append(asyncio.ensure_future(run(args, ready, deadline)))
        await asyncio.sleep(0.005)  # within the gateway's accept backlog
    results = await asyncio.gather(*tasks, return_exceptions=True)
    stopper.cancel()
    errors = [repr(result) for result in results if isinstance(result, BaseException)]
    print(json.dumps(dict(RESULT, kind=args.kind, errors=errors[:5], error_count=len(errors))), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
