#!/usr/bin/env python3
"""Interop helper: make keys, mint and verify JWTs with PyJWT, independently of our Swift code.

Swift tests call this through a subprocess to check that tokens made by one side are
accepted by the other. Requires: Python 3.8+, `pip install pyjwt cryptography`.

Commands
  keygen ALG OUTDIR [--kid KID]
      Make a fresh key for ALG in OUTDIR (created if missing) and print a JSON summary.
        HS256/HS384/HS512  key.jwk.json   {"kty":"oct","k":...}: random secret, as long as the hash
                                          (32/48/64 bytes); jwks.json holds the same key with a kid.
        RS*/PS*            2048-bit RSA, e=65537
        ES256 / ES384      P-256 / P-384
        EdDSA              Ed25519
      Asymmetric algs write private.pem (PKCS#8, unencrypted), public.pem (SPKI),
      private.jwk.json, public.jwk.json and jwks.json ({"keys":[public JWK]}).
      JWKs carry "kid" (default: the RFC 7638 SHA-256 thumbprint), "alg" and "use":"sig".

  mint ALG KEYFILE CLAIMS [--kid KID] [--header JSON] [--no-typ]
      Print one compact JWS signed by PyJWT. KEYFILE: a PEM private key (RS*/PS*/ES*/EdDSA),
      or a JWK JSON (oct for HS*, or a private JWK). CLAIMS: a JSON object, '@FILE' or '-' (stdin).
      The header is {"alg":ALG,"typ":"JWT"} (+ "kid", + --header members), keys sorted (PyJWT).

  verify ALG KEYFILE TOKEN [--aud A] [--iss I] [--leeway S] [--require CLAIM]... [--no-exp]
                           [--complete]
      Verify with PyJWT, allowing only ALG. KEYFILE: a PEM public key (a private key or an X.509
      certificate also works: its public key is used), a JWK JSON, or a JWKS JSON ({"keys":[...]}),
      from which the key is picked by the token's "kid" (a token without kid needs a one-key set).
      A JWK whose "alg" is not ALG, or whose "use" is not "sig", is refused.
      TOKEN: the compact token, '@FILE' or '-' (stdin).
      Valid:   prints the claims as JSON (sorted keys; with --complete {"header":..,"claims":..}),
               exit 0.
      Invalid: prints 'invalid: <ExceptionName>: <message>' on stdout, exit 1.

  version
      Print {"python":..,"pyjwt":..,"cryptography":..} as JSON.

Exit codes: 0 ok, 1 token invalid (verify) , 2 usage or unreadable/malformed input,
3 PyJWT or cryptography not installed.

PyJWT checks by default, when the claim is present: exp (must be > now - leeway), nbf and iat
(must be <= now + leeway), sub and jti (must be strings); "aud" in the token with no --aud
given is rejected; --aud/--iss make those claims required and compared exactly.
"""

import argparse
import base64
import hashlib
import json
import os
import secrets
import sys

try:
    import jwt
    from jwt.algorithms import get_default_algorithms
    import cryptography
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
except ImportError as exc:  # pragma: no cover - depends on the environment
    sys.stderr.write(
        "error: %s\nthis helper needs PyJWT and cryptography: pip install pyjwt cryptography\n" % exc
    )
    sys.exit(3)

HMAC_ALGS = {"HS256": 32, "HS384": 48, "HS512": 64}
RSA_ALGS = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
EC_ALGS = {"ES256": ec.SECP256R1, "ES384": ec.SECP384R1}
ALGS = sorted(set(HMAC_ALGS) | RSA_ALGS | set(EC_ALGS) | {"EdDSA"})

EXIT_INVALID = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """Bad arguments or an unreadable / malformed input file (exit 2)."""


