#!/usr/bin/env python3
"""HTTP/2 attack client for the gateway's end-to-end attack tests (Tests/AuthGatewayTests/Attacks).

  h2_attack.py --port P --cafile CA SCENARIO [--token-file F] [--count N] [--timeout S] [--no-follow-up]
  h2_attack.py --list

Connects over TLS with ALPN h2 (Python's ssl), sends the named scenario as exact frames, reads what
comes back and prints one JSON object on stdout:

  {"scenario": "...", "alpn": "h2",
   "streams": {"1": {"status": 400, "headers": [[name, value], ...], "body": "...", "body_length": N,
                     "ended": true, "reset": null}, "3": {"status": null, ..., "reset": "PROTOCOL_ERROR"}},
   "goaway": {"error": "PROTOCOL_ERROR", "last_stream_id": 1, "debug": "..."} | null,
   "closed_by_server": true, "counts": {"frames_sent": N, "rst_received": N, "headers_received": N, ...},
   "follow_up": {...same as a stream...} | null, "raw": "..." (HTTP/1.1 scenarios only)}

Frames are serialized here byte by byte and header blocks are HPACK-encoded by hand (literal fields
without indexing unless a scenario says otherwise), so that nothing normalizes away the malformed
inputs under test; the server's frames are parsed with `hyperframe` and its header blocks decoded
with `hpack` (both part of the `h2` package, whose error and setting codes name what we print).
The token, when a scenario needs one, is read from --token-file and never printed.

"follow_up": unless --no-follow-up, a scenario that leaves the connection open (no GOAWAY, not
closed) is followed by a normal `GET /public/follow-up` on the same connection, proving it is still
usable. Exit status 0 unless the client itself failed (the reason goes to stderr).
"""

import argparse
import json
import select
import socket
import ssl
import struct
import sys
import time

import h2.errors
import h2.settings
import hpack
from hyperframe.frame import (ContinuationFrame, DataFrame, Frame, GoAwayFrame, HeadersFrame, PingFrame,
                              RstStreamFrame, SettingsFrame)

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = range(10)
END_STREAM, ACK, END_HEADERS, PADDED, PRIORITY_FLAG = 0x1, 0x1, 0x4, 0x8, 0x20


def error_name(code):
    try:
        return h2.errors.ErrorCodes(code).name
    except ValueError:
        return "UNKNOWN_%d" % code


# MARK: - Encoding


def frame(kind, flags, stream_id, payload=b""):
    """One frame exactly as given: 24-bit length, type, flags, R bit + 31-bit stream id, payload."""
    length = len(payload)
    return struct.pack(">BHBBI", length >> 16, length & 0xFFFF, kind, flags, stream_id & 0xFFFFFFFF) + payload


def hpack_int(value, prefix_bits, first_byte_flags=0):
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first_byte_flags | value])
    out = bytearray([first_byte_flags | limit])
    value -= limit
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def hpack_string(data):
    if isinstance(data, str):
        data = data.encode("latin-1")
    return hpack_int(len(data), 7) + data


def literal(name, value, indexing=False):
    """A literal field with a literal name: without indexing (0x00), or with incremental indexing (0x40)."""
    return (b"\x40" if indexing else b"\x00") + hpack_string(name) + hpack_string(value)


def block(fields):
    """An HPACK block from (name, value) pairs, names and values byte for byte as given."""
    return b"".join(literal(name, value) for name, value in fields)


def request_fields(method="GET", path="/public/x", authority="localhost", scheme="https", extra=()):
    fields = [(":method", method), (":scheme", scheme), (":path", path), (":authority", authority)]
    return fields + list(extra)


# MARK: - The connection


class Stream:
    def __init__(self, stream_id):
        self.id = stream_id
        self.status = None
        self.headers = []
        self.body = bytearray()
        self.ended = False
        self.reset = None

    @property
    def done(self):
        return self.ended or self.reset is not None

    def to_json(self):
        return {"status": self.status, "headers": self.headers, "body": bytes(self.body[:4096]).decode("latin-1"),
                "body_length": len(self.body), "ended": self.ended, "reset": self.reset}


