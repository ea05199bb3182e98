// A shard process with cron for the SIGKILL test: adds two webhook jobs (retry 1 and retry 0) and fires them at 10:00.
import { ManualClock } from './manual-clock.ts';
import { cronHarness } from './cron-harness.ts';

const [dataDir, url] = process.argv.slice(2) as [string, string];
const clock = new ManualClock('2026-05-01T09:59:00Z');
const h = cronHarness(dataDir, clock, { cron: { jitterSeconds: 0 } });
await h.tenant('acme');
const retried = h.cron.add(h.caller('acme'), { name: 'retried', schedule: '0 10 * * *', action: { type: 'webhook', url }, retry: { attempts: 1, backoff: '1m' } });
const once = h.cron.add(h.caller('acme'), { name: 'no-retry', schedule: '0 10 * * *', action: { type: 'webhook', url } });
process.stdout.write(`${JSON.stringify({ retried: retried.id, once: once.id })}\n`);
clock.set('2026-05-01T10:00:00Z');
// The webhooks never answer: the parent kills this process mid-run.
