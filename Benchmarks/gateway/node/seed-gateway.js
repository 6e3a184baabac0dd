// node-seed: the seed tutorial's API gateway, Express + http-proxy, as the tutorial writes it:
// one proxy, no agent (so no upstream keep-alive), /api/data -> service-a, /api/info -> service-b,
// no TLS and no authentication.
//
//   node seed-gateway.js CONFIG.json      (keys: port, serviceA, serviceB)
//
// Routes are regular expressions: Debian's express 4.18 uses a newer path-to-regexp that refuses '/api/data/*'.
// Debian's node-express / node-http-proxy live in /usr/share/nodejs (run with NODE_PATH set to it).
'use strict';
const fs = require('fs');
const express = require('express');
const httpProxy = require('http-proxy');

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const app = express();
const proxy = httpProxy.createProxyServer({});

proxy.on('error', (err, req, res) => {
  if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
  res.end('bad gateway');
});

app.all(/^\/api\/data(\/.*)?$/, (req, res) => {
  proxy.web(req, res, { target: config.serviceA });
});

app.all(/^\/api\/info(\/.*)?$/, (req, res) => {
  proxy.web(req, res, { target: config.serviceB });
});

const server = app.listen(config.port, '127.0.0.1', () => {
  console.log(`node-seed listening on 127.0.0.1:${config.port}`);
});
// Hold idle keep-alive connections like the other contestants (Node's default is 5 s).
server.keepAliveTimeout = 300000;
server.headersTimeout = 301000;