class Client:
    def __init__(self, args, alpn="h2"):
        self.args = args
        context = ssl.create_default_context(cafile=args.cafile)
        context.set_alpn_protocols([alpn])
        self.connected_at = time.monotonic()
        raw = socket.create_connection(("127.0.0.1", args.port), timeout=args.timeout)
        self.sock = context.wrap_socket(raw, server_hostname="localhost")
        self.sock.setblocking(False)
        self.alpn = self.sock.selected_alpn_protocol()
        self.buffer = bytearray()
        self.decoder = hpack.Decoder()
        self.decoder.max_header_list_size = 1 << 24
        self.streams = {}
        self.goaway = None
        self.closed = False
        self.next_stream_id = 1
        self.pending_block = None  # (stream id, fragments) while the server's CONTINUATION frames arrive
        self.settings = {}  # the server's SETTINGS, by name
        self.counts = {"frames_sent": 0, "bytes_sent": 0, "frames_received": 0, "rst_received": 0,
                       "headers_received": 0, "settings_received": 0, "ping_acks_received": 0,
                       "window_updates_received": 0, "send_failed": 0}
        self.raw = bytearray()

    # Sending

    def send(self, data, frames=1):
        if self.closed:
            self.counts["send_failed"] += 1
            return False
        view = memoryview(data)
        deadline = time.monotonic() + self.args.timeout
        while view:
            try:
                sent = self.sock.send(view)
                view = view[sent:]
            except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
                # Keep reading while the server's window is closed so that neither side blocks.
                self.pump(0.05)
                if self.closed or time.monotonic() > deadline:
                    self.counts["send_failed"] += 1
                    return False
            except (ssl.SSLError, OSError):
                self.closed = True
                self.counts["send_failed"] += 1
                return False
        self.counts["frames_sent"] += frames
        self.counts["bytes_sent"] += len(data)
        return True

    def start(self, settings=b""):
        """The connection preface, then the server's SETTINGS acknowledged before any scenario frame, so
        that our SETTINGS ACK never lands inside a scenario's frame sequence (a header block must be
        contiguous, RFC 9113 §6.10)."""
        self.send(PREFACE, frames=0)
        self.send(frame(SETTINGS, 0, 0, settings))
        self.wait(lambda: self.counts["settings_received"] > 0, timeout=5)

    def new_stream_id(self):
        stream_id = self.next_stream_id
        self.next_stream_id += 2
        return stream_id

    def stream(self, stream_id):
        if stream_id not in self.streams:
            self.streams[stream_id] = Stream(stream_id)
        return self.streams[stream_id]

    def headers(self, stream_id, fields_or_block, end_stream=True, end_headers=True, track=True):
        data = fields_or_block if isinstance(fields_or_block, bytes) else block(fields_or_block)
        flags = (END_STREAM if end_stream else 0) | (END_HEADERS if end_headers else 0)
        if track:
            self.stream(stream_id)
        return self.send(frame(HEADERS, flags, stream_id, data))

    def data(self, stream_id, payload, end_stream=True):
        return self.send(frame(DATA, END_STREAM if end_stream else 0, stream_id, payload))

    def rst(self, stream_id, code=h2.errors.ErrorCodes.CANCEL):
        return self.send(frame(RST_STREAM, 0, stream_id, struct.pack(">I", code)))

    def request(self, fields=None, body=None, **kwargs):
        stream_id = self.new_stream_id()
        self.headers(stream_id, fields or request_fields(**kwargs), end_stream=body is None)
        if body is not None:
            self.data(stream_id, body)
        return stream_id

    # Receiving

    def pump(self, timeout):
        """Reads what arrives within `timeout` seconds and handles every complete frame."""
        if self.closed:
            return
        readable, _, _ = select.select([self.sock], [], [], max(timeout, 0))
        if not readable and not self.sock.pending():
            return
        while True:
            try:
                data = self.sock.recv(65536)
            except (ssl.SSLWantReadError, BlockingIOError):
                break
            except (ssl.SSLError, OSError):
                self.closed = True
                break
            if not data:
                self.closed = True
                break
            self.buffer += data
            if not self.sock.pending():
                break
        self.parse()

    def parse(self):
        while len(self.buffer) >= 9:
            header, length = Frame.parse_frame_header(memoryview(self.buffer[:9]))
            if len(self.buffer) < 9 + length:
                return
            body = bytes(self.buffer[9:9 + length])
            del self.buffer[:9 + length]
            header.parse_body(memoryview(body))
            self.handle(header)

    def handle(self, received):
        self.counts["frames_received"] += 1
        if isinstance(received, SettingsFrame):
            if "ACK" not in received.flags:
                self.counts["settings_received"] += 1
                for code, value in received.settings.items():
                    try:
                        self.settings[h2.settings.SettingCodes(code).name] = value
                    except ValueError:
                        self.settings[str(code)] = value
                self.send(frame(SETTINGS, ACK, 0))
            else:
                self.counts["settings_acks_received"] = self.counts.get("settings_acks_received", 0) + 1
        elif isinstance(received, PingFrame):
            if "ACK" in received.flags:
                self.counts["ping_acks_received"] += 1
            else:
                self.send(frame(PING, ACK, 0, received.opaque_data))
        elif isinstance(received, (HeadersFrame, ContinuationFrame)):
            if isinstance(received, HeadersFrame):
                self.pending_block = (received.stream_id, bytearray(received.data), "END_STREAM" in received.flags)
            else:
                self.pending_block[1].extend(received.data)
            if "END_HEADERS" in received.flags:
                stream_id, fragment, end_stream = self.pending_block
                self.pending_block = None
                self.counts["headers_received"] += 1
                fields = self.decoder.decode(bytes(fragment), raw=True)
                stream = self.stream(stream_id)
                for name, value in fields:
                    name, value = name.decode("latin-1"), value.decode("latin-1")
                    if name == ":status":
                        stream.status = int(value)
                    else:
                        stream.headers.append([name, value])
                if end_stream:
                    stream.ended = True
        elif isinstance(received, DataFrame):
            stream = self.stream(received.stream_id)
            stream.body += received.data
            if "END_STREAM" in received.flags:
                stream.ended = True
            consumed = received.flow_controlled_length
            if consumed:
                increment = struct.pack(">I", consumed)
                self.send(frame(WINDOW_UPDATE, 0, 0, increment) + frame(WINDOW_UPDATE, 0, received.stream_id, increment), 2)
        elif isinstance(received, RstStreamFrame):
            self.counts["rst_received"] += 1
            self.stream(received.stream_id).reset = error_name(received.error_code)
        elif isinstance(received, GoAwayFrame):
            self.goaway = {"error": error_name(received.error_code), "last_stream_id": received.last_stream_id,
                           "debug": received.additional_data.decode("latin-1")}
        elif received.type == WINDOW_UPDATE:
            self.counts["window_updates_received"] += 1

    def wait(self, condition, timeout=None):
        """Pumps until `condition()` holds, the server closes, or `timeout` (default --timeout) passes."""
        deadline = time.monotonic() + (self.args.timeout if timeout is None else timeout)
        while not condition() and not self.closed:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                # One last look at what already arrived: on a loaded machine this process may have been
                # descheduled past the deadline with the answer (or the close) waiting in the socket.
                self.pump(0)
                return condition()
            self.pump(min(remaining, 0.1))
        return condition()

    def wait_streams(self, stream_ids, timeout=None):
        return self.wait(lambda: self.goaway is not None or all(self.stream(s).done for s in stream_ids), timeout)

    def barrier(self):
        """PING and wait for its ACK (or GOAWAY): the server handles frames in order, so afterwards every
        frame sent before has been processed, and any GOAWAY it caused has arrived."""
        acks = self.counts["ping_acks_received"]
        self.send(frame(PING, 0, 0, b"barrier!"))
        self.wait(lambda: self.goaway is not None or self.counts["ping_acks_received"] > acks)

    def finish(self):
        """After a GOAWAY reporting an error the server closes: wait (bounded by --timeout, and the server's own
        linger of 2 s closes it even if we never answer) to see it. A loaded machine can take longer than the
        linger to deliver the close, so the wait is the general one, not the linger. A graceful GOAWAY
        (NO_ERROR) leaves the connection open: a short look is enough."""
        if self.goaway is not None:
            started = time.monotonic()
            self.wait(lambda: False, timeout=None if self.goaway["error"] != "NO_ERROR" else 2)
            self.counts["ms_goaway_to_close"] = int((time.monotonic() - started) * 1000) if self.closed else -1

    def result(self, scenario, follow_up=None):
        return {"scenario": scenario, "alpn": self.alpn,
                "streams": {str(k): v.to_json() for k, v in sorted(self.streams.items())},
                "goaway": self.goaway, "closed_by_server": self.closed, "counts": self.counts, "settings": self.settings,
                "follow_up": follow_up, "raw": self.raw.decode("latin-1") if self.raw else None}

    def follow_up(self):
        """A normal request on the same connection: is it still usable?"""
        if self.closed or self.goaway is not None:
            return None
        stream_id = self.request(path="/probe/follow-up")
        self.wait_streams([stream_id])
        stream = self.streams.pop(stream_id)
        return stream.to_json()


