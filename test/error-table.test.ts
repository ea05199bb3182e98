// The error table and docs/errors.md stay equal; codes are well-formed and statuses valid.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERROR_CODES } from '../router/errors/codes.ts';
import { renderErrorsDoc } from '../router/errors/render-errors-doc.ts';

test('docs/errors.md equals the error table (run npm run gen:errors)', () => {
  const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
  assert.equal(doc, renderErrorsDoc());
});

test('every code is UPPER_SNAKE with a valid HTTP status and JSON-RPC code', () => {
  for (const [code, spec] of Object.entries(ERROR_CODES)) {
    assert.match(code, /^[A-Z][A-Z0-9_]+$/, code);
    assert.ok(spec.status >= 200 && spec.status < 600, code);
    assert.ok(Number.isInteger(spec.rpc) && spec.rpc < 0, code);
    assert.ok(spec.message.length > 0, code);
  }
});

test('docs/rpc-methods.md equals the method registry (run npm run gen:docs)', async () => {
  const { renderRpcDoc } = await import('../shard/rpc/render-rpc-doc.ts');
  const { rpcMethodsForDocs } = await import('../shard/app/rpc-methods-for-docs.ts');
  const doc = readFileSync(new URL('../docs/rpc-methods.md', import.meta.url), 'utf8');
  assert.equal(doc, renderRpcDoc(await rpcMethodsForDocs()));
});
