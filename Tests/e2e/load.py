#!/usr/bin/env python3
"""A bounded load client for the gateway's reload and shutdown tests.

CONNECTIONS threads each keep one HTTPS keep-alive connection (HTTP/1.1, the test CA) and send GET PATH
with the given Authorization header until DURATION seconds have passed or STOP_FILE appears. Prints one
JSON line: counts of statuses, and of failures split into
  - "refused": a new connection could not be made (the listener is closed),
  - "closed_idle": a reused connection was closed before any response byte (the server closed it
    between requests; the request was never read),
  - "cut": a response that started but did not complete, or any other error (a request cut mid-way).
"""
import argparse, collections, http.client, json, os, ssl, threading, time


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("port", type=int)
    parser.add_argument("path")
    parser.add_argument("--cafile", required=True)
    parser.add_argument("--authorization", default=None)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--stop-file", default=None)
    args = parser.parse_args()

    context = ssl.create_default_context(cafile=args.cafile)
    deadline = time.monotonic() + min(args.duration, 60.0)
    lock = threading.Lock()
    statuses = collections.Counter()
    failures = collections.Counter()
    examples = []

    def record(kind, detail=None):
        with lock:
            failures[kind] += 1
            if detail and len(examples) < 5:
                examples.append(f"{kind}: {detail}")

    def stopped():
        return time.monotonic() > deadline or (args.stop_file and os.path.exists(args.stop_file))

    def worker():
        connection = None
        while not stopped():
            fresh = connection is None
            if fresh:
                connection = http.client.HTTPSConnection("127.0.0.1", args.port, context=context, timeout=10)
                try:
                    connection.connect()
                except OSError as error:
                    record("refused", repr(error))
                    connection = None
                    time.sleep(0.05)
                    continue
            headers = {"Authorization": args.authorization} if args.authorization else {}
            try:
                connection.request("GET", args.path, headers=headers)
                response = connection.getresponse()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as error:
                # Nothing of a response arrived: on a reused connection the server closed it between
                # requests and never read this one.
                record("cut" if fresh else "closed_idle", repr(error))
                connection.close()
                connection = None
                continue
            except Exception as error:
                record("cut", repr(error))
                connection.close()
                connection = None
                continue
            try:
                response.read()
            except Exception as error:
                record("cut", f"body: {error!r}")
                connection.close()
                connection = None
                continue
            with lock:
                statuses[response.status] += 1
            if response.will_close:
                connection.close()
                connection = None

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(args.connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()) + 15)
    print(json.dumps({
        "statuses": {str(k): v for k, v in statuses.items()},
        "failures": dict(failures),
        "examples": examples,
    }), flush=True)


if __name__ == "__main__":
    main()
