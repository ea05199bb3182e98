// Renders docs/rpc-methods.md from the method registry: name, summary, params JSON Schema.
import { z } from 'zod';
import type { RpcMethod } from './rpc-method.ts';

export function renderRpcDoc(methods: readonly RpcMethod[]): string {
  const sorted = [...methods].sort((a, b) => a.name.localeCompare(b.name));
  const index = sorted.map((m) => `| \`${m.name}\` | ${m.summary} |`).join('\n');
  const sections = sorted
    .map((m) => {
      let schema: string;
      try {
        schema = JSON.stringify(z.toJSONSchema(m.params, { unrepresentable: 'any' }), null, 2);
      } catch {
        schema = '(not representable as JSON Schema)';
      }
      return `### \`${m.name}\`\n\n${m.summary}\n\nParams:\n\n\`\`\`json\n${schema}\n\`\`\`\n`;
    })
    .join('\n');
  return `# JSON-RPC methods

Tenants call these with their token over \`POST /rpc\` (JSON-RPC 2.0; batches and notifications) or
\`GET /ws\` (the same frames over a WebSocket, plus server events). See \`docs/tenant-rpc.md\` for the
transport rules and \`docs/errors.md\` for error codes.

This page is generated from the method registry by \`npm run -s gen:docs\`; a test fails when it is
out of date.

| method | what it does |
|---|---|
${index}

${sections}`;
}
