// The audit log's chain: each kind of tampering is caught; a torn last line is tolerated and cut.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { AuditLog } from './audit-log.ts';
import { verifyAuditText } from './audit-verify.ts';
import { tempDir } from '../../test/helpers/shard-fixture.ts';

async function writeLog(dir: string, n: number): Promise<{ path: string; lines: string[] }> {
  const path = join(dir, 'audit.log');
  const log = new AuditLog({ path });
  for (let i = 0; i < n; i++) {
    log.append({ tenant: `t${i % 3}`, actor: { type: 'admin', keyId: 'abcd1234' }, action: 'tenant.create', target: `t${i}`, outcome: 'ok', details: { i } });
  }
  await log.close();
  return { path, lines: readFileSync(path, 'utf8').trimEnd().split('\n') };
}

test('an untouched log verifies', async (t) => {
  const { path } = await writeLog(tempDir(t), 10);
  const res = verifyAuditText(readFileSync(path, 'utf8'));
  assert.equal(res.ok, true);
  assert.equal(res.records, 10);
  assert.equal(res.tornTail, false);
});

test('edit, deletion, insertion and reorder are each reported at the first broken record', async (t) => {
  const { lines } = await writeLog(tempDir(t), 10);
  const edited = [...lines];
  edited[4] = (edited[4] as string).replace('"t4"', '"tX"');
  const r1 = verifyAuditText(`${edited.join('\n')}\n`);
  assert.equal(r1.ok, false);
  assert.equal(r1.firstBroken?.line, 5);
  assert.equal(r1.firstBroken?.problem, 'hash-mismatch');

  const deleted = lines.filter((_, i) => i !== 3);
  const r2 = verifyAuditText(`${deleted.join('\n')}\n`);
  assert.equal(r2.ok, false);
  assert.equal(r2.firstBroken?.line, 4);

  const deletedFirst = lines.slice(1);
  assert.equal(verifyAuditText(`${deletedFirst.join('\n')}\n`).firstBroken?.line, 1);

  const inserted = [...lines.slice(0, 6), lines[2] as string, ...lines.slice(6)];
  const r3 = verifyAuditText(`${inserted.join('\n')}\n`);
  assert.equal(r3.ok, false);
  assert.equal(r3.firstBroken?.line, 7);

  const reordered = [...lines];
  [reordered[7], reordered[8]] = [reordered[8] as string, reordered[7] as string];
  const r4 = verifyAuditText(`${reordered.join('\n')}\n`);
  assert.equal(r4.ok, false);
  assert.equal(r4.firstBroken?.line, 8);

  // A re-hashed edit (attacker recomputes this record's hash) still breaks the next record's prev.
  const rec = JSON.parse(lines[2] as string) as Record<string, unknown>;
  rec['target'] = 'evil';
  const forged = [...lines];
  forged[2] = JSON.stringify(rec);
  assert.equal(verifyAuditText(`${forged.join('\n')}\n`).ok, false);
});

test('a torn last line is tolerated by the verifier and cut by the writer on restart', async (t) => {
  const dir = tempDir(t);
  const { path } = await writeLog(dir, 5);
  appendFileSync(path, '{"v":1,"seq":6,"ts":"2026-');
  const res = verifyAuditText(readFileSync(path, 'utf8'));
  assert.equal(res.ok, true);
  assert.equal(res.tornTail, true);
  assert.equal(res.records, 5);

  let cut = 0;
  const log = new AuditLog({ path, onTornTail: (b) => (cut = b) });
  log.append({ tenant: null, actor: { type: 'system' }, action: 'shard.start', outcome: 'ok' });
  await log.close();
  assert.ok(cut > 0);
  const after = verifyAuditText(readFileSync(path, 'utf8'));
  assert.equal(after.ok, true);
  assert.equal(after.records, 6);
  assert.equal(after.tornTail, false);
});

test('a garbage line in the middle is reported, not tolerated', async (t) => {
  const { path, lines } = await writeLog(tempDir(t), 4);
  writeFileSync(path, `${[lines[0], 'not json', ...lines.slice(1)].join('\n')}\n`);
  const res = verifyAuditText(readFileSync(path, 'utf8'));
  assert.equal(res.ok, false);
  assert.equal(res.firstBroken?.line, 2);
  assert.equal(res.firstBroken?.problem, 'unparseable');
});

test('openclawmu audit verify exits 0 on a good log and 3 naming the line on a broken one', async (t) => {
  const dir = tempDir(t);
  const { path, lines } = await writeLog(dir, 6);
  const bin = new URL('../../ops/bin/openclawmu.mjs', import.meta.url).pathname;
  const good = spawnSync(process.execPath, [bin, 'audit', 'verify', path], { encoding: 'utf8' });
  assert.equal(good.status, 0, good.stderr);
  assert.match(good.stdout, /ok: 6 records/);
  const bad = join(dir, 'bad.log');
  writeFileSync(bad, `${lines.filter((_, i) => i !== 2).join('\n')}\n`);
  const broken = spawnSync(process.execPath, [bin, 'audit', 'verify', bad, '--json'], { encoding: 'utf8' });
  assert.equal(broken.status, 3);
  const out = JSON.parse(broken.stdout) as { ok: boolean; firstBroken: { line: number } };
  assert.equal(out.ok, false);
  assert.equal(out.firstBroken.line, 3);
});

test('a record appended after close is refused at flushed() with SHARD_DRAINING (regression: flushed() spun forever)', { timeout: 10_000 }, async (t) => {
  const path = join(tempDir(t), 'audit.log');
  const log = new AuditLog({ path });
  log.append({ tenant: 't0', actor: { type: 'admin', keyId: 'abcd1234' }, action: 'tenant.create', target: 't0', outcome: 'ok' });
  await log.close();
  log.append({ tenant: 't0', actor: { type: 'admin', keyId: 'abcd1234' }, action: 'tenant.delete', target: 't0', outcome: 'ok' });
  await assert.rejects(log.flushed(), (err: { code?: string }) => err.code === 'SHARD_DRAINING');
  // The file holds exactly what was acknowledged, and still verifies.
  const text = readFileSync(path, 'utf8');
  assert.equal(text.trimEnd().split('\n').length, 1);
  assert.equal(verifyAuditText(text).ok, true);
});
