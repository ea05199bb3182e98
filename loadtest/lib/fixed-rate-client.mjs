// Open-loop HTTP/1.1 latency client: request i is due at t0 + i/rate and its latency runs from that
// due time, so time spent waiting for a free connection counts (no coordinated omission).
// Raw keep-alive `net` sockets, one pre-built request, responses framed by content-length; a
// worker thread keeps the schedule with Atomics.wait (sub-millisecond, unlike setTimeout's 1 ms).
// Runs as its own process and prints one JSON line (latencies in ms, 3 decimals), then exits. The
// first --warmup seconds run the same schedule unrecorded (this process's own JIT warm-up).
// Usage: node loadtest/lib/fixed-rate-client.mjs --url http://127.0.0.1:8080 [--path /rpc] [--method POST]
//          [--headers '{"authorization":"Bearer x"}'] [--body '{...}'] [--rate 500] [--duration 10] [--warmup 1]
//          [--connections 10] [--timeout-ms 2000] [--grace-ms 2000] [--spin-us 100]
import { connect } from 'node:net';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';

const { values: opt } = parseArgs({
  options: {
    url: { type: 'string' },
    path: { type: 'string', default: '/' },
    method: { type: 'string', default: 'GET' },
    headers: { type: 'string', default: '{}' },
    body: { type: 'string', default: '' },
    rate: { type: 'string', default: '500' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '1' },
    connections: { type: 'string', default: '10' },
    'timeout-ms': { type: 'string', default: '2000' },
    'grace-ms': { type: 'string', default: '2000' },
    'spin-us': { type: 'string', default: '100' },
  },
  strict: true,
});
function positive(name) {
  const n = Number(opt[name]);
  if (!Number.isFinite(n) || n <= 0) fail(`--${name} must be a positive number (got ${opt[name]})`);
  return n;
}
function fail(message) {
  process.stderr.write(`fixed-rate-client: ${message}\n`);
  process.exit(2);
}
if (!opt.url) fail('--url is required');
const target = new URL(opt.url);
if (target.protocol !== 'http:') fail('only http:// targets are supported');
const RATE = positive('rate');
const DURATION_S = positive('duration');
const CONNECTIONS = Math.floor(positive('connections'));
const TIMEOUT_NS = positive('timeout-ms') * 1e6;
const GRACE_MS = positive('grace-ms');
const SPIN_NS = Math.max(0, Number(opt['spin-us']) || 0) * 1e3;
const WARMUP_S = Math.max(0, Number(opt.warmup) || 0);
const FIRST = Math.round(RATE * WARMUP_S); // requests [FIRST, TOTAL) are measured
const TOTAL = FIRST + Math.max(1, Math.round(RATE * DURATION_S));
const INTERVAL_NS = 1e9 / RATE;
const HOST = target.hostname.replace(/^\[|\]$/g, '');
const PORT = Number(target.port || 80);

const REQUEST = (() => {
  const body = Buffer.from(opt.body, 'utf8');
  const headers = { host: target.host, ...JSON.parse(opt.headers) };
  const lines = [`${opt.method.toUpperCase()} ${opt.path} HTTP/1.1`];
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() !== 'content-length') lines.push(`${k}: ${v}`);
  if (body.length > 0 || !['GET', 'HEAD'].includes(opt.method.toUpperCase())) lines.push(`content-length: ${body.length}`);
  lines.push('connection: keep-alive', '', '');
  return Buffer.concat([Buffer.from(lines.join('\r\n'), 'latin1'), body]);
})();
const HEAD_REQUEST = opt.method.toUpperCase() === 'HEAD';

const latencyNs = new Float64Array(TOTAL).fill(NaN);
const sendLagNs = new Float64Array(TOTAL).fill(NaN);
const OK = 1;
const NON_2XX = 2;
const ERROR = 3;
const TIMEOUT = 4;
const outcome = new Uint8Array(TOTAL); // 0 while pending
let t0 = 0n;
let dueUpTo = 0; // requests [0, dueUpTo) are due
let nextSend = 0; // requests [nextSend, dueUpTo) wait for a free connection
let lastDoneNs = 0;
let finished = false;
const idle = [];
const conns = [];

