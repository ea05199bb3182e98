// Renders the error table as the Markdown page docs/errors.md (kept equal by a test).
import { ERROR_CODES } from './codes.ts';

export function renderErrorsDoc(): string {
  const rows = Object.entries(ERROR_CODES)
    .map(([code, s]) => `| \`${code}\` | ${s.status} | ${s.rpc} | ${s.message}${s.retired === true ? ' (retired)' : ''} |`)
    .join('\n');
  return `# Error codes

Every error the project answers carries one of these codes. HTTP surfaces answer
\`{"error": {"code", "message", "details?"}}\` (the OpenAI-compatible \`/v1/*\` model routes use OpenAI's
error shape with the same \`code\`); JSON-RPC answers \`{"code": <JSON-RPC code>, "message",
"data": {"code", "details?"}}\`. Codes are stable: never reused, never renamed.

This page is generated from \`router/errors/codes.ts\` by \`npm run -s gen:errors\`; a test fails
when the two differ.

| code | HTTP | JSON-RPC | message |
|---|---|---|---|
${rows}
`;
}