class Invalid(Exception):
    """Verification failed for a reason found outside PyJWT, e.g. no key for the kid (exit 1)."""


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def thumbprint(jwk):
    """RFC 7638 JWK thumbprint (SHA-256) over the required public members."""
    required = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y"),
                "OKP": ("crv", "kty", "x"), "oct": ("k", "kty")}[jwk["kty"]]
    canonical = json.dumps({k: jwk[k] for k in required}, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


def read_arg(value, what):
    """A literal, '@FILE' or '-' (stdin)."""
    try:
        if value == "-":
            return sys.stdin.read()
        if value.startswith("@"):
            with open(value[1:], "r", encoding="utf-8") as fh:
                return fh.read()
    except OSError as exc:
        raise UsageError("cannot read %s: %s" % (what, exc))
    return value


def read_file(path):
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise UsageError("cannot read key file: %s" % exc)


def parse_json(text, what):
    try:
        return json.loads(text)
    except ValueError as exc:
        raise UsageError("%s is not valid JSON: %s" % (what, exc))


def write(path, data, private=False):
    if isinstance(data, str):
        data = data.encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def dump_json(obj):
    return json.dumps(obj, indent=2, sort_keys=True) + "\n"


# ---------------------------------------------------------------- keygen

def cmd_keygen(args):
    alg = args.alg
    os.makedirs(args.outdir, exist_ok=True)
    files = {}
    if alg in HMAC_ALGS:
        jwk = {"kty": "oct", "k": b64url(secrets.token_bytes(HMAC_ALGS[alg]))}
        kid = args.kid or thumbprint(jwk)
        files["key.jwk.json"] = dump_json(jwk)
        files["jwks.json"] = dump_json({"keys": [dict(jwk, kid=kid, alg=alg, use="sig")]})
        for name, data in files.items():
            write(os.path.join(args.outdir, name), data, private=True)
    else:
        if alg in RSA_ALGS:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        elif alg in EC_ALGS:
            key = ec.generate_private_key(EC_ALGS[alg]())
        else:  # EdDSA
            key = ed25519.Ed25519PrivateKey.generate()
        algorithm = get_default_algorithms()[alg]
        # json.loads(to_jwk(...)): to_jwk's as_dict= is missing in older PyJWT (Debian's 2.6)
        private_jwk = json.loads(algorithm.to_jwk(key))
        public_jwk = json.loads(algorithm.to_jwk(key.public_key()))
        kid = args.kid or thumbprint(public_jwk)
        for jwk in (private_jwk, public_jwk):
            jwk.update(kid=kid, alg=alg, use="sig")
        private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
        public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)
        write(os.path.join(args.outdir, "private.pem"), private_pem, private=True)
        write(os.path.join(args.outdir, "private.jwk.json"), dump_json(private_jwk), private=True)
        write(os.path.join(args.outdir, "public.pem"), public_pem)
        write(os.path.join(args.outdir, "public.jwk.json"), dump_json(public_jwk))
        write(os.path.join(args.outdir, "jwks.json"), dump_json({"keys": [public_jwk]}))
        files = {n: None for n in ("private.pem", "public.pem", "private.jwk.json",
                                   "public.jwk.json", "jwks.json")}
    summary = {"alg": alg, "kid": kid,
               "files": {n: os.path.join(args.outdir, n) for n in sorted(files)}}
    print(json.dumps(summary, sort_keys=True))
    return 0


# ---------------------------------------------------------------- key loading

def is_pem(raw):
    return raw.lstrip().startswith(b"-----BEGIN")


def jwk_for(alg, obj, what):
    """Build a PyJWK bound to alg, refusing a JWK that names another alg or use."""
    if not isinstance(obj, dict) or "kty" not in obj:
        raise UsageError("%s is not a JWK object" % what)
    if obj.get("alg") not in (None, alg):
        raise Invalid("JWK alg %r does not match %s" % (obj.get("alg"), alg))
    if obj.get("use") not in (None, "sig"):
        raise Invalid("JWK use %r is not 'sig'" % obj.get("use"))
    try:
        return jwt.PyJWK(obj, algorithm=alg)
    except jwt.PyJWTError as exc:
        raise Invalid("%s: %s" % (type(exc).__name__, exc))


