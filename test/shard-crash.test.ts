// kill -9 during a burst of config and tenant.json writes, then restart: every acknowledged write
// is there and every file parses (atomic temp-file + fsync + rename).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parse as parseYaml } from 'yaml';
import { mintAdminKey } from '../router/identity/tenant-id.ts';
import { TenantRecordSchema } from '../shard/tenants/tenant-record.ts';
import { tempDir } from './helpers/shard-fixture.ts';

const bin = new URL('../ops/bin/openclawmu.mjs', import.meta.url).pathname;

async function spawnShard(dataDir: string, adminKey: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [bin, 'shard', '--id', 'k1', '--port', '0', '--data', dataDir, '--admin-key', adminKey], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr?.resume();
  const rl = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`shard exited early (${code})`)));
    rl.on('line', (line) => {
      try {
        const ev = JSON.parse(line) as { event?: string; url?: string };
        if (ev.event === 'listening' && ev.url !== undefined) resolve(ev.url);
      } catch {
        /* a log line */
      }
    });
  });
  return { child, url };
}

test('kill -9 mid-burst loses no acknowledged config or tenant.json write, and tears no file', { timeout: 120_000 }, async (t) => {
  const dataDir = tempDir(t);
  const adminKey = mintAdminKey();
  const acked = new Map<string, Set<string>>(); // tenant → acknowledged label keys
  const names = new Map<string, string>(); // tenant → last acknowledged displayName
  const tokens = new Map<string, string>();

  for (let round = 0; round < 3; round++) {
    const { child, url } = await spawnShard(dataDir, adminKey);
    t.after(() => child.kill('SIGKILL'));
    const admin = { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' };
    if (round === 0) {
      for (const id of ['ka', 'kb', 'kc']) {
        const res = await fetch(`${url}/v1/tenants`, { method: 'POST', headers: admin, body: JSON.stringify({ id }) });
        assert.equal(res.status, 201);
        tokens.set(id, ((await res.json()) as { token: string }).token);
        acked.set(id, new Set());
      }
    }
    let stop = false;
    let n = 0;
    const writers = [...tokens.entries()].flatMap(([id, token]) => [
      (async () => {
        while (!stop) {
          const key = `r${round}_${n++}`;
          try {
            const res = await fetch(`${url}/rpc`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'config.set', params: { path: `labels.${key}`, value: key } }) });
            const body = (await res.json()) as { result?: unknown };
            if (body.result !== undefined) acked.get(id)?.add(key);
          } catch {
            return; // the process died mid-request: not acknowledged
          }
        }
      })(),
      (async () => {
        let i = 0;
        while (!stop) {
          const name = `${id}-r${round}-${i++}`;
          try {
            const res = await fetch(`${url}/v1/tenants/${id}`, { method: 'PATCH', headers: admin, body: JSON.stringify({ displayName: name }) });
            if (res.status === 200) names.set(id, name);
            else await res.text();
          } catch {
            return;
          }
        }
      })(),
    ]);
    // Let the burst run until enough writes were acknowledged, then kill without warning.
    const target = 30 * (round + 1);
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        const total = [...acked.values()].reduce((s, x) => s + x.size, 0);
        if (total >= target) {
          clearInterval(check);
          resolve();
        }
      }, 5);
    });
    child.kill('SIGKILL');
    stop = true;
    await Promise.all(writers);
    await new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(null) : child.once('exit', resolve)));
  }

  // Every file parses, and holds every acknowledged write.
  for (const id of tokens.keys()) {
    const dir = join(dataDir, 'tenants', id);
    const rec = TenantRecordSchema.parse(JSON.parse(readFileSync(join(dir, 'tenant.json'), 'utf8')));
    const overlay = parseYaml(readFileSync(join(dir, 'config.yaml'), 'utf8')) as { labels?: Record<string, string> };
    for (const key of acked.get(id) ?? []) assert.equal(overlay.labels?.[key], key, `${id}: acknowledged ${key} lost`);
    // The last acknowledged name is there, or a later one whose ack was lost with the kill.
    const last = names.get(id);
    if (last !== undefined) {
      const lastRound = Number(/-r(\d+)-/.exec(last)?.[1]);
      const gotRound = Number(/-r(\d+)-/.exec(rec.displayName)?.[1]);
      const lastI = Number(last.split('-').pop());
      const gotI = Number(rec.displayName.split('-').pop());
      assert.ok(gotRound > lastRound || (gotRound === lastRound && gotI >= lastI), `${id}: ${rec.displayName} older than acknowledged ${last}`);
    }
  }
  // And the shard starts again and serves them.
  const { child, url } = await spawnShard(dataDir, adminKey);
  t.after(() => child.kill('SIGKILL'));
  for (const [id, token] of tokens) {
    const res = await fetch(`${url}/rpc`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tenants.get' }) });
    assert.equal(((await res.json()) as { result: { id: string } }).result.id, id);
  }
  const total = [...acked.values()].reduce((s, x) => s + x.size, 0);
  assert.ok(total >= 90, `only ${total} writes acknowledged`);
});
