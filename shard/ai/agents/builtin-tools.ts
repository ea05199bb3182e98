// The tools an agent may be given: small, side-effect-free, scoped to the tenant's own agent files.
import type Database from 'better-sqlite3';
import type { ToolDef } from '../providers/provider.ts';

export const BUILTIN_TOOL_NAMES = ['files_list', 'files_read', 'clock_now'] as const;
export type BuiltinToolName = (typeof BUILTIN_TOOL_NAMES)[number];

export const BUILTIN_TOOL_DEFS: Record<BuiltinToolName, ToolDef> = {
  files_list: { type: 'function', function: { name: 'files_list', description: "Lists this agent's files.", parameters: { type: 'object', properties: {} } } },
  files_read: {
    type: 'function',
    function: { name: 'files_read', description: "Reads one of this agent's files.", parameters: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] } },
  },
  clock_now: { type: 'function', function: { name: 'clock_now', description: 'The current time (UTC, ISO 8601).', parameters: { type: 'object', properties: {} } } },
};

export function isBuiltinTool(name: string, enabled: readonly string[]): name is BuiltinToolName {
  return enabled.includes(name) && (BUILTIN_TOOL_NAMES as readonly string[]).includes(name);
}

/** Runs a built-in tool; failures come back as text for the model, never as a thrown error. */
export function runBuiltinTool(db: Database.Database, agent: string, name: BuiltinToolName, args: string, now: () => number): string {
  let parsed: Record<string, unknown> = {};
  try {
    const j = JSON.parse(args === '' ? '{}' : args) as unknown;
    if (typeof j === 'object' && j !== null) parsed = j as Record<string, unknown>;
  } catch {
    return 'error: arguments are not JSON';
  }
  switch (name) {
    case 'clock_now':
      return new Date(now()).toISOString();
    case 'files_list': {
      const rows = db.prepare('SELECT path FROM ai_agent_files WHERE agent = ? ORDER BY path').all(agent) as { path: string }[];
      return rows.map((r) => r.path).join('\n') || '(no files)';
    }
    case 'files_read': {
      // the file name is only a key in this agent's rows: nothing on disk is reachable
      const path = typeof parsed['path'] === 'string' ? parsed['path'] : typeof parsed['q'] === 'string' ? parsed['q'] : typeof parsed['input'] === 'string' ? parsed['input'] : '';
      const r = db.prepare('SELECT content FROM ai_agent_files WHERE agent = ? AND path = ?').get(agent, path) as { content: string } | undefined;
      return r === undefined ? `error: no file named ${path.slice(0, 100)}` : r.content;
    }
  }
}
