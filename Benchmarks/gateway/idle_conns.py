#!/usr/bin/env python3
"""Open COUNT keep-alive connections (TLS unless --plain), send one authorised request on each, keep them
open and idle, print `READY ok=N failed=M`, and hold until stdin closes or --hold seconds pass.
Used by Benchmarks/gateway/run to read a proxy's RSS with many idle client connections."""
import argparse
import asyncio
import resource
import ssl
import sys
import time


async def open_one(args, context, token, semaphore, kept):
    async with semaphore:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(args.host, args.port, ssl=context), timeout=args.timeout)
            auth = f"Authorization: Bearer {token}\r\n" if token else ""
            writer.write(f"GET {args.path} HTTP/1.1\r\nHost: {args.host}:{args.port}\r\n{auth}\r\n".encode())
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=args.timeout)
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if length:
                await asyncio.wait_for(reader.readexactly(length), timeout=args.timeout)
            kept.append((writer, status))
            return status
        except Exception:
            return None


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--path", default="/api/data")
    parser.add_argument("--token-file")
    parser.add_argument("--plain", action="store_true")
    parser.add_argument("--hold", type=float, default=120)
    parser.add_argument("--timeout", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=200)
    args = parser.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    token = None
    if args.token_file:
        with open(args.token_file) as f:
            token = f.readline().strip()
    context = None
    if not args.plain:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        context.set_alpn_protocols(["http/1.1"])
    semaphore = asyncio.Semaphore(args.concurrency)
    kept = []
    started = time.monotonic()
    statuses = await asyncio.gather(*(open_one(args, context, token, semaphore, kept) for _ in range(args.count)))
    ok = sum(1 for s in statuses if s is not None and 200 <= s < 300)
    print(f"READY ok={ok} failed={args.count - ok} open={len(kept)} seconds={time.monotonic() - started:.1f}",
          flush=True)
    loop = asyncio.get_running_loop()
    try:
        await asyncio.wait_for(loop.run_in_executor(None, sys.stdin.read), timeout=args.hold)
    except asyncio.TimeoutError:
        pass
    for writer, _ in kept:
        writer.transport.abort()
    # Leave the executor thread blocked on stdin behind.
    sys.stdout.flush()


if __name__ == "__main__":
    asyncio.run(main())
    import os
    os._exit(0)