# MARK: - Scenarios
#
# Each scenario sends its frames and waits for what it needs; the caller prints the result. `ctx` holds
# the client, the parsed arguments and the token. A scenario returns False to suppress the follow-up.

SCENARIOS = {}


def scenario(name, follow_up=True):
    def register(function):
        SCENARIOS[name] = (function, follow_up)
        return function
    return register


def simple(fields, body=None, end_stream=None):
    """One request with the given fields (and optional DATA); waits for its end or reset."""
    def run(c, args):
        stream_id = c.new_stream_id()
        c.headers(stream_id, fields(args), end_stream=body is None if end_stream is None else end_stream)
        if body is not None:
            c.data(stream_id, body)
        c.wait_streams([stream_id])
    return run


def bearer(args):
    return [("authorization", "Bearer " + args.token)] if args.token else []


def add_field_case(name, extra, path="/public/x", method="GET"):
    scenario(name)(simple(lambda args: request_fields(method=method, path=path.replace("{evil}", args.evil), extra=extra)))


# Baseline: a well-formed request.
add_field_case("baseline", [])
scenario("streamed_post")(simple(lambda args: request_fields(method="POST", path="/upload/x", extra=bearer(args)), body=b"hello"))
scenario("baseline_token")(simple(lambda args: request_fields(path="/api/data/x", extra=bearer(args))))

# the attack catalogue: uppercase names, connection-specific fields, CR/LF/NUL in values (RFC 9113 §8.2, §8.2.1, §8.2.2).
add_field_case("uppercase_name", [("X-Upper", "1")])
add_field_case("uppercase_authorization", [("Authorization", "Bearer x")])
add_field_case("connection_header", [("connection", "keep-alive")])
add_field_case("keep_alive_header", [("keep-alive", "timeout=5")])
add_field_case("proxy_connection_header", [("proxy-connection", "keep-alive")])
add_field_case("transfer_encoding_header", [("transfer-encoding", "chunked")])
add_field_case("upgrade_header", [("upgrade", "websocket")])
add_field_case("te_gzip", [("te", "gzip")])
add_field_case("te_trailers", [("te", "trailers")])
add_field_case("value_crlf_injection", [("x-note", "a\r\nx-user-id: admin")])
add_field_case("value_lf", [("x-note", "a\nx-user-id: admin")])
add_field_case("value_cr", [("x-note", "a\rb")])
add_field_case("value_nul", [("x-note", "a\x00b")])
add_field_case("value_request_injection",
               [("x-note", "a\r\n\r\nGET /admin/x HTTP/1.1\r\nHost: localhost\r\nX-User-Id: admin\r\n\r\n")])
add_field_case("name_with_colon", [("x-a:b", "1")])
add_field_case("name_with_space", [("x a", "1")])
add_field_case("empty_name", [("", "1")])

# :path (RFC 9113 §8.3.1; RFC 9112 §3.2).
for label, path in [("relative", "public/x"), ("asterisk", "*"), ("empty", ""), ("absolute_form", "https://{evil}/public/x"),
                    ("dot_segments_to_admin", "/public/../admin/x"), ("encoded_slash", "/public%2f..%2fadmin/x"),
                    ("space", "/public/x y"), ("crlf", "/public/x HTTP/1.1\r\nX-User-Id: admin\r\n\r\nGET /admin/x"),
                    ("nul", "/public/x\x00"), ("backslash", "/public\\..\\admin\\x"), ("fragment", "/public/x#frag"),
                    ("double_slash_admin", "//admin/x")]:
    add_field_case("path_" + label, [], path=path)

# :authority and Host (RFC 9113 §8.3.1: SHOULD treat a disagreeing Host as malformed).
scenario("authority_host_mismatch")(simple(
    lambda args: request_fields(authority="localhost", extra=[("host", args.evil)])))
scenario("authority_host_same")(simple(
    lambda args: request_fields(authority="localhost", extra=[("host", "localhost")])))