const sinceT0 = () => Number(process.hrtime.bigint() - t0);

function openConnection(conn) {
  const sock = connect({ host: HOST, port: PORT, noDelay: true });
  conn.sock = sock;
  conn.buf = null;
  conn.req = -1;
  conn.ready = false;
  sock.on('connect', () => {
    conn.ready = true;
    conn.failures = 0;
    conn.onReady?.();
    conn.onReady = undefined;
    release(conn);
  });
  sock.on('data', (chunk) => onData(conn, chunk));
  sock.on('error', () => {}); // 'close' follows and handles it
  sock.on('close', () => {
    if (conn.sock !== sock) return;
    if (conn.req >= 0) outcome[conn.req] = ERROR;
    conn.req = -1;
    conn.ready = false;
    const i = idle.indexOf(conn);
    if (i >= 0) idle.splice(i, 1);
    if (finished) return;
    conn.failures = (conn.failures ?? 0) + 1;
    setTimeout(() => finished || openConnection(conn), Math.min(1000, 20 * conn.failures)).unref();
  });
}

function release(conn) {
  conn.req = -1;
  idle.push(conn);
  dispatch();
}

function dispatch() {
  while (nextSend < dueUpTo && idle.length > 0) {
    const conn = idle.shift(); // round robin, so no connection idles long enough to be closed
    const i = nextSend++;
    conn.req = i;
    conn.buf = null;
    conn.head = null;
    sendLagNs[i] = sinceT0() - i * INTERVAL_NS;
    conn.sock.write(REQUEST);
  }
  maybeDone();
}

function onData(conn, chunk) {
  if (conn.req < 0) return conn.sock.destroy(); // bytes nobody asked for: drop the connection
  conn.buf = conn.buf === null ? chunk : Buffer.concat([conn.buf, chunk]);
  if (conn.head === null) {
    const end = conn.buf.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = conn.buf.toString('latin1', 0, end);
    const status = Number(head.slice(9, 12));
    const cl = /\r\ncontent-length:[ \t]*(\d+)/i.exec(head);
    let bodyLength;
    if (HEAD_REQUEST || status === 204 || status === 304 || (status >= 100 && status < 200)) bodyLength = 0;
    else if (cl) bodyLength = Number(cl[1]);
    else return conn.sock.destroy(); // chunked or close-delimited: not supported, counted as an error
    conn.head = { status, total: end + 4 + bodyLength, close: /\r\nconnection:[ \t]*close/i.test(head) };
  }
  if (conn.buf.length < conn.head.total) return;
  const i = conn.req;
  const doneNs = sinceT0();
  latencyNs[i] = doneNs - i * INTERVAL_NS;
  lastDoneNs = Math.max(lastDoneNs, doneNs);
  outcome[i] = conn.head.status >= 200 && conn.head.status < 300 ? OK : NON_2XX;
  // A server closing the connection, or bytes past the response, end this connection (it reconnects).
  const drop = conn.head.close || conn.buf.length > conn.head.total;
  conn.buf = null;
  conn.head = null;
  if (drop) {
    conn.req = -1;
    conn.sock.destroy();
  } else release(conn);
}

// Requests in flight past the timeout: count them, drop their connection (it reconnects).
const sweeper = setInterval(() => {
  const now = sinceT0();
  for (const conn of conns) {
    if (conn.req >= 0 && now - conn.req * INTERVAL_NS > TIMEOUT_NS) {
      outcome[conn.req] = TIMEOUT;
      conn.req = -1;
      conn.sock.destroy();
    }
  }
}, 50);
sweeper.unref();

function maybeDone() {
  if (!finished && dueUpTo === TOTAL && nextSend === TOTAL && conns.every((c) => c.req < 0)) finish();
}

