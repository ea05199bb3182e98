// One contract suite for every embedder: hashing (built-in), OpenAI-compatible (fake upstream), ONNX (tiny model).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError } from '../../router/errors/app-error.ts';
import { startFakeEmbeddingsUpstream } from '../../test/fakes/fake-embeddings-upstream.ts';
import { createEmbedderResolver } from './embedder-registry.ts';
import { dot, type Embedder } from './embedder.ts';
import { HashingEmbedder } from './hashing-embedder.ts';
import { OnnxEmbedder } from './onnx-embedder.ts';
import { OpenAiEmbedder } from './openai-embedder.ts';
import { writeTinyOnnxModel } from './test-support/tiny-onnx-model.ts';

async function onnxRuntimeInstalled(): Promise<boolean> {
  const name = 'onnxruntime-node';
  return import(name).then(
    () => true,
    () => false,
  );
}

const cases: { name: string; make: (t: TestContext) => Promise<Embedder>; skip?: () => Promise<string | false> }[] = [
  { name: 'hashing', make: () => Promise.resolve(new HashingEmbedder()) },
  {
    name: 'openai-compatible',
    make: async (t) => {
      const up = await startFakeEmbeddingsUpstream({ dim: 48 });
      t.after(() => up.close());
      return new OpenAiEmbedder({ baseUrl: up.url, apiKey: up.apiKey, model: 'text-embedding-fake', batchSize: 3 });
    },
  },
  {
    name: 'onnx',
    skip: async () => ((await onnxRuntimeInstalled()) ? false : 'onnxruntime-node (optional dependency) is not installed'),
    make: (t) => {
      const dir = mkdtempSync(join(tmpdir(), 'ocmu-onnx-'));
      t.after(() => rmSync(dir, { recursive: true, force: true }));
      writeTinyOnnxModel(dir);
      return Promise.resolve(new OnnxEmbedder({ name: 'tiny', dir }));
    },
  },
];

const TEXTS = ['the cat sat on the mat', 'the quick fox jumped in the park', 'dogs ran', 'a cat sat on a mat', 'ünïcödé テキスト 123'];

for (const c of cases) {
  void test(`embedder contract: ${c.name}`, async (t) => {
    const why = (await c.skip?.()) ?? false;
    if (why !== false) {
      t.skip(why);
      return;
    }
    const e = await c.make(t);
    assert.ok(e.kind.length > 0 && e.model.length > 0);

    await t.test('one unit vector per input, in order, all of one dimension', async () => {
      const vs = await e.embed(TEXTS);
      assert.equal(vs.length, TEXTS.length);
      const dim = vs[0]?.length ?? 0;
      assert.ok(dim > 0);
      for (const v of vs) {
        assert.equal(v.length, dim);
        assert.ok(Math.abs(dot(v, v) - 1) < 1e-4, 'L2-normalised');
      }
    });
    await t.test('deterministic, and a batch equals one-by-one', async () => {
      const batch = await e.embed(TEXTS);
      for (let i = 0; i < TEXTS.length; i++) {
        const [one] = await e.embed([TEXTS[i] as string]);
        assert.ok(one !== undefined);
        for (let j = 0; j < one.length; j++) assert.ok(Math.abs((one[j] as number) - ((batch[i] as Float32Array)[j] as number)) < 1e-5);
      }
    });
    await t.test('an empty batch gives no vectors', async () => {
      assert.deepEqual(await e.embed([]), []);
    });
    await t.test('near-duplicates are closer than unrelated texts', async () => {
      const [a, b, c2] = await e.embed(['the cat sat on the mat', 'a cat sat on a mat', 'the quick fox jumped in the park']);
      assert.ok(dot(a as Float32Array, b as Float32Array) > dot(a as Float32Array, c2 as Float32Array));
    });
  });
}

void test('openai embedder: upstream errors become MEMORY_EMBEDDER_UNAVAILABLE without the key in details', async (t) => {
  const up = await startFakeEmbeddingsUpstream();
  t.after(() => up.close());
  const bad = new OpenAiEmbedder({ baseUrl: up.url, apiKey: 'sk-wrong-secret', model: 'm' });
  await assert.rejects(bad.embed(['x']), (err: unknown) => {
    assert.ok(err instanceof AppError && err.code === 'MEMORY_EMBEDDER_UNAVAILABLE');
    assert.equal(err.details?.status, 401);
    assert.ok(!JSON.stringify(err.toJSON()).includes('sk-wrong-secret'));
    return true;
  });
  up.failWith = 500;
  const good = new OpenAiEmbedder({ baseUrl: up.url, apiKey: up.apiKey, model: 'm' });
  await assert.rejects(good.embed(['x']), (err: unknown) => err instanceof AppError && err.details?.status === 500);
  up.failWith = undefined;
  assert.equal((await good.embed(['x'])).length, 1);
  assert.deepEqual(up.requests.at(-1), { model: 'm', input: ['x'] });
});

void test('openai embedder: a closed port is unavailable, not a crash', async () => {
  const e = new OpenAiEmbedder({ baseUrl: 'http://127.0.0.1:1/v1', model: 'm', timeoutMs: 2000 });
  await assert.rejects(e.embed(['x']), (err: unknown) => err instanceof AppError && err.code === 'MEMORY_EMBEDDER_UNAVAILABLE');
});

void test('onnx embedder without onnxruntime-node or model files is unavailable with a clear reason', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ocmu-onnx-empty-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const e = new OnnxEmbedder({ name: 'missing', dir });
  await assert.rejects(e.embed(['x']), (err: unknown) => err instanceof AppError && err.code === 'MEMORY_EMBEDDER_UNAVAILABLE');
});

void test('the resolver maps settings to embedders and refuses unknown ones', () => {
  const resolve = createEmbedderResolver({ providers: { oa: { kind: 'openai', baseUrl: 'http://127.0.0.1:9/v1' }, an: { kind: 'anthropic', baseUrl: 'http://x' } }, onnxModels: { mini: '/models/mini' } });
  assert.equal(resolve('hash').kind, 'hash');
  assert.equal(resolve('hash'), resolve('hash'), 'instances are reused');
  assert.match(resolve('hash:128').model, /^fh1-128-/);
  assert.equal(resolve('oa/text-embedding-3-small').kind, 'openai');
  assert.equal(resolve('onnx:mini').kind, 'onnx');
  for (const bad of ['nope', 'hash:7', 'zz/model', 'an/model', 'onnx:other', 'onnx:../../etc', '__proto__/x', 'constructor/x']) {
    assert.throws(() => resolve(bad), (err: unknown) => err instanceof AppError && err.code === 'MEMORY_EMBEDDER_INVALID', bad);
  }
});