scenario("authority_userinfo")(simple(lambda args: request_fields(authority="user@localhost")))
scenario("authority_missing_host_header")(simple(
    lambda args: [(":method", "GET"), (":scheme", "https"), (":path", "/public/x"), ("host", "localhost")]))
scenario("authority_and_host_missing")(simple(lambda args: [(":method", "GET"), (":scheme", "https"), (":path", "/public/x")]))
scenario("two_host_headers")(simple(
    lambda args: request_fields(extra=[("host", "localhost"), ("host", args.evil)])))


# content-length against DATA (RFC 9113 §8.1.1): more and less, and the H2.CL smuggling shape.
def content_length_case(declared, body, path="/upload/x", with_token=True):
    def fields(args):
        return request_fields(method="POST", path=path, extra=[("content-length", declared)] + (bearer(args) if with_token else []))
    return simple(fields, body=body)


scenario("content_length_more_data")(content_length_case("5", b"0123456789"))


@scenario("content_length_more_data_streamed")
def content_length_more_data_streamed(c, args):
    """A body larger than the gateway buffers: all 4,000 declared bytes in DATA, then 10 more with END_STREAM.
    The stream error comes after the body was streamed; the upstream must never see all 4,000 bytes."""
    stream_id = c.new_stream_id()
    fields = request_fields(method="POST", path="/upload/x", extra=[("content-length", "4000")] + bearer(args))
    c.headers(stream_id, fields, end_stream=False)
    c.data(stream_id, b"a" * 4000, end_stream=False)
    c.pump(0.3)
    c.data(stream_id, b"b" * 10, end_stream=True)
    c.wait_streams([stream_id])
scenario("content_length_less_data")(content_length_case("10", b"01234"))
scenario("content_length_more_data_no_token")(content_length_case("5", b"0123456789", with_token=False))
scenario("content_length_zero_smuggle")(content_length_case(
    "0", b"GET /admin/x HTTP/1.1\r\nHost: localhost\r\nX-User-Id: admin\r\n\r\n"))
scenario("content_length_duplicate")(content_length_case("5, 5", b"01234"))
scenario("content_length_two_fields")(simple(lambda args: request_fields(
    method="POST", path="/upload/x", extra=[("content-length", "5"), ("content-length", "6")] + bearer(args)), body=b"01234"))
scenario("content_length_negative")(content_length_case("-1", b""))
scenario("transfer_encoding_smuggle")(simple(lambda args: request_fields(
    method="POST", path="/upload/x", extra=[("transfer-encoding", "chunked")] + bearer(args)),
    body=b"0\r\n\r\nGET /admin/x HTTP/1.1\r\nHost: localhost\r\n\r\n"))


@scenario("rapid_reset")
def rapid_reset(c, args):
    """CVE-2023-44487: HEADERS then RST_STREAM(CANCEL), over and over, never waiting for an answer."""
    for _ in range(args.count):
        stream_id = c.new_stream_id()
        if not c.send(frame(HEADERS, END_HEADERS | END_STREAM, stream_id, block(request_fields(path="/api/data/x")))
                      + frame(RST_STREAM, 0, stream_id, struct.pack(">I", h2.errors.ErrorCodes.CANCEL)), frames=2):
            break
        c.stream(stream_id)
        if stream_id % 64 == 1:
            c.pump(0)
    c.barrier()


@scenario("continuation_flood", follow_up=False)
def continuation_flood(c, args):
    """CVE-2024-27316 class: a HEADERS block that never ends, carried by endless CONTINUATION frames."""
    stream_id = c.new_stream_id()
    c.headers(stream_id, request_fields(path="/api/data/x"), end_stream=True, end_headers=False)
    piece = literal("x-pad", "a" * 8)
    for _ in range(args.count):
        if not c.send(frame(CONTINUATION, 0, stream_id, piece)):
            break
        c.pump(0)
        if c.closed or c.goaway is not None:
            break
    c.wait(lambda: c.goaway is not None)


@scenario("continuation_empty_flood", follow_up=False)
def continuation_empty_flood(c, args):
    """CONTINUATION frames with empty payloads: no bytes count against a size limit, only the frame count."""
    stream_id = c.new_stream_id()
    c.headers(stream_id, request_fields(path="/api/data/x"), end_stream=True, end_headers=False)
    for _ in range(args.count):
        if not c.send(frame(CONTINUATION, 0, stream_id)):
            break
        c.pump(0)
        if c.closed or c.goaway is not None:
            break
    c.wait(lambda: c.goaway is not None)


# Own cases: pseudo-header rules (RFC 9113 §8.3, §8.3.1).
scenario("missing_method")(simple(lambda args: [(":scheme", "https"), (":path", "/public/x"), (":authority", "localhost")]))
scenario("missing_path")(simple(lambda args: [(":method", "GET"), (":scheme", "https"), (":authority", "localhost")]))
scenario("missing_scheme")(simple(lambda args: [(":method", "GET"), (":path", "/public/x"), (":authority", "localhost")]))
scenario("duplicate_path")(simple(lambda args: request_fields() + [(":path", "/admin/x")]))
scenario("duplicate_method")(simple(lambda args: [(":method", "GET"), (":method", "POST")] + request_fields()[1:]))
scenario("duplicate_authority")(simple(lambda args: request_fields() + [(":authority", args.evil)]))
scenario("pseudo_after_regular")(simple(
    lambda args: [(":method", "GET"), (":scheme", "https"), ("x-a", "1"), (":path", "/public/x"), (":authority", "localhost")]))
