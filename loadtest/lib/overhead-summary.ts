// The router-overhead figures: per-target means and medians over rounds, and the ratios issue 3 asks for.

export type TargetKey = 'direct' | 'router' | 'haproxy' | 'bare';
export type Mode = 'max' | 'rate';

/** One run: one target, one mode, one round. Latencies in ms, CPU in µs per completed request. */
export interface Row {
  target: TargetKey;
  label: string;
  mode: Mode;
  round: number;
  /** 1-based place of this run within its round and mode (the order rotates per round). */
  position: number;
  rps: number;
  p50: number;
  p99: number;
  /** Fixed-rate runs only (autocannon's histogram has 1 ms resolution and no p99.9). */
  p999: number | null;
  requests: number;
  errors: number;
  wallS: number;
  /** null for the direct target, which has no proxy. */
  proxyCpuUsPerReq: number | null;
  /** CPU time over wall time: 1.0 is one core busy for the whole run. */
  proxyCores: number | null;
  shardCpuUsPerReq: number;
  shardCores: number;
  clientCpuUsPerReq: number;
  /** Fixed-rate runs only: how late the client wrote its requests, p99 (ms). */
  sendLagP99: number | null;
}

export interface Stat {
  mean: number | null;
  median: number | null;
}

type Agg = keyof Stat;
const FIELDS = ['rps', 'p50', 'p99', 'p999', 'proxyCpuUsPerReq', 'proxyCores', 'shardCpuUsPerReq', 'shardCores', 'clientCpuUsPerReq', 'sendLagP99'] as const;
type Field = (typeof FIELDS)[number];

export function stat(values: readonly (number | null)[]): Stat {
  const xs = values.filter((x): x is number => x !== null && Number.isFinite(x)).sort((a, b) => a - b);
  if (xs.length === 0) return { mean: null, median: null };
  const mid = Math.floor(xs.length / 2);
  const median = xs.length % 2 === 1 ? xs[mid]! : (xs[mid - 1]! + xs[mid]!) / 2;
  return { mean: xs.reduce((a, b) => a + b, 0) / xs.length, median };
}

function targetStats(rows: readonly Row[], mode: Mode, target: TargetKey): Record<Field, Stat> & { runs: number; errors: number } {
  const mine = rows.filter((r) => r.mode === mode && r.target === target);
  const out = Object.fromEntries(FIELDS.map((f) => [f, stat(mine.map((r) => r[f]))])) as Record<Field, Stat>;
  return { ...out, runs: mine.length, errors: mine.reduce((n, r) => n + r.errors, 0) };
}

const div = (a: number | null, b: number | null): number | null => (a === null || b === null || b === 0 ? null : a / b);
const sub = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : a - b);

function ratios(rows: readonly Row[], agg: Agg) {
  const v = (mode: Mode, target: TargetKey, field: Field): number | null => targetStats(rows, mode, target)[field][agg];
  const cpu = (mode: Mode) => ({ router: v(mode, 'router', 'proxyCpuUsPerReq'), haproxy: v(mode, 'haproxy', 'proxyCpuUsPerReq'), bare: v(mode, 'bare', 'proxyCpuUsPerReq') });
  return {
    routerVsHaproxyThroughput: div(v('max', 'router', 'rps'), v('max', 'haproxy', 'rps')),
    routerVsBareNodeProxyThroughput: div(v('max', 'router', 'rps'), v('max', 'bare', 'rps')),
    bareNodeProxyVsHaproxyThroughput: div(v('max', 'bare', 'rps'), v('max', 'haproxy', 'rps')),
    routerVsDirectThroughput: div(v('max', 'router', 'rps'), v('max', 'direct', 'rps')),
    haproxyVsDirectThroughput: div(v('max', 'haproxy', 'rps'), v('max', 'direct', 'rps')),
    routerAddedP50AtRateMs: sub(v('rate', 'router', 'p50'), v('rate', 'direct', 'p50')),
    routerAddedP99AtRateMs: sub(v('rate', 'router', 'p99'), v('rate', 'direct', 'p99')),
    haproxyAddedP50AtRateMs: sub(v('rate', 'haproxy', 'p50'), v('rate', 'direct', 'p50')),
    haproxyAddedP99AtRateMs: sub(v('rate', 'haproxy', 'p99'), v('rate', 'direct', 'p99')),
    bareNodeProxyAddedP50AtRateMs: sub(v('rate', 'bare', 'p50'), v('rate', 'direct', 'p50')),
    bareNodeProxyAddedP99AtRateMs: sub(v('rate', 'bare', 'p99'), v('rate', 'direct', 'p99')),
    proxyCpuUsPerRequestAtMax: cpu('max'),
    proxyCpuUsPerRequestAtRate: cpu('rate'),
    /** HAProxy's CPU per request over the router's, at max throughput: throughput per core, router vs HAProxy. */
    routerVsHaproxyRequestsPerCpuSecond: div(v('max', 'haproxy', 'proxyCpuUsPerReq'), v('max', 'router', 'proxyCpuUsPerReq')),
  };
}

export function summarize(rows: readonly Row[], targets: readonly { key: TargetKey; label: string }[]) {
  const rounds = [...new Set(rows.map((r) => r.round))].sort((a, b) => a - b);
  const per = (mode: Mode) => Object.fromEntries(targets.map((t) => [t.label, targetStats(rows, mode, t.key)]));
  return {
    max: per('max'),
    rate: per('rate'),
    ratios: { mean: ratios(rows, 'mean'), median: ratios(rows, 'median') },
    // Rounds one by one: the Node processes keep warming up over the first rounds.
    perRound: rounds.map((round) => {
      const r = ratios(
        rows.filter((x) => x.round === round),
        'mean',
      );
      return { round, routerVsHaproxyThroughput: r.routerVsHaproxyThroughput, routerAddedP99AtRateMs: r.routerAddedP99AtRateMs, haproxyAddedP99AtRateMs: r.haproxyAddedP99AtRateMs };
    }),
    errors: rows.reduce((n, r) => n + r.errors, 0),
  };
}

export type Summary = ReturnType<typeof summarize>;