function finish() {
  if (finished) return;
  finished = true;
  clearInterval(sweeper);
  for (const c of conns) c.sock?.destroy();
  const count = (code) => outcome.subarray(FIRST).filter((o) => o === code).length;
  const measured = (xs) => xs.subarray(FIRST).filter((x) => !Number.isNaN(x)).sort();
  const done = measured(latencyNs);
  const lags = measured(sendLagNs);
  const pct = (xs, q) => (xs.length === 0 ? null : Number((xs[Math.max(0, Math.ceil(q * xs.length) - 1)] / 1e6).toFixed(3)));
  const cpu = process.cpuUsage();
  const timeouts = count(0) + count(TIMEOUT); // still pending at the end: unsent or in flight
  const result = {
    url: `${target.origin}${opt.path}`,
    rate: RATE,
    durationS: DURATION_S,
    warmupS: WARMUP_S,
    connections: CONNECTIONS,
    scheduled: TOTAL - FIRST,
    sent: lags.length,
    ok: count(OK),
    non2xx: count(NON_2XX),
    errors: count(ERROR) + timeouts,
    timeouts,
    p50: pct(done, 0.5),
    p90: pct(done, 0.9),
    p99: pct(done, 0.99),
    p999: pct(done, 0.999),
    max: pct(done, 1),
    achievedRate: Number((done.length / Math.max(DURATION_S, lastDoneNs / 1e9 - WARMUP_S)).toFixed(1)),
    // How late the client itself wrote requests (schedule precision plus waiting for a connection).
    sendLagP50: pct(lags, 0.5),
    sendLagP99: pct(lags, 0.99),
    // Warm-up included: what the target served while this process ran, and what this process spent.
    completedWithWarmup: outcome.filter((o) => o === OK || o === NON_2XX).length,
    clientCpuUs: cpu.user + cpu.system,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
}

async function main() {
  const connectDeadline = setTimeout(() => fail(`could not open ${CONNECTIONS} connections to ${target.host} within 5 s`), 5000);
  await Promise.all(
    Array.from({ length: CONNECTIONS }, () => {
      const conn = { sock: null, buf: null, head: null, req: -1, ready: false, failures: 0, onReady: undefined };
      conns.push(conn);
      return new Promise((resolve) => {
        conn.onReady = resolve;
        openConnection(conn);
      });
    }),
  );
  clearTimeout(connectDeadline);
  // The ticker posts t0 first, then the count of requests due each time it wakes. It wakes --spin-us
  // early and spins the rest: a sleeping thread wakes 100+ µs late on a small VM.
  const ticker = new Worker(
    `const { parentPort, workerData: { total, intervalNs, spinNs } } = require('node:worker_threads');
     const cell = new Int32Array(new SharedArrayBuffer(4));
     const t0 = process.hrtime.bigint() + 2_000_000n;
     parentPort.postMessage(t0);
     let due = 0;
     while (due < total) {
       const now = Number(process.hrtime.bigint() - t0);
       const nowDue = now < 0 ? 0 : Math.min(total, Math.floor(now / intervalNs) + 1);
       if (nowDue > due) { due = nowDue; parentPort.postMessage(due); continue; }
       const aheadNs = due * intervalNs - now;
       if (aheadNs > spinNs) Atomics.wait(cell, 0, 0, (aheadNs - spinNs) / 1e6);
     }`,
    { eval: true, workerData: { total: TOTAL, intervalNs: INTERVAL_NS, spinNs: SPIN_NS } },
  );
  ticker.on('error', (err) => fail(`ticker: ${err.message}`));
  ticker.on('message', (m) => {
    if (typeof m === 'bigint') {
      t0 = m;
      // Past the schedule plus the grace, whatever is left is counted as timed out.
      const endMs = (WARMUP_S + DURATION_S) * 1000 + GRACE_MS + Number(t0 - process.hrtime.bigint()) / 1e6;
      setTimeout(finish, Math.max(0, endMs)).unref();
      setTimeout(() => process.exit(3), endMs + 5000).unref();
      return;
    }
    dueUpTo = m;
    dispatch();
  });
  // Keep the process alive until finish() exits it, even when every socket is idle.
  setInterval(() => {}, 1 << 30);
}

await main();
