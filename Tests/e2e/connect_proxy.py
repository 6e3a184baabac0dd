#!/usr/bin/env python3
"""A tiny HTTP CONNECT proxy for the gateway's key-fetch tests: it records what it was asked and relays bytes.

Listens on 127.0.0.1 (port printed on the first line). Each request head is logged to --log as one JSON
line: method, target, and the Proxy-Authorization value (or null). Only CONNECT is served (anything else
gets 405); with --require-auth VALUE a request without `Proxy-Authorization: VALUE` gets 407. The tunnel's
outgoing connection is made from --source (default 127.0.0.2), so a provider that accepts only that
address is reachable through this proxy alone. Bytes are relayed as they are: the proxy cannot read TLS.
"""
import argparse, json, socket, sys, threading


def relay(source, destination):
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            destination.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, destination):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def read_head(connection):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(4096)
        if not chunk or len(data) > 65536:
            return None, b""
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head.decode("latin-1"), rest


def handle(connection, args):
    with connection:
        head, rest = read_head(connection)
        if head is None:
            return
        lines = head.split("\r\n")
        method, target = (lines[0].split(" ") + ["", ""])[:2]
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        auth = headers.get("proxy-authorization")
        with open(args.log, "a") as log:
            log.write(json.dumps({"method": method, "target": target, "proxy_authorization": auth}) + "\n")
        if method != "CONNECT":
            connection.sendall(b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n")
            return
        if args.require_auth and auth != args.require_auth:
            connection.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                               b"proxy-authenticate: Basic realm=\"test\"\r\ncontent-length: 0\r\n\r\n")
            return
        host, _, port = target.rpartition(":")
        try:
            upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=5,
                                                source_address=(args.source, 0))
        except OSError:
            connection.sendall(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
            return
        upstream.settimeout(None)
        with upstream:
            connection.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            if rest:
                upstream.sendall(rest)
            back = threading.Thread(target=relay, args=(upstream, connection), daemon=True)
            back.start()
            relay(connection, upstream)
            back.join(10)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--log", required=True)
    parser.add_argument("--require-auth", default=None)
    parser.add_argument("--source", default="127.0.0.2")
    args = parser.parse_args()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    print(listener.getsockname()[1], flush=True)
    while True:
        connection, _ = listener.accept()
        threading.Thread(target=handle, args=(connection, args), daemon=True).start()


if __name__ == "__main__":
    main()
