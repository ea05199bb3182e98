// `openclawmu billing report <id> [--csv]` and `openclawmu billing summary`: the usage ledger as a
// bill (control plane, admin key), for one tenant or every tenant.
import type { Command } from 'commander';
import type { Totals } from '../../shard/ai/usage/usage-ledger.ts';
import { AppError } from '../../router/errors/app-error.ts';
import { ControlClient, resolveClientTarget, type ClientOptions } from '../client/control-client.ts';
import { exitWithError, table } from '../output.ts';

interface Opts extends ClientOptions {
  json?: boolean;
  csv?: boolean;
  from?: string;
  to?: string;
}


interface Bill {
  id: string;
  from: string;
  to: string;
  totals: Totals;
  rows?: { model: string; costUsd: number; inputTokens: number; outputTokens: number; cacheReadTokens: number; cacheWriteTokens: number; reasoningTokens: number }[];
}

function withOptions(cmd: Command): Command {
  return cmd
    .option('--url <url>', 'router or shard URL (env OPENCLAWMU_URL; default http://127.0.0.1:18789)')
    .option('--admin-key <ak_...>', 'admin key (env OPENCLAWMU_ADMIN_KEY; else .openclawmu/dev.json)')
    .option('--data <dir>', 'where `openclawmu dev` keeps dev.json', '.openclawmu')
    .option('--from <date>', 'start (ISO date or time, UTC; default: first day of this month)')
    .option('--to <date>', 'end (exclusive; a date-only value includes that day; default: now)')
    .option('--json', 'machine-readable output');
}

function query(opts: Opts, extra: Record<string, string>): string {
  const q = new URLSearchParams(extra);
  if (opts.from !== undefined) q.set('from', opts.from);
  if (opts.to !== undefined) q.set('to', opts.to);
  return q.toString();
}

const usd = (n: number): string => `$${n.toFixed(6)}`;

export function registerBillingCommands(program: Command): void {
  const billing = program.command('billing').description('Bills from the usage ledger (cost snapshotted at call time from the rate card)');

  withOptions(billing.command('report <id>').description('One tenant: totals and per-model breakdown, or every ledger row as CSV'))
    .option('--csv', 'print the ledger rows as CSV (stable columns, for finance tools)')
    .action(async (id: string, opts: Opts) => {
      try {
        const { url, adminKey } = resolveClientTarget(opts, process.env);
        if (opts.csv === true) {
          const res = await fetch(`${url}/v1/tenants/${encodeURIComponent(id)}/billing?${query(opts, { format: 'csv' })}`, { headers: { authorization: `Bearer ${adminKey}` }, signal: AbortSignal.timeout(60_000) });
          const text = await res.text();
          if (!res.ok) {
            const e = (JSON.parse(text) as { error?: { message?: string } }).error;
            throw new AppError('BAD_REQUEST', { message: `HTTP ${res.status}: ${e?.message ?? text.slice(0, 200)}` });
          }
          process.stdout.write(text);
          return;
        }
        const bill = await new ControlClient(url, adminKey).call<Bill>('GET', `/v1/tenants/${encodeURIComponent(id)}/billing?${query(opts, { format: 'json' })}`);
        if (opts.json === true) {
          process.stdout.write(`${JSON.stringify(bill)}\n`);
          return;
        }
        const byModel = new Map<string, { calls: number; tokens: number; cost: number }>();
        for (const r of bill.rows ?? []) {
          const m = byModel.get(r.model) ?? { calls: 0, tokens: 0, cost: 0 };
          m.calls++;
          m.tokens += r.inputTokens + r.outputTokens + r.cacheReadTokens + r.cacheWriteTokens + r.reasoningTokens;
          m.cost += r.costUsd;
          byModel.set(r.model, m);
        }
        const rows = [...byModel.entries()].sort((a, b) => b[1].cost - a[1].cost).map(([model, m]) => [model, String(m.calls), String(m.tokens), usd(m.cost)]);
        rows.push(['TOTAL', String(bill.totals.requests), String(bill.totals.tokens), usd(bill.totals.costUsd)]);
        process.stdout.write(`tenant ${bill.id}  ${bill.from} .. ${bill.to}\n${table(['model', 'calls', 'tokens', 'cost (USD)'], rows)}\n`);
      } catch (err) {
        exitWithError(err, opts.json === true);
      }
    });

  withOptions(billing.command('summary').description('Every tenant: calls, tokens and cost for the period'))
    .action(async (opts: Opts) => {
      try {
        const { url, adminKey } = resolveClientTarget(opts, process.env);
        const client = new ControlClient(url, adminKey);
        const ids: string[] = [];
        for (let cursor: string | null = null; ; ) {
          const page: { tenants: { id: string }[]; nextCursor: string | null } = await client.call('GET', `/v1/tenants?limit=500${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);
          ids.push(...page.tenants.map((t) => t.id));
          if (page.nextCursor === null) break;
          cursor = page.nextCursor;
        }
        const bills: Bill[] = [];
        for (const id of ids) bills.push(await client.call<Bill>('GET', `/v1/tenants/${encodeURIComponent(id)}/billing?${query(opts, { format: 'json', rows: 'false' })}`));
        if (opts.json === true) {
          process.stdout.write(`${JSON.stringify({ tenants: bills.map((b) => ({ id: b.id, from: b.from, to: b.to, ...b.totals })) })}\n`);
          return;
        }
        const rows = bills.map((b) => [b.id, String(b.totals.requests), String(b.totals.tokens), usd(b.totals.costUsd)]);
        const sum = bills.reduce((a, b) => ({ calls: a.calls + b.totals.requests, tokens: a.tokens + b.totals.tokens, cost: a.cost + b.totals.costUsd }), { calls: 0, tokens: 0, cost: 0 });
        rows.push(['TOTAL', String(sum.calls), String(sum.tokens), usd(sum.cost)]);
        process.stdout.write(`${table(['tenant', 'calls', 'tokens', 'cost (USD)'], rows)}\n`);
      } catch (err) {
        exitWithError(err, opts.json === true);
      }
    });
}
