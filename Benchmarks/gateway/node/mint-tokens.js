// Mints COUNT distinct JWTs (one per line) for the rotation token mode: sub user-00000.., the same claims
// as the single keytool-minted token. node's crypto is used only for speed (keytool is one process per
// token); the correctness pass checks a sample of these tokens against every contestant.
//
//   node mint-tokens.js ALG KEYFILE KID COUNT ISSUER AUDIENCE TTL_SECONDS OUT
//   ALG: RS256 (KEYFILE: PKCS#8 PEM) or HS256 (KEYFILE: JWK with "k")
'use strict';
const fs = require('fs');
const crypto = require('crypto');

const [alg, keyFile, kid, countText, issuer, audience, ttlText, out] = process.argv.slice(2);
const count = Number(countText);
const ttl = Number(ttlText);
const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
const header = b64({ alg, kid, typ: 'JWT' });
let sign;
if (alg === 'RS256') {
  const key = crypto.createPrivateKey(fs.readFileSync(keyFile));
  sign = (input) => crypto.sign('RSA-SHA256', Buffer.from(input), key);
} else if (alg === 'HS256') {
  const secret = Buffer.from(JSON.parse(fs.readFileSync(keyFile, 'utf8')).k, 'base64url');
  sign = (input) => crypto.createHmac('sha256', secret).update(input).digest();
} else {
  throw new Error(`unsupported alg ${alg}`);
}
const now = Math.floor(Date.now() / 1000);
const lines = [];
for (let i = 0; i < count; i++) {
  const claims = {
    iss: issuer, aud: audience, sub: `user-${String(i).padStart(5, '0')}`,
    iat: now, exp: now + ttl, scope: 'read:data', roles: ['admin'],
  };
  const input = `${header}.${b64(claims)}`;
  lines.push(`${input}.${sign(input).toString('base64url')}`);
}
fs.writeFileSync(out, lines.join('\n') + '\n');