def load_signing_key(alg, path, kid):
    raw = read_file(path)
    if is_pem(raw):
        if alg in HMAC_ALGS:
            raise UsageError("%s needs a JWK oct key file, not a PEM" % alg)
        try:
            return serialization.load_pem_private_key(raw, password=None)
        except (ValueError, TypeError) as exc:
            raise UsageError("cannot load PEM private key: %s" % exc)
    obj = parse_json(raw.decode("utf-8", "replace"), "key file")
    if isinstance(obj, dict) and "keys" in obj:
        keys = [k for k in obj["keys"] if kid is None or k.get("kid") == kid]
        if len(keys) != 1:
            raise UsageError("JWKS has %d keys matching kid %r, need exactly 1" % (len(keys), kid))
        obj = keys[0]
    try:
        # the bare key object, not the PyJWK: older PyJWT cannot take a PyJWK in encode()
        return jwk_for(alg, obj, "key file").key
    except Invalid as exc:
        raise UsageError(str(exc))


def public_half(key):
    return key.public_key() if hasattr(key, "public_key") and not hasattr(key, "verify") else key


def load_verifying_key(alg, path, token):
    raw = read_file(path)
    if is_pem(raw):
        for loader in (lambda: serialization.load_pem_public_key(raw),
                       lambda: serialization.load_pem_private_key(raw, password=None).public_key(),
                       lambda: x509.load_pem_x509_certificate(raw).public_key()):
            try:
                return loader()
            except (ValueError, TypeError):
                continue
        raise UsageError("cannot load PEM key file %s (not a public key, private key or cert)" % path)
    obj = parse_json(raw.decode("utf-8", "replace"), "key file")
    if isinstance(obj, dict) and "keys" in obj:
        if not isinstance(obj["keys"], list):
            raise UsageError("JWKS 'keys' is not a list")
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError as exc:
            raise Invalid("%s: %s" % (type(exc).__name__, exc))
        if kid is None:
            if len(obj["keys"]) != 1:
                raise Invalid("token has no kid and the JWKS has %d keys" % len(obj["keys"]))
            obj = obj["keys"][0]
        else:
            matches = [k for k in obj["keys"] if isinstance(k, dict) and k.get("kid") == kid]
            if not matches:
                raise Invalid("no key with kid %r in the JWKS" % kid)
            if len(matches) > 1:
                raise Invalid("%d keys with kid %r in the JWKS" % (len(matches), kid))
            obj = matches[0]
    # The bare key object (older PyJWT cannot take a PyJWK in decode()); the algorithm stays
    # pinned by algorithms=[ALG]. A private JWK is accepted: verify with its public half.
    return public_half(jwk_for(alg, obj, "key file").key)


# ---------------------------------------------------------------- mint / verify

def cmd_mint(args):
    claims = parse_json(read_arg(args.claims, "claims"), "CLAIMS")
    if not isinstance(claims, dict):
        raise UsageError("CLAIMS must be a JSON object")
    headers = {}
    if args.header:
        headers = parse_json(read_arg(args.header, "header"), "--header")
        if not isinstance(headers, dict):
            raise UsageError("--header must be a JSON object")
    if args.kid is not None:
        headers["kid"] = args.kid
    if args.no_typ:
        headers["typ"] = None
    key = load_signing_key(args.alg, args.keyfile, args.kid)
    try:
        token = jwt.encode(claims, key, algorithm=args.alg, headers=headers or None)
    except (jwt.PyJWTError, TypeError, ValueError) as exc:
        raise UsageError("PyJWT could not sign: %s: %s" % (type(exc).__name__, exc))
    print(token)
    return 0


