// The deploy recipes under ops/deploy/, checked as CI would: systemd-analyze on the units, the
// Kubernetes manifests against the Kubernetes OpenAPI schemas (kubernetes-models), promtool on the
// alert rules and on the live /metrics of a router and a shard, and every PromQL expression in the
// dashboard and the rules naming a metric those live processes expose.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { ConfigMap, Namespace, Secret, Service } from 'kubernetes-models/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { parseShardConfig } from '../shard/config/shard-config.ts';
import { parseRouterConfig } from '../router/node/router-config.ts';
import { parseManifest, serializeManifest } from '../router/manifest/manifest-schema.ts';
import { createRouterLogger, startRouter } from '../router/node/start-router.ts';
import { createTenant, startTestShard, tempDir } from './helpers/shard-fixture.ts';
import { requireTool } from './helpers/required-tool.ts';

const DEPLOY = new URL('../ops/deploy/', import.meta.url).pathname;
const SHARD_DRAIN_S = parseShardConfig({ id: 's1' }).limits.drainTimeoutMs / 1000;
const ROUTER_DRAIN_S = parseRouterConfig({ manifest: 'file:///x' }).limits.drainTimeoutMs / 1000;

// --- systemd -------------------------------------------------------------------------------------

void test('systemd units pass systemd-analyze verify with no warning, and are hardened', (t) => {
  if (!requireTool(t, 'systemd-analyze', 'systemd')) return;
  const dir = tempDir(t, 'ocmu-units-');
  const units: string[] = [];
  for (const name of readdirSync(join(DEPLOY, 'systemd'))) {
    // A template is verified through an instance of it.
    const as = name.endsWith('@.service') ? name.replace('@.service', '@s1.service') : name;
    copyFileSync(join(DEPLOY, 'systemd', name), join(dir, as));
    units.push(join(dir, as));
  }
  assert.ok(units.length >= 2);
  const r = spawnSync('systemd-analyze', ['verify', '--man=no', ...units], { encoding: 'utf8', cwd: dir });
  assert.equal(r.status, 0, r.stderr);
  // systemd-analyze reports unknown keys and bad values as warnings with exit 0: none allowed.
  assert.equal(r.stderr.trim(), '', r.stderr);
  for (const path of units) {
    const text = readFileSync(path, 'utf8');
    for (const line of ['NoNewPrivileges=yes', 'ProtectSystem=strict', 'ProtectHome=yes', 'PrivateTmp=yes', 'CapabilityBoundingSet=']) {
      assert.ok(text.split('\n').includes(line), `${path}: ${line}`);
    }
    assert.match(text, /--admin-key-file /, 'admin keys from a file');
    assert.doesNotMatch(text, /--admin-key [^-]/, 'no admin key on the command line');
    const stop = Number(/^TimeoutStopSec=(\d+)$/m.exec(text)?.[1]);
    assert.ok(stop > Math.max(SHARD_DRAIN_S, ROUTER_DRAIN_S), `${path}: TimeoutStopSec ${stop} above the drain time`);
  }
});

// --- Kubernetes ----------------------------------------------------------------------------------

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/Secret': Secret,
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
};

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec?: Record<string, unknown>;
}

function k8sObjects(): K8sObject[] {
  const dir = join(DEPLOY, 'kubernetes');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) => parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => d.toJSON() as K8sObject));
}

function validateK8s(obj: K8sObject): void {
  const Model = MODELS[`${obj.apiVersion}/${obj.kind}`];
  assert.ok(Model !== undefined, `no schema for ${obj.apiVersion} ${obj.kind}`);
  new Model(obj as never).validate();
}

void test('Kubernetes manifests validate against the Kubernetes OpenAPI schemas', () => {
  const objs = k8sObjects();
  for (const o of objs) validateK8s(o);
  const kinds = objs.map((o) => `${o.kind}/${o.metadata.name}`).sort();
  for (const want of ['Deployment/openclawmu-router', 'HorizontalPodAutoscaler/openclawmu-router', 'PodDisruptionBudget/openclawmu-router', 'Service/openclawmu-router', 'StatefulSet/openclawmu-shard', 'Service/openclawmu-shard', 'Secret/openclawmu-admin-keys']) {
    assert.ok(kinds.includes(want), want);
  }
  // The validator is live: a wrong type is refused.
  const bad = structuredClone(objs.find((o) => o.kind === 'Deployment')!);
  (bad.spec as { replicas: unknown }).replicas = 'two';
  assert.throws(() => validateK8s(bad));
});