scenario("unknown_pseudo")(simple(lambda args: [(":foo", "bar")] + request_fields()))
scenario("response_pseudo_in_request")(simple(lambda args: [(":status", "200")] + request_fields()))
scenario("connect_with_path")(simple(lambda args: request_fields(method="CONNECT")))
scenario("connect_plain")(simple(lambda args: [(":method", "CONNECT"), (":authority", args.evil)]))
scenario("extended_connect_protocol")(simple(lambda args: request_fields(method="CONNECT") + [(":protocol", "websocket")]))
scenario("scheme_http")(simple(lambda args: request_fields(scheme="http")))
scenario("scheme_other")(simple(lambda args: request_fields(scheme="gopher")))
scenario("method_with_space")(simple(lambda args: request_fields(method="GET /admin/x HTTP/1.1\r\nX:")))
scenario("method_lowercase")(simple(lambda args: request_fields(method="get")))
# RFC 9113 §8.2.1, §8.3.1: malformed values the HTTP/1.1 translation would otherwise carry on.
scenario("method_not_token")(simple(lambda args: request_fields(method="GE(T)")))
scenario("scheme_garbage")(simple(lambda args: request_fields(scheme="ht tp")))
scenario("scheme_uri")(simple(lambda args: request_fields(scheme="https://evil")))
add_field_case("value_leading_space", [("x-note", " admin")])
add_field_case("value_trailing_space", [("x-note", "admin ")])
add_field_case("value_trailing_tab", [("x-note", "admin\t")])
scenario("authority_trailing_space")(simple(lambda args: request_fields(authority="localhost ")))
scenario("path_trailing_space")(simple(lambda args: request_fields(path="/public/x ")))
scenario("two_authorization_headers")(simple(lambda args: request_fields(path="/api/data/x", extra=bearer(args) + bearer(args))))
scenario("authorization_and_identity_header")(simple(lambda args: request_fields(
    path="/api/data/x", extra=bearer(args) + [("x-user-id", "admin"), ("x-forwarded-user", "admin"), ("x_user_id", "admin")])))
scenario("cookie_crumbs")(simple(lambda args: request_fields(extra=[("cookie", "a=1"), ("cookie", "b=2"), ("cookie", "c=3")])))
scenario("zero_length_value")(simple(lambda args: request_fields(extra=[("x-empty", "")])))
scenario("too_many_headers")(simple(lambda args: request_fields(extra=[("x-h%d" % i, "v") for i in range(args.count)])))
scenario("huge_header")(simple(lambda args: request_fields(extra=[("x-big", "a" * args.count)])))


