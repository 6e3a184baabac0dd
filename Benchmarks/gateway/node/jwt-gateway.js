// node-seed-jwt: the seed tutorial's gateway with TLS and JWT verification added the way a reader of the
// tutorial would: https.createServer around the same Express app, a middleware that verifies the token
// with node's crypto module (RS256 with the RSA public key, HS256 with the shared secret; the key is
// chosen by the algorithm, `none` and every other alg are refused), checks exp, iss and aud, then
// per-route scope and role rules, and passes the subject upstream as X-User-Id.
// Proxying is unchanged from the tutorial (http-proxy, no agent: a new upstream connection per request).
//
//   node jwt-gateway.js CONFIG.json
//   keys: port, serviceA, serviceB, cert, key, rsPublicKey (PEM path), hsSecretJwk (JWK path), issuer, audience
'use strict';
const fs = require('fs');
const https = require('https');
const crypto = require('crypto');
const express = require('express');
const httpProxy = require('http-proxy');

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const rsPublicKey = crypto.createPublicKey(fs.readFileSync(config.rsPublicKey));
const hsSecret = Buffer.from(JSON.parse(fs.readFileSync(config.hsSecretJwk, 'utf8')).k, 'base64url');

function unauthorized(res, error, status = 401) {
  res.status(status)
    .set('WWW-Authenticate', `Bearer realm="node", error="${error}"`)
    .json({ error });
}

function decodeSegment(segment) {
  return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
}

function verifyJwt(token) {
  const parts = token.split('.');
  if (parts.length !== 3) throw new Error('malformed token');
  const header = decodeSegment(parts[0]);
  const signingInput = Buffer.from(`${parts[0]}.${parts[1]}`);
  const signature = Buffer.from(parts[2], 'base64url');
  let valid = false;
  if (header.alg === 'RS256') {
    valid = crypto.verify('RSA-SHA256', signingInput, rsPublicKey, signature);
  } else if (header.alg === 'HS256') {
    const mac = crypto.createHmac('sha256', hsSecret).update(signingInput).digest();
    valid = mac.length === signature.length && crypto.timingSafeEqual(mac, signature);
  } else {
    throw new Error('algorithm not allowed');
  }
  if (!valid) throw new Error('bad signature');
  const claims = decodeSegment(parts[1]);
  const now = Math.floor(Date.now() / 1000);
  if (typeof claims.exp !== 'number' || claims.exp <= now) throw new Error('expired');
  if (typeof claims.nbf === 'number' && claims.nbf > now) throw new Error('not yet valid');
  if (claims.iss !== config.issuer) throw new Error('bad issuer');
  const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!aud.includes(config.audience)) throw new Error('bad audience');
  if (typeof claims.sub !== 'string') throw new Error('no subject');
  return claims;
}

function authenticate(req, res, next) {
  const header = req.headers.authorization || '';
  const match = /^Bearer ([A-Za-z0-9._~+\/-]+=*)$/.exec(header);
  if (!match) return unauthorized(res, 'invalid_request');
  try {
    req.user = verifyJwt(match[1]);
  } catch (err) {
    return unauthorized(res, 'invalid_token');
  }
  delete req.headers.authorization;
  req.headers['x-user-id'] = req.user.sub;   // replaces anything the client sent
  next();
}

const requireScope = (scope) => (req, res, next) =>
  typeof req.user.scope === 'string' && req.user.scope.split(' ').includes(scope)
    ? next() : unauthorized(res, 'insufficient_scope', 403);

const requireRole = (role) => (req, res, next) =>
  Array.isArray(req.user.roles) && req.user.roles.includes(role)
    ? next() : unauthorized(res, 'insufficient_scope', 403);

const app = express();
const proxy = httpProxy.createProxyServer({});
proxy.on('error', (err, req, res) => {
  if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
  res.end('bad gateway');
});

app.all(/^\/api\/data(\/.*)?$/, authenticate, requireScope('read:data'), (req, res) => {
  proxy.web(req, res, { target: config.serviceA });
});

app.all(/^\/admin(\/.*)?$/, authenticate, requireRole('admin'), (req, res) => {
  proxy.web(req, res, { target: config.serviceA });
});

const server = https.createServer({
  cert: fs.readFileSync(config.cert),
  key: fs.readFileSync(config.key),
  minVersion: 'TLSv1.2',
}, app);
server.keepAliveTimeout = 300000;
server.headersTimeout = 301000;
server.listen(config.port, '127.0.0.1', () => {
  console.log(`node-seed-jwt listening on 127.0.0.1:${config.port}`);
});