def cmd_verify(args):
    token = read_arg(args.token, "token").strip()
    try:
        key = load_verifying_key(args.alg, args.keyfile, token)
        options = {"require": args.require or []}
        if args.no_exp:
            options["verify_exp"] = False
        decoded = jwt.PyJWT().decode_complete(token, key, algorithms=[args.alg], audience=args.aud,
                                      issuer=args.iss, leeway=args.leeway, options=options)
    except Invalid as exc:
        print("invalid: %s" % exc)
        return EXIT_INVALID
    except (jwt.PyJWTError, TypeError, ValueError) as exc:
        # TypeError/ValueError: PyJWT refusing a key of the wrong type for ALG
        print("invalid: %s: %s" % (type(exc).__name__, exc))
        return EXIT_INVALID
    if args.complete:
        out = {"header": decoded["header"], "claims": decoded["payload"]}
    else:
        out = decoded["payload"]
    print(json.dumps(out, sort_keys=True, separators=(",", ":")))
    return 0


def cmd_version(_args):
    print(json.dumps({"python": sys.version.split()[0], "pyjwt": jwt.__version__,
                      "cryptography": cryptography.__version__}, sort_keys=True))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="pyjwt_interop.py",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=__doc__,
        epilog="Algorithms: " + ", ".join(ALGS) + ". Run 'pyjwt_interop.py COMMAND --help' "
               "for one command's options.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("keygen", help="write a fresh key for ALG into OUTDIR",
                       description="HS*: OUTDIR/key.jwk.json (+ jwks.json). RS*/PS* (RSA 2048), "
                       "ES256 (P-256), ES384 (P-384), EdDSA (Ed25519): private.pem (PKCS#8), "
                       "public.pem (SPKI), private.jwk.json, public.jwk.json, jwks.json. "
                       "Prints {\"alg\",\"kid\",\"files\"} as JSON.")
    p.add_argument("alg", metavar="ALG", choices=ALGS)
    p.add_argument("outdir", metavar="OUTDIR")
    p.add_argument("--kid", help="kid for the JWK files (default: RFC 7638 thumbprint)")
    p.set_defaults(func=cmd_keygen)

    p = sub.add_parser("mint", help="print a compact token signed by PyJWT",
                       description="Sign CLAIMS with PyJWT and print the compact token.")
    p.add_argument("alg", metavar="ALG", choices=ALGS)
    p.add_argument("keyfile", metavar="KEYFILE",
                   help="PEM private key, or JWK JSON (oct for HS*), or a JWKS (key picked by --kid)")
    p.add_argument("claims", metavar="CLAIMS_JSON", help="JSON object, '@FILE' or '-' for stdin")
    p.add_argument("--kid", help="put this kid in the protected header")
    p.add_argument("--header", help="extra protected header members as a JSON object (or @FILE)")
    p.add_argument("--no-typ", action="store_true", help='omit the default "typ":"JWT" header')
    p.set_defaults(func=cmd_mint)

    p = sub.add_parser("verify", help="verify a token with PyJWT; print its claims or 'invalid: ...'",
                       description="Verify TOKEN with PyJWT, allowing only ALG. Prints the claims "
                       "as JSON and exits 0, or prints 'invalid: <exception>' and exits 1.")
    p.add_argument("alg", metavar="ALG", choices=ALGS)
    p.add_argument("keyfile", metavar="KEYFILE",
                   help="PEM public key (or private key / certificate), JWK JSON, or JWKS JSON "
                   "(key chosen by the token's kid)")
    p.add_argument("token", metavar="TOKEN", help="compact token, '@FILE' or '-' for stdin")
    p.add_argument("--aud", help="required audience")
    p.add_argument("--iss", help="required issuer")
    p.add_argument("--leeway", type=float, default=0, help="clock leeway in seconds (default 0)")
    p.add_argument("--require", action="append", metavar="CLAIM",
                   help="claim that must be present (repeatable)")
    p.add_argument("--no-exp", action="store_true", help="do not check exp (e.g. old RFC vectors)")
    p.add_argument("--complete", action="store_true",
                   help='print {"header":...,"claims":...} instead of the claims alone')
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("version", help="print Python, PyJWT and cryptography versions")
    p.set_defaults(func=cmd_version)

    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except UsageError as exc:
        sys.stderr.write("error: %s\n" % exc)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