@scenario("header_list_too_large")
def header_list_too_large(c, args):
    """A header list above SETTINGS_MAX_HEADER_LIST_SIZE, in frames each under the frame size limit:
    HEADERS and CONTINUATION frames of 8 KiB (RFC 9113 §6.5.2, §10.5.1)."""
    stream_id = c.new_stream_id()
    c.stream(stream_id)
    data = block(request_fields(extra=[("x-big-%d" % i, "a" * 4000) for i in range(args.count // 4000 + 1)]))
    pieces = [data[i:i + 8192] for i in range(0, len(data), 8192)]
    for index, piece in enumerate(pieces):
        last = END_HEADERS if index == len(pieces) - 1 else 0
        c.send(frame(HEADERS if index == 0 else CONTINUATION, last | (END_STREAM if index == 0 else 0), stream_id, piece))
    c.wait_streams([stream_id])
    c.wait(lambda: c.goaway is not None, timeout=0.5)


@scenario("stream_error_burst")
def stream_error_burst(c, args):
    """--count malformed requests (uppercase field name), each a stream error (RST_STREAM); the
    stream-error rate limit turns a burst into a connection error."""
    ids = []
    for _ in range(args.count):
        stream_id = c.new_stream_id()
        ids.append(stream_id)
        if not c.headers(stream_id, request_fields(extra=[("X-Upper", "1")])):
            break
        c.pump(0)
        if c.goaway is not None:
            break
    c.wait_streams(ids)


@scenario("split_headers")
def split_headers(c, args):
    """One well-formed request whose header block is split into HEADERS and --count CONTINUATION frames."""
    stream_id = c.new_stream_id()
    c.stream(stream_id)
    data = block(request_fields(path="/probe/split", extra=[("x-part-%d" % i, "v" * 8) for i in range(args.count + 1)]))
    size = max(1, len(data) // (args.count + 1))
    pieces = [data[i * size:(i + 1) * size] for i in range(args.count)] + [data[args.count * size:]]
    for index, piece in enumerate(pieces):
        flags = (END_HEADERS if index == len(pieces) - 1 else 0) | (END_STREAM if index == 0 else 0)
        c.send(frame(HEADERS if index == 0 else CONTINUATION, flags, stream_id, piece))
    c.wait_streams([stream_id])


@scenario("answered_stream_left_open")
def answered_stream_left_open(c, args):
    """A denied POST whose client never ends its stream (no END_STREAM, no DATA): once answered, the
    stream must not stay open for ever (a slot of http2_max_concurrent_streams, a channel)."""
    stream_id = c.new_stream_id()
    c.headers(stream_id, request_fields(method="POST", path="/upload/x"), end_stream=False)
    c.wait(lambda: c.goaway is not None or c.stream(stream_id).reset is not None)


@scenario("ping_keepalive", follow_up=False)
def ping_keepalive(c, args):
    """No stream, a PING every 0.3 s for up to --timeout seconds: an idle connection kept warm by control
    frames far below the control-frame rate limit. counts["ms_until_closed"]: since the TCP connect."""
    started = time.monotonic()
    deadline = started + args.timeout
    while not c.closed and c.goaway is None and time.monotonic() < deadline:
        c.send(frame(PING, 0, 0, b"keepwarm"))
        c.wait(lambda: c.goaway is not None, timeout=0.3)
    c.wait(lambda: False, timeout=min(2, max(0, deadline - time.monotonic())))
    c.counts["ms_until_closed"] = int((time.monotonic() - c.connected_at) * 1000) if c.closed else -1


@scenario("trailers_authorization")
def trailers_authorization(c, args):
    """Trailers are not headers: an `authorization` (or identity header) in trailers authenticates nothing
    and is never forwarded (RFC 9110 §6.5.1: a recipient must not merge trailers into the header section)."""
    stream_id = c.new_stream_id()
    c.headers(stream_id, request_fields(method="POST", path="/upload/x"), end_stream=False)
    c.data(stream_id, b"hello", end_stream=False)
    c.headers(stream_id, [("authorization", "Bearer " + (args.token or "x"))], end_stream=True)
    c.wait_streams([stream_id])


@scenario("trailers_identity")
def trailers_identity(c, args):
    stream_id = c.new_stream_id()
    c.headers(stream_id, request_fields(method="POST", path="/upload/x", extra=bearer(args)), end_stream=False)
    c.data(stream_id, b"hello", end_stream=False)
    c.headers(stream_id, [("x-user-id", "admin"), ("authorization", "Bearer other")], end_stream=True)
    c.wait_streams([stream_id])


def wait_for_upstream_head(c, args, request_line):
    """Pumps until the recording upstream has read the head of `request_line` (the gateway is streaming that
    request), or the timeout passes; without --upstream-records, for 0.3 s. Returns whether the head came."""
    if not args.upstream_records:
        c.wait(lambda: False, timeout=0.3)
        return False
    needle = '"request_line":"%s"' % request_line

    def head_seen():
        try:
            with open(args.upstream_records, encoding="utf-8") as records:
                return any('"event":"head"' in line and needle in line for line in records)
        except OSError:
            return False
    return c.wait(head_seen)


@scenario("trailers_identity_streamed")
def trailers_identity_streamed(c, args):
    """A body larger than the gateway buffers, streamed upstream before its trailers arrive; the trailers carry
    identity and credential fields. They are dropped and the request completes (no late refusal)."""
    stream_id = c.new_stream_id()
    c.headers(stream_id, request_fields(method="POST", path="/upload/x", extra=bearer(args)), end_stream=False)
    c.data(stream_id, b"s" * 4000, end_stream=False)
    c.counts["upstream_head_before_trailers"] = int(wait_for_upstream_head(c, args, "POST /upload/x HTTP/1.1"))
    c.headers(stream_id, [("x-user-id", "admin"), ("x_user_id", "admin"), ("authorization", "Bearer other"),
                          ("x-forwarded-for", "6.6.6.6")], end_stream=True)
    c.wait_streams([stream_id])


@scenario("trailers_content_length_streamed")
def trailers_content_length_streamed(c, args):
    """The same streamed body, with a content-length in its trailers (a framing field, RFC 9110 §6.5.1)."""
    stream_id = c.new_stream_id()
    c.headers(stream_id, request_fields(method="POST", path="/upload/x", extra=bearer(args)), end_stream=False)
    c.data(stream_id, b"s" * 4000, end_stream=False)
    c.counts["upstream_head_before_trailers"] = int(wait_for_upstream_head(c, args, "POST /upload/x HTTP/1.1"))
    c.headers(stream_id, [("content-length", "5")], end_stream=True)
    c.wait_streams([stream_id])


@scenario("trailers_pseudo_header")
def trailers_pseudo_header(c, args):
    stream_id = c.new_stream_id()
    c.headers(stream_id, request_fields(method="POST", path="/upload/x", extra=bearer(args)), end_stream=False)
    c.data(stream_id, b"hello", end_stream=False)
    c.headers(stream_id, [(":path", "/admin/x")], end_stream=True)
    c.wait_streams([stream_id])


@scenario("trailers_without_end_stream")
def trailers_without_end_stream(c, args):
    """A second HEADERS block without END_STREAM is malformed (RFC 9113 §8.1)."""
    stream_id = c.new_stream_id()
    c.headers(stream_id, request_fields(method="POST", path="/upload/x", extra=bearer(args)), end_stream=False)
    c.headers(stream_id, [("x-a", "1")], end_stream=False)
    c.data(stream_id, b"hello")
    c.wait_streams([stream_id])


@scenario("data_on_closed_stream")
def data_on_closed_stream(c, args):
    """DATA after the stream ended both ways (RFC 9113 §5.1: STREAM_CLOSED)."""
    stream_id = c.request(path="/probe/closed")
    c.wait_streams([stream_id])
    c.data(stream_id, b"GET /admin/x HTTP/1.1\r\n\r\n")
    c.wait(lambda: c.goaway is not None, timeout=0.5)


@scenario("data_on_half_closed_stream")
def data_on_half_closed_stream(c, args):
    """DATA after our own END_STREAM, before the answer (RFC 9113 §5.1 half-closed (remote): STREAM_CLOSED)."""
    stream_id = c.new_stream_id()
    c.headers(stream_id, request_fields(path="/api/data/x"), end_stream=True)
    c.data(stream_id, b"GET /admin/x HTTP/1.1\r\n\r\n")
    c.wait_streams([stream_id])
    c.wait(lambda: c.goaway is not None, timeout=0.5)


@scenario("data_on_idle_stream", follow_up=False)
def data_on_idle_stream(c, args):
    """DATA on a stream never opened (RFC 9113 §5.1: connection error PROTOCOL_ERROR)."""
    c.data(1, b"hello")
    c.wait(lambda: c.goaway is not None)


@scenario("stream_id_reuse", follow_up=False)
def stream_id_reuse(c, args):
    """A new HEADERS on a closed stream id (RFC 9113 §5.1.1)."""
    stream_id = c.request(path="/probe/first")
    c.wait_streams([stream_id])
    c.headers(stream_id, request_fields(path="/probe/again"))
    c.wait(lambda: c.goaway is not None)


@scenario("stream_id_decreasing", follow_up=False)
def stream_id_decreasing(c, args):
    c.headers(5, request_fields(path="/probe/five"))
    c.wait_streams([5])
    c.headers(3, request_fields(path="/probe/three"))
    c.wait(lambda: c.goaway is not None)


@scenario("even_stream_id", follow_up=False)
def even_stream_id(c, args):
    """Clients use odd stream ids (RFC 9113 §5.1.1)."""
    c.headers(2, request_fields())
    c.wait(lambda: c.goaway is not None)


@scenario("stream_id_zero", follow_up=False)
def stream_id_zero(c, args):
    c.send(frame(HEADERS, END_HEADERS | END_STREAM, 0, block(request_fields())))
    c.wait(lambda: c.goaway is not None)


@scenario("window_update_overflow_connection", follow_up=False)
def window_update_overflow_connection(c, args):
    """RFC 9113 §6.9.1: a window above 2^31-1 is a connection error FLOW_CONTROL_ERROR."""
    c.send(frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 0x7FFFFFFF)))
    c.send(frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 0x7FFFFFFF)))
    c.wait(lambda: c.goaway is not None)


@scenario("window_update_overflow_stream")
def window_update_overflow_stream(c, args):
    """The same on one stream: a stream error FLOW_CONTROL_ERROR; the connection lives on."""
    stream_id = c.new_stream_id()
    c.headers(stream_id, request_fields(method="POST", path="/upload/x"), end_stream=False)
    c.send(frame(WINDOW_UPDATE, 0, stream_id, struct.pack(">I", 0x7FFFFFFF)))
    c.send(frame(WINDOW_UPDATE, 0, stream_id, struct.pack(">I", 0x7FFFFFFF)))
    c.wait_streams([stream_id])
    c.wait(lambda: c.stream(stream_id).reset is not None or c.goaway is not None, timeout=2)


@scenario("window_update_zero", follow_up=False)
def window_update_zero(c, args):
    """RFC 9113 §6.9: an increment of 0 on the connection is a PROTOCOL_ERROR."""
    c.send(frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 0)))
    c.wait(lambda: c.goaway is not None)


