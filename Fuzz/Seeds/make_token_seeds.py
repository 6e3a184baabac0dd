#!/usr/bin/env python3
"""Writes the token seed corpus (Fuzz/Corpus/token/) with PyJWT, an independent JWS implementation.

The keys are the public test keys the `token` target configures (RFC 7515 A.1 HS256 and A.2 RS256, and the
target's own P-256 key); the clock is the target's (1300819000). Re-run after changing either:
    python3 Fuzz/Seeds/make_token_seeds.py
"""
import base64
import hashlib
import hmac
import json
import os

from cryptography.hazmat.primitives import serialization

import jwt
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

NOW = 1300819000
OUT = os.path.join(os.path.dirname(__file__), "..", "Corpus", "token")
HS_SECRET = base64.urlsafe_b64decode("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow==")
RSA_JWK = json.load(open(os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "JOSETests", "Vectors", "rfc7515-a2.json")))["jwk"]
EC_JWK = {"kty": "EC", "crv": "P-256", "d": "ecWkY8xeGs24F-eiTl8vXtvhgBahWcjHCmBuWj8g4p0",
          "x": "PhrCP3xIvPyLnkZZMWa6SnjdnCjsHV2BOYbm-xheVVw", "y": "TvtNU4wJbbJW-GPhzBS8iWOZ6umDYhzInTiCbJIQ_C8"}
RSA = RSAAlgorithm.from_jwk(json.dumps(RSA_JWK))
EC = ECAlgorithm.from_jwk(json.dumps(EC_JWK))


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def raw(header: str, payload: str, signature: bytes = b"\x01\x02\x03\x04") -> str:
    return b64(header.encode()) + "." + b64(payload.encode()) + "." + b64(signature)


def write(name: str, data) -> None:
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(OUT, name), "wb") as handle:
        handle.write(data)


good = {"iss": "joe", "sub": "alice", "aud": "api", "exp": NOW + 600, "iat": NOW - 60, "nbf": NOW - 60,
        "scope": "read:data write:data", "roles": ["admin"], "realm_access": {"roles": ["admin"]}}
os.makedirs(OUT, exist_ok=True)
for vector in ["rfc7515-a1", "rfc7515-a2"]:
    path = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "JOSETests", "Vectors", vector + ".json")
    write(vector, json.load(open(path))["token"])
write("hs256-good", jwt.encode(good, HS_SECRET, "HS256", headers={"kid": "hs-1"}))
write("hs256-nokid", jwt.encode(good, HS_SECRET, "HS256"))
write("rs256-good", jwt.encode(dict(good, aud=["web", "api"]), RSA, "RS256", headers={"kid": "rs-1"}))
write("es256-good", jwt.encode(good, EC, "ES256", headers={"kid": "es-1"}))
write("hs256-expired", jwt.encode(dict(good, exp=NOW - 3600), HS_SECRET, "HS256", headers={"kid": "hs-1"}))
write("hs256-at-leeway", jwt.encode(dict(good, exp=NOW - 30), HS_SECRET, "HS256", headers={"kid": "hs-1"}))
write("hs256-nbf-future", jwt.encode(dict(good, nbf=NOW + 3600), HS_SECRET, "HS256", headers={"kid": "hs-1"}))
write("hs256-iat-future", jwt.encode(dict(good, iat=NOW + 3600), HS_SECRET, "HS256", headers={"kid": "hs-1"}))
write("hs256-no-exp", jwt.encode({k: v for k, v in good.items() if k != "exp"}, HS_SECRET, "HS256"))
write("hs256-floats", jwt.encode(dict(good, exp=NOW + 0.5, iat=1e300, nbf=-0.0), HS_SECRET, "HS256"))
write("hs256-aud-array", jwt.encode(dict(good, aud=["x", 1, "api"]), HS_SECRET, "HS256"))
# Algorithm confusion: the RSA public key's PEM used as an HMAC secret.
pem = RSA.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
header = b64(json.dumps({"alg": "HS256", "kid": "rs-1"}).encode())
body = b64(json.dumps(good).encode())
write("confusion-rsa-pem-as-hmac", header + "." + body + "." + b64(hmac.new(pem, (header + "." + body).encode(), hashlib.sha256).digest()))
write("alg-none", raw('{"alg":"none"}', json.dumps(good)).rsplit(".", 1)[0] + ".")
write("alg-None-signed", raw('{"alg":"None","typ":"JWT"}', json.dumps(good)))
write("alg-null", raw('{"alg":null}', json.dumps(good)))
write("embedded-jwk", raw('{"alg":"RS256","jwk":{"kty":"RSA","n":"AQAB","e":"AQAB"}}', json.dumps(good)))
write("jku", raw('{"alg":"RS256","jku":"http://127.0.0.1:1/keys"}', json.dumps(good)))
write("crit", raw('{"alg":"HS256","crit":["exp"],"exp":1}', json.dumps(good)))
write("kid-traversal", raw('{"alg":"HS256","kid":"../../etc/passwd\\u0000"}', json.dumps(good)))
write("duplicate-keys", raw('{"alg":"HS256","alg":"none"}', '{"sub":"a","sub":"b"}'))
write("payload-array", raw('{"alg":"HS256"}', '[1,2,3]'))
write("deep-nesting", raw('{"alg":"HS256"}', '{"a":' + "[" * 40 + "]" * 40 + "}"))
write("numbers", raw('{"alg":"RS256","kid":"rs-1"}', '{"exp":1e300,"iat":9223372036854775808,"nbf":-1,"x":1.5e-400}'))
write("padding", jwt.encode(good, HS_SECRET, "HS256") + "==")
write("two-segments", ".".join(jwt.encode(good, HS_SECRET, "HS256").split(".")[:2]))
write("four-segments", jwt.encode(good, HS_SECRET, "HS256") + ".AAAA")
write("std-alphabet", jwt.encode(good, HS_SECRET, "HS256").replace("-", "+").replace("_", "/"))
# Minted mode: first byte selects the key (1 HS256, 2 RS256, 3 ES256); the target signs the rest.
write("minted-hs-payload", b"\x01" + json.dumps(good).encode())
write("minted-rs-header-payload", b"\x02" + b'{"alg":"RS256","kid":"rs-1"}' + b"\x00" + json.dumps(dict(good, aud=["api"])).encode())
write("minted-es-payload", b"\x03" + json.dumps(dict(good, exp=NOW + 3599)).encode())
write("minted-hs-wrong-alg", b"\x01" + b'{"alg":"HS384","kid":"hs-1"}' + b"\x00" + json.dumps(good).encode())
write("minted-hs-lifetime", b"\x01" + json.dumps(dict(good, iat=NOW - 7200)).encode())
write("minted-hs-unicode", b"\x01" + '{"iss":"joe","sub":"\\ud83d\\ude00 é","aud":["api"],"exp":1300819600}'.encode())
