// The floor for a Node proxy: an http server that forwards every request to one upstream with an
// undici Pool and streams both ways. No tenant resolution, no manifest, no metrics, no retries.
// Used by router-overhead.ts to separate "Node proxying" from "our router's work".
// Usage: node loadtest/bare-node-proxy.mjs <upstream-url>   (prints the listening port)
import { createServer } from 'node:http';
import { Pool } from 'undici';

const upstream = process.argv[2];
const pool = new Pool(upstream, { connections: 64, pipelining: 1 });
const server = createServer((req, res) => {
  pool.stream(
    { path: req.url, method: req.method, headers: req.headers, body: req.method === 'GET' || req.method === 'HEAD' ? null : req },
    ({ statusCode, headers }) => {
      res.writeHead(statusCode, headers);
      return res;
    },
    (err) => {
      if (err && !res.headersSent) {
        res.writeHead(502);
        res.end();
      }
    },
  );
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
process.on('SIGTERM', () => server.close(() => pool.close().then(() => process.exit(0))));
