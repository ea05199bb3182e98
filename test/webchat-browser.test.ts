// WebChat in headless Chromium through the router: open the page with the channel's publishable key,
// send a message, see the echo model's reply; a wrong key gets no page (issue 12).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { chromium } from 'playwright-core';
import { startTestFleet } from './helpers/fleet-fixture.ts';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

test('webchat: a visitor opens the page through the router, sends a message and sees the reply', { timeout: 120_000, skip: CHROMIUM === undefined ? 'Debian chromium is not installed (.ci/run installs it)' : false }, async (t) => {
  const fleet = await startTestFleet(t, { shards: 2, shardConfig: { features: { channels: { sealKeys: [{ id: 'k1', key: randomBytes(32).toString('base64') }] } } } });
  const created = (await (await fleet.admin('/v1/tenants', { body: { id: 'webby' } })).json()) as { token: string };
  const res = await fleet.rpc(created.token, { jsonrpc: '2.0', id: 1, method: 'channels.add', params: { name: 'site', platform: 'webchat', settings: { title: 'Ask us' } } });
  const added = (await res.json()) as { result: { channel: { public: { publishableKey: string }; webhookPath: string } } };
  const key = added.result.channel.public.publishableKey;
  assert.match(key, /^pk_[0-9a-f]{32}$/);
  const page = `${fleet.router.url}${added.result.channel.webhookPath}?key=${key}`;
  assert.equal((await fetch(`${fleet.router.url}${added.result.channel.webhookPath}?key=pk_${'0'.repeat(32)}`)).status, 401);

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  t.after(() => browser.close());
  const tab = await browser.newPage();
  await tab.goto(page);
  assert.equal(await tab.title(), 'Ask us');
  await tab.fill('#t', 'hello from the browser');
  await tab.click('button');
  await tab.waitForSelector('.m.bot', { timeout: 30_000 });
  assert.equal(await tab.textContent('.m.bot'), 'echo: hello from the browser');

  // another visitor (a fresh browser context, its own token) does not see the first one's reply
  const other = await browser.newContext();
  const tab2 = await other.newPage();
  await tab2.goto(page);
  await tab2.fill('#t', 'second visitor');
  await tab2.click('button');
  await tab2.waitForSelector('.m.bot', { timeout: 30_000 });
  assert.deepEqual(await tab2.locator('.m.bot').allTextContents(), ['echo: second visitor']);
  await other.close();
});
