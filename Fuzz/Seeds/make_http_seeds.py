#!/usr/bin/env python3
"""Writes the http seed corpus (Fuzz/Corpus/http/): raw HTTP/1.x requests, some with valid bearer tokens.

Tokens are HS256 with RFC 7515 A.1's public test key, issuer https://idp.example.com, audience api, valid at
the `http` target's clock (1300819000). Re-run after changing either:
    python3 Fuzz/Seeds/make_http_seeds.py
"""
import base64
import os

import jwt

NOW = 1300819000
OUT = os.path.join(os.path.dirname(__file__), "..", "Corpus", "http")
KEY = base64.urlsafe_b64decode("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow==")


def token(**claims) -> str:
    base = {"iss": "https://idp.example.com", "aud": "api", "sub": "alice", "exp": NOW + 600, "iat": NOW - 10}
    base.update(claims)
    return jwt.encode(base, KEY, "HS256", headers={"kid": "hs-1"})


ADMIN = token(roles=["admin"], scope="read:data")
DATA = token(scope="read:data")
PASS = token(email="alice@example.com", tenant="acme")
BAD_CLAIM = token(email="a\r\nX-User-Id: root", tenant="acme")
EXPIRED = token(exp=NOW - 3600, roles=["admin"])
NONE = jwt.encode({"sub": "x", "roles": ["admin"]}, None, "none")


def req(lines, body=b""):
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


seeds = {
    "admin-identity-spoof": req([
        "GET /admin/x?y=1 HTTP/1.1", "Host: api.example.com", f"Authorization: Bearer {ADMIN}",
        "X-User-Id: admin", "x-user-id: root", "X_User_Id: root", "X.User.Id: root", "X-User-Roles: admin",
        "X-Forwarded-For: 10.0.0.1", "Forwarded: for=10.0.0.1", "X-Real-IP: 10.0.0.1", "X-Forwarded-User: root",
        "X-Auth-Request-User: root", "Connection: keep-alive, X-Custom", "X-Custom: hop", "Accept: */*"]),
    "data-get": req(["GET /api/data/42 HTTP/1.1", "Host: api.example.com:8443", f"authorization: bearer  {DATA}  "]),
    "pipelined": req(["GET /healthz HTTP/1.1", "Host: a"]) + req(["GET /public/x HTTP/1.1", "Host: a", "Connection: close"]),
    "cl-te": req(["POST /api/data/1 HTTP/1.1", "Host: a", f"Authorization: Bearer {DATA}", "Content-Length: 5",
                  "Transfer-Encoding: chunked"], b"0\r\n\r\n"),
    "te-obfuscated": req(["POST /public/x HTTP/1.1", "Host: a", "Transfer-Encoding: xchunked"], b"5\r\nhello\r\n0\r\n\r\n"),
    "te-twice": req(["POST /public/x HTTP/1.1", "Host: a", "Transfer-Encoding: chunked, chunked"], b"0\r\n\r\n"),
    "te-space-colon": req(["POST /public/x HTTP/1.1", "Host: a", "Transfer-Encoding : chunked"], b"0\r\n\r\n"),
    "cl-list": req(["POST /public/x HTTP/1.1", "Host: a", "Content-Length: 5, 6"], b"hello"),
    "cl-plus": req(["POST /public/x HTTP/1.1", "Host: a", "Content-Length: +5"], b"hello"),
    "cl-huge": req(["POST /admin/x HTTP/1.1", "Host: a", "Content-Length: 99999999999999999999"]),
    "chunked-ok": req(["POST /public/up HTTP/1.1", "Host: a", "Transfer-Encoding: chunked", "Trailer: X-T", "TE: trailers"],
                      b"5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n"),
    "chunked-bad-size": req(["POST /public/up HTTP/1.1", "Host: a", "Transfer-Encoding: chunked"], b"zz\r\nhello\r\n0\r\n\r\n"),
    "no-host": req(["GET /public/x HTTP/1.1"]),
    "two-hosts": req(["GET /public/x HTTP/1.1", "Host: a", "Host: b"]),
    "host-userinfo": req(["GET /public/x HTTP/1.1", "Host: user@a:80"]),
    "host-canary": req(["GET /public/x HTTP/1.1", "Host: 127.0.0.1:1"]),
    "path-tricks": req(["GET //admin/x HTTP/1.1", "Host: a"]) + req(["GET /public/../admin/x HTTP/1.1", "Host: a"])
    + req(["GET /public/%2e%2e/admin/x HTTP/1.1", "Host: a"]) + req(["GET /%61dmin/x HTTP/1.1", "Host: a"]),
    "absolute-form": req(["GET http://127.0.0.1:1/admin/x HTTP/1.1", "Host: a"]),
    "h2c-upgrade": req(["GET /public/x HTTP/1.1", "Host: a", "Connection: Upgrade, HTTP2-Settings", "Upgrade: h2c",
                        "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA"]),
    "http10": req(["GET /healthz HTTP/1.0"]),
    "http09": b"GET /healthz\r\n",
    "http12": req(["GET /healthz HTTP/1.2", "Host: a"]),
    "two-authorizations": req(["GET /api/data/1 HTTP/1.1", "Host: a", f"Authorization: Bearer {DATA}",
                               f"Authorization: Bearer {DATA}"]),
    "query-token": req([f"GET /api/data/1?access_token={DATA} HTTP/1.1", "Host: a", f"Authorization: Bearer {DATA}"]),
    "pass-forwarded": req(["PUT /pass/7 HTTP/1.1", "Host: a", f"Authorization: Bearer {PASS}", "X-User-Email: evil",
                           "Content-Length: 2", "Expect: 100-continue", "Keep-Alive: timeout=5",
                           "Proxy-Authorization: Basic eDp5"], b"{}"),
    "pass-bad-claim": req(["GET /pass/7 HTTP/1.1", "Host: a", f"Authorization: Bearer {BAD_CLAIM}"]),
    "tenant-host": req(["GET /anything HTTP/1.1", "Host: INTERNAL.example.com.:443", f"Authorization: Bearer {PASS}",
                        "X-Token-Tenant: other", "traceparent: 00-0-0-01", "X-Request-Id: mine"]),
    "expired": req(["GET /admin/x HTTP/1.1", "Host: a", f"Authorization: Bearer {EXPIRED}"]),
    "alg-none": req(["GET /admin/x HTTP/1.1", "Host: a", f"Authorization: Bearer {NONE}"]),
    "basic-scheme": req(["GET /admin/x HTTP/1.1", "Host: a", "Authorization: Basic YWRtaW46YWRtaW4="]),
    "no-token": req(["DELETE /admin/x HTTP/1.1", "Host: a", "Content-Length: 10000000000"]),
    "method-lowercase": req(["get /healthz HTTP/1.1", "Host: a"]),
    "options-star": req(["OPTIONS * HTTP/1.1", "Host: a"]),
    "obs-fold": req(["GET /public/x HTTP/1.1", "Host: a", "X-User-Id: a", " folded"]),
    "bare-lf": b"GET /public/x HTTP/1.1\nHost: a\nX-User-Id: a\n\n",
    "nul-in-value": req(["GET /public/x HTTP/1.1", "Host: a", "X-A: a\x00b"]),
}
os.makedirs(OUT, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(OUT, name), "wb") as handle:
        handle.write(data)