@scenario("settings_flood")
def settings_flood(c, args):
    """CVE-2019-9515: SETTINGS frames, each demanding an ACK."""
    payload = struct.pack(">HI", h2.settings.SettingCodes.HEADER_TABLE_SIZE, 4096)
    for index in range(args.count):
        if not c.send(frame(SETTINGS, 0, 0, payload)):
            break
        if index % 32 == 0:
            c.pump(0)
            if c.goaway is not None:
                break
    # Our own SETTINGS is acknowledged too: count + 1 ACKs when every frame was accepted.
    c.wait(lambda: c.goaway is not None or c.counts.get("settings_acks_received", 0) > args.count)


@scenario("ping_flood")
def ping_flood(c, args):
    """CVE-2019-9512: PINGs, each demanding an ACK."""
    for index in range(args.count):
        if not c.send(frame(PING, 0, 0, struct.pack(">Q", index))):
            break
        if index % 32 == 0:
            c.pump(0)
            if c.goaway is not None:
                break
    c.wait(lambda: c.goaway is not None or c.counts["ping_acks_received"] >= args.count)


@scenario("empty_data_flood", follow_up=False)
def empty_data_flood(c, args):
    """CVE-2019-9518: empty DATA frames cost work and carry nothing."""
    stream_id = c.new_stream_id()
    c.headers(stream_id, request_fields(method="POST", path="/upload/x"), end_stream=False)
    for _ in range(args.count):
        if not c.data(stream_id, b"", end_stream=False):
            break
        c.pump(0)
        if c.goaway is not None:
            break
    c.wait(lambda: c.goaway is not None)


@scenario("priority_self_dependency")
def priority_self_dependency(c, args):
    """RFC 9113 §5.3.1: a stream cannot depend on itself (stream error PROTOCOL_ERROR)."""
    stream_id = c.new_stream_id()
    c.stream(stream_id)
    c.send(frame(PRIORITY, 0, stream_id, struct.pack(">IB", stream_id, 16)))
    c.headers(stream_id, request_fields())
    c.wait_streams([stream_id])


@scenario("settings_invalid_enable_push", follow_up=False)
def settings_invalid_enable_push(c, args):
    c.send(frame(SETTINGS, 0, 0, struct.pack(">HI", h2.settings.SettingCodes.ENABLE_PUSH, 2)))
    c.wait(lambda: c.goaway is not None)


@scenario("settings_invalid_window", follow_up=False)
def settings_invalid_window(c, args):
    c.send(frame(SETTINGS, 0, 0, struct.pack(">HI", h2.settings.SettingCodes.INITIAL_WINDOW_SIZE, 0x80000000)))
    c.wait(lambda: c.goaway is not None)


@scenario("settings_invalid_frame_size", follow_up=False)
def settings_invalid_frame_size(c, args):
    c.send(frame(SETTINGS, 0, 0, struct.pack(">HI", h2.settings.SettingCodes.MAX_FRAME_SIZE, 100)))
    c.wait(lambda: c.goaway is not None)


@scenario("frame_too_large", follow_up=False)
def frame_too_large(c, args):
    """A DATA frame above SETTINGS_MAX_FRAME_SIZE (16384 by default): FRAME_SIZE_ERROR (RFC 9113 §4.2)."""
    stream_id = c.new_stream_id()
    c.headers(stream_id, request_fields(method="POST", path="/upload/x"), end_stream=False)
    c.data(stream_id, b"a" * 20000)
    c.wait(lambda: c.goaway is not None)


@scenario("push_promise_from_client", follow_up=False)
def push_promise_from_client(c, args):
    """RFC 9113 §8.4: a client cannot push."""
    stream_id = c.new_stream_id()
    c.headers(stream_id, request_fields(method="POST", path="/upload/x"), end_stream=False)
    c.send(frame(PUSH_PROMISE, END_HEADERS, stream_id, struct.pack(">I", 2) + block(request_fields())))
    c.wait(lambda: c.goaway is not None)


