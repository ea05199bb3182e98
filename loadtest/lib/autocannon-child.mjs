// autocannon in a process of its own (so it can be pinned and its CPU stays out of the caller's):
// takes autocannon's options as one JSON argument, prints one JSON line with the figures we use.
// Usage: node loadtest/lib/autocannon-child.mjs '{"url":"http://127.0.0.1:8080/rpc","connections":32,"duration":8}'
import autocannon from 'autocannon';

const opts = JSON.parse(process.argv[2] ?? '{}');
const r = await autocannon(opts);
const cpu = process.cpuUsage();
const out = {
  requests: { average: r.requests.average, total: r.requests.total },
  latency: { p50: r.latency.p50, p99: r.latency.p99, average: r.latency.average },
  non2xx: r.non2xx,
  errors: r.errors,
  timeouts: r.timeouts,
  durationS: r.duration,
  clientCpuUs: cpu.user + cpu.system,
};
process.stdout.write(`${JSON.stringify(out)}\n`, () => process.exit(0));