void test('Kubernetes: probes, grace above the drain time, admin key from a Secret, PVCs, headless shard Service', () => {
  const objs = k8sObjects();
  type Pod = { terminationGracePeriodSeconds: number; containers: Array<{ args: string[]; readinessProbe: { httpGet: { path: string } }; livenessProbe: { httpGet: { path: string } } }>; volumes: Array<{ secret?: { secretName: string } }> };
  const podOf = (kind: string): Pod => (objs.find((o) => o.kind === kind)!.spec as { template: { spec: Pod } }).template.spec;
  for (const [kind, drain] of [['StatefulSet', SHARD_DRAIN_S], ['Deployment', ROUTER_DRAIN_S]] as const) {
    const pod = podOf(kind);
    assert.ok(pod.terminationGracePeriodSeconds > drain, `${kind}: grace ${pod.terminationGracePeriodSeconds} s > drain ${drain} s`);
    const c = pod.containers[0]!;
    assert.equal(c.readinessProbe.httpGet.path, '/readyz');
    assert.equal(c.livenessProbe.httpGet.path, '/healthz');
    assert.ok(c.args.includes('--admin-key-file'));
    assert.ok(pod.volumes.some((v) => v.secret?.secretName === 'openclawmu-admin-keys'));
  }
  const sts = objs.find((o) => o.kind === 'StatefulSet')!.spec as { serviceName: string; volumeClaimTemplates: unknown[] };
  assert.equal(sts.volumeClaimTemplates.length, 1);
  const headless = objs.find((o) => o.kind === 'Service' && o.metadata.name === sts.serviceName)!.spec as { clusterIP: string };
  assert.equal(headless.clusterIP, 'None');
  const blob = (objs.find((o) => o.kind === 'ConfigMap')! as unknown as { data: Record<string, string> }).data['OPENCLAWMU_BLOB'];
  assert.match(blob ?? '', /^s3:\/\//, 'the manifest lives in S3');
});

// --- Compose -------------------------------------------------------------------------------------

void test('Compose: 2 routers, 3 shards, an S3 store, Prometheus, Grafana; the seed manifest parses', () => {
  const compose = parseYaml(readFileSync(join(DEPLOY, 'compose/compose.yaml'), 'utf8'), { merge: true }) as { services: Record<string, { command?: string[]; stop_grace_period?: string }> };
  const s = compose.services;
  const role = (r: string): string[] => Object.keys(s).filter((n) => s[n]?.command?.[0] === r);
  assert.deepEqual(role('router').length, 2);
  assert.deepEqual(role('shard').length, 3);
  for (const name of ['minio', 'prometheus', 'grafana']) assert.ok(s[name], name);
  for (const n of [...role('router'), ...role('shard')]) {
    assert.ok(s[n]!.command!.includes('--admin-key-file'), n);
    assert.ok(Number.parseInt(s[n]!.stop_grace_period ?? '0', 10) > SHARD_DRAIN_S, `${n}: stop_grace_period`);
  }
  const seed = parseManifest(JSON.parse(readFileSync(join(DEPLOY, 'compose/manifest.json'), 'utf8')));
  assert.deepEqual(seed.shards.map((x) => x.id), ['s1', 's2', 's3']);
});

// --- Prometheus and Grafana ----------------------------------------------------------------------

void test('promtool check rules accepts the alert rules', (t) => {
  if (!requireTool(t, 'promtool', 'prometheus')) return;
  const r = spawnSync('promtool', ['check', 'rules', join(DEPLOY, 'prometheus/alerts.yml')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

/** Metric names in a PromQL expression: label matchers and by/without lists removed first. */
export function metricNames(expr: string): string[] {
  const FUNCTIONS = new Set(['sum', 'max', 'min', 'avg', 'count', 'rate', 'irate', 'increase', 'histogram_quantile', 'by', 'without', 'or', 'and', 'unless', 'on', 'ignoring', 'group_left', 'group_right', 'topk', 'bottomk', 'abs', 'clamp_min', 'clamp_max', 'label_replace', 'time', 'vector', 'offset']);
  const stripped = expr
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/"[^"]*"/g, ' ');
  return [...stripped.matchAll(/\b[a-zA-Z_:][a-zA-Z0-9_:]*\b/g)].map((m) => m[0]).filter((w) => !FUNCTIONS.has(w) && !/^\d/.test(w));
}

function exprsOfDashboard(): string[] {
  const dash = JSON.parse(readFileSync(join(DEPLOY, 'grafana/openclawmu.json'), 'utf8')) as { panels: Array<{ targets?: Array<{ expr: string }> }> };
  return dash.panels.flatMap((p) => (p.targets ?? []).map((x) => x.expr));
}

function exprsOfRules(): string[] {
  const rules = parseYaml(readFileSync(join(DEPLOY, 'prometheus/alerts.yml'), 'utf8')) as { groups: Array<{ rules: Array<{ expr: string }> }> };
  return rules.groups.flatMap((g) => g.rules.map((r) => r.expr));
}

void test('live /metrics of a router and a shard pass promtool, and every dashboard and rule expression names an exposed metric', async (t) => {
  const shard = await startTestShard(t, { config: { logLevel: 'warn' } });
  const dir = tempDir(t, 'ocmu-metrics-');
  const manifest = join(dir, 'manifest.json');
  writeFileSync(manifest, serializeManifest(parseManifest({ version: 1, shards: [{ id: 's1', url: shard.url, weight: 1 }], overrides: {} })));
  const router = await startRouter(parseRouterConfig({ port: 0, manifest, logLevel: 'silent' }), { log: createRouterLogger('silent') });
  t.after(() => router.close());
  // One model call through the router, so the per-model series have samples.
  const { token } = await createTenant(shard, 'acme');
  const chat = await fetch(`${router.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'echo', messages: [{ role: 'user', content: 'hello there' }] }),
  });
  assert.equal(chat.status, 200, await chat.clone().text());
  await chat.json();

  const texts = { router: await (await fetch(`${router.url}/metrics`)).text(), shard: await (await fetch(`${shard.url}/metrics`)).text() };
  const exposed = new Set(['up']); // `up` is Prometheus' own
  for (const text of Object.values(texts)) for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) exposed.add(m[1]!);
  for (const needed of ['process_cpu_seconds_total', 'nodejs_eventloop_lag_p99_seconds', 'openclawmu_model_tokens_total', 'openclawmu_model_call_duration_seconds', 'openclawmu_model_provider_errors_total']) {
    assert.ok(exposed.has(needed), needed);
  }
  assert.match(texts.shard, /^openclawmu_model_tokens_total\{model="echo",kind="input"\} \d+/m);
  // No tenant id in any label (DESIGN §8).
  for (const text of Object.values(texts)) assert.doesNotMatch(text, /"acme"/);

  const missing: string[] = [];
  for (const expr of [...exprsOfDashboard(), ...exprsOfRules()]) {
    for (const name of metricNames(expr)) {
      const family = name.replace(/_(bucket|sum|count)$/, '');
      if (!exposed.has(name) && !exposed.has(family)) missing.push(`${name} (in ${expr.trim()})`);
    }
  }
  assert.deepEqual(missing, []);

  if (!requireTool(t, 'promtool', 'prometheus')) return;
  for (const [who, text] of Object.entries(texts)) {
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(r.status, 0, `${who}: ${r.stdout}${r.stderr}`);
    assert.equal((r.stdout + r.stderr).trim(), '', `${who}: ${r.stdout}${r.stderr}`);
  }
});

void test('metricNames finds metrics, not functions, labels or durations', () => {
  assert.deepEqual(metricNames('histogram_quantile(0.99, sum by (le, shard) (rate(openclawmu_router_upstream_duration_seconds_bucket{x="y"}[5m])))'), ['openclawmu_router_upstream_duration_seconds_bucket']);
  assert.deepEqual(metricNames('max(a_b) != min(c_d) or up == 0'), ['a_b', 'c_d', 'up']);
});