@scenario("hpack_bomb")
def hpack_bomb(c, args):
    """CVE-2016-6581 class: one large field enters the dynamic table, then one-byte references repeat it
    until the decoded list is far above the limit."""
    stream_id = c.new_stream_id()
    big = literal("x-bomb", "a" * 4000, indexing=True)
    fields = b"".join(literal(n, v) for n, v in request_fields())
    # Dynamic index 62 is the newest entry: 0x80 | 62 = 0xBE.
    c.headers(stream_id, fields + big + bytes([0xBE]) * args.count)
    c.wait_streams([stream_id])
    c.wait(lambda: c.goaway is not None, timeout=0.5)


@scenario("hpack_table_size_overflow", follow_up=False)
def hpack_table_size_overflow(c, args):
    """A dynamic table size update above the advertised maximum is a COMPRESSION_ERROR (RFC 7541 §6.3)."""
    stream_id = c.new_stream_id()
    c.headers(stream_id, hpack_int(1 << 20, 5, 0x20) + block(request_fields()))
    c.wait(lambda: c.goaway is not None)


@scenario("hpack_invalid_index", follow_up=False)
def hpack_invalid_index(c, args):
    stream_id = c.new_stream_id()
    c.headers(stream_id, block(request_fields()) + hpack_int(4000, 7, 0x80))
    c.wait(lambda: c.goaway is not None)


@scenario("max_concurrent_streams")
def max_concurrent_streams(c, args):
    """Opens --count streams that never end (POST without END_STREAM); streams above the server's
    SETTINGS_MAX_CONCURRENT_STREAMS must be refused (RFC 9113 §5.1.2)."""
    c.wait(lambda: c.counts["settings_received"] > 0, timeout=2)
    ids = []
    for _ in range(args.count):
        stream_id = c.new_stream_id()
        ids.append(stream_id)
        c.headers(stream_id, request_fields(method="POST", path="/upload/x"), end_stream=False)
    c.wait(lambda: c.goaway is not None or all(c.stream(s).status is not None or c.stream(s).reset for s in ids))
    # End the open streams so that the follow-up request has room.
    for stream_id in ids:
        if not c.stream(stream_id).reset:
            c.data(stream_id, b"")
    c.wait(lambda: c.goaway is not None or all(c.stream(s).done for s in ids), timeout=2)


# HTTP/1.1 scenarios on the same port (ALPN http/1.1): the result's "raw" holds the bytes received.


def http1_exchange(args, payload, wait_for=b"\r\n\r\n"):
    c = Client(args, alpn="http/1.1")
    c.send(payload, frames=0)
    deadline = time.monotonic() + args.timeout
    while not c.closed and time.monotonic() < deadline:
        readable, _, _ = select.select([c.sock], [], [], 0.1)
        if not readable and not c.sock.pending():
            if wait_for in c.raw and time.monotonic() > deadline - args.timeout + 0.5:
                break
            continue
        try:
            data = c.sock.recv(65536)
        except (ssl.SSLWantReadError, BlockingIOError):
            continue
        except (ssl.SSLError, OSError):
            c.closed = True
            break
        if not data:
            c.closed = True
            break
        c.raw += data
    return c


@scenario("h2c_upgrade", follow_up=False)
def h2c_upgrade(c, args):
    """RFC 9113 §3.1 removed h2c upgrade; over TLS it never applied: the gateway must not switch."""
    return http1_exchange(args, b"GET /public/x HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                          b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n")


@scenario("prior_knowledge_on_http1", follow_up=False)
def prior_knowledge_on_http1(c, args):
    """The HTTP/2 preface on a connection that negotiated http/1.1 (RFC 9113 §3.3 needs ALPN h2)."""
    return http1_exchange(args, PREFACE + frame(SETTINGS, 0, 0) + frame(HEADERS, END_HEADERS | END_STREAM, 1, block(request_fields())))


HTTP1_SCENARIOS = {"h2c_upgrade", "prior_knowledge_on_http1"}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", nargs="?")
    parser.add_argument("--port", type=int)
    parser.add_argument("--cafile")
    parser.add_argument("--token-file")
    parser.add_argument("--count", type=int, default=None, help="repetitions for floods and limits")
    parser.add_argument("--timeout", type=float, default=8)
    parser.add_argument("--no-follow-up", action="store_true")
    parser.add_argument("--evil", default="canary.invalid", help="the attacker's authority (a canary's host:port)")
    parser.add_argument("--upstream-records", default=None,
                        help="the recording upstream's records file: scenarios that must act once the gateway has "
                             "begun to forward a request wait for its head there")
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args()
    if args.list:
        print("\n".join(sorted(SCENARIOS)))
        return
    if args.scenario not in SCENARIOS:
        print("unknown scenario %r; --list shows them" % args.scenario, file=sys.stderr)
        sys.exit(2)
    if args.count is None:
        args.count = 1000
    args.token = None
    if args.token_file:
        with open(args.token_file, encoding="ascii") as file:
            args.token = file.read().strip()
    function, follow_up = SCENARIOS[args.scenario]
    if args.scenario in HTTP1_SCENARIOS:
        c = function(None, args)
        print(json.dumps(c.result(args.scenario)))
        return
    c = Client(args)
    if c.alpn != "h2":
        raise RuntimeError("the server did not negotiate h2 (ALPN %r)" % c.alpn)
    c.start()
    function(c, args)
    c.finish()
    print(json.dumps(c.result(args.scenario, c.follow_up() if follow_up and not args.no_follow_up else None)))


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # the test reads the reason from stderr
        print("h2_attack error: %s: %s" % (type(error).__name__, error), file=sys.stderr)
        sys.exit(2)
