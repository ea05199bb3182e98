// Agents (name, model, system prompt, tools, memory) and their files, in the tenant's state.db.
import type Database from 'better-sqlite3';
import { z } from 'zod';
import { AppError } from '../../../router/errors/app-error.ts';
import { BUILTIN_TOOL_NAMES } from './builtin-tools.ts';

export const AGENT_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
export const AgentNameSchema = z.string().regex(AGENT_NAME_PATTERN, 'agent names match ^[a-z0-9][a-z0-9_-]{0,63}$');
/** Agent file paths: relative, slash-separated, no `..`, no leading slash (they live in state.db, not on disk). */
export const AgentFilePathSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*(\/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$/, 'file paths are relative segments of letters, digits and _.- (no .., no leading /)');
export const MAX_AGENT_FILE_BYTES = 256 * 1024;
export const MAX_AGENT_FILES = 200;

export const AgentSpecSchema = z
  .object({
    model: z.string().min(1).max(200),
    systemPrompt: z.string().max(20_000).default(''),
    tools: z.array(z.enum(BUILTIN_TOOL_NAMES)).max(16).default([]),
    memory: z.boolean().default(false),
    maxToolSteps: z.number().int().min(0).max(16).default(4),
  })
  .strict();
/** A patch: only the fields given change (no defaults, unlike the create schema). */
export const AgentPatchSchema = z
  .object({
    model: z.string().min(1).max(200).optional(),
    systemPrompt: z.string().max(20_000).optional(),
    tools: z.array(z.enum(BUILTIN_TOOL_NAMES)).max(16).optional(),
    memory: z.boolean().optional(),
    maxToolSteps: z.number().int().min(0).max(16).optional(),
  })
  .strict();

export interface Agent {
  name: string;
  model: string;
  systemPrompt: string;
  tools: string[];
  memory: boolean;
  maxToolSteps: number;
  createdAt: string;
  updatedAt: string;
}

interface Raw {
  name: string;
  model: string;
  system_prompt: string;
  tools: string;
  memory: number;
  max_tool_steps: number;
  created_at: string;
  updated_at: string;
}

function toAgent(r: Raw): Agent {
  return {
    name: r.name,
    model: r.model,
    systemPrompt: r.system_prompt,
    tools: JSON.parse(r.tools) as string[],
    memory: r.memory === 1,
    maxToolSteps: r.max_tool_steps,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export function listAgents(db: Database.Database): Agent[] {
  return (db.prepare('SELECT * FROM ai_agents ORDER BY name').all() as Raw[]).map(toAgent);
}

export function getAgent(db: Database.Database, name: string): Agent {
  const r = db.prepare('SELECT * FROM ai_agents WHERE name = ?').get(name) as Raw | undefined;
  if (r === undefined) throw new AppError('AI_AGENT_NOT_FOUND', { details: { agent: name.slice(0, 64) } });
  return toAgent(r);
}

export function createAgent(db: Database.Database, name: string, spec: z.infer<typeof AgentSpecSchema>, nowIso: string): Agent {
  try {
    db.prepare('INSERT INTO ai_agents (name, model, system_prompt, tools, memory, max_tool_steps, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?)').run(
      name, spec.model, spec.systemPrompt, JSON.stringify(spec.tools), spec.memory ? 1 : 0, spec.maxToolSteps, nowIso, nowIso,
    );
  } catch (err) {
    if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new AppError('AI_AGENT_EXISTS', { details: { agent: name } });
    throw err;
  }
  return getAgent(db, name);
}

export function updateAgent(db: Database.Database, name: string, patch: z.infer<typeof AgentPatchSchema>, nowIso: string): Agent {
  const cur = getAgent(db, name);
  const next = { ...cur, ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) } as Agent;
  db.prepare('UPDATE ai_agents SET model = ?, system_prompt = ?, tools = ?, memory = ?, max_tool_steps = ?, updated_at = ? WHERE name = ?').run(
    next.model, next.systemPrompt, JSON.stringify(next.tools), next.memory ? 1 : 0, next.maxToolSteps, nowIso, name,
  );
  return getAgent(db, name);
}

export function deleteAgent(db: Database.Database, name: string): { name: string; deleted: true } {
  getAgent(db, name);
  db.prepare('DELETE FROM ai_agents WHERE name = ?').run(name);
  return { name, deleted: true };
}

export function listAgentFiles(db: Database.Database, agent: string): { path: string; bytes: number; updatedAt: string }[] {
  getAgent(db, agent);
  return (db.prepare('SELECT path, length(CAST(content AS BLOB)) AS bytes, updated_at FROM ai_agent_files WHERE agent = ? ORDER BY path').all(agent) as { path: string; bytes: number; updated_at: string }[]).map((r) => ({
    path: r.path,
    bytes: r.bytes,
    updatedAt: r.updated_at,
  }));
}

export function getAgentFile(db: Database.Database, agent: string, path: string): { path: string; content: string; updatedAt: string } {
  getAgent(db, agent);
  const r = db.prepare('SELECT path, content, updated_at FROM ai_agent_files WHERE agent = ? AND path = ?').get(agent, path) as { path: string; content: string; updated_at: string } | undefined;
  if (r === undefined) throw new AppError('NOT_FOUND', { message: 'No such agent file.', details: { agent, path } });
  return { path: r.path, content: r.content, updatedAt: r.updated_at };
}

/** Sets a file (content null deletes it). */
export function setAgentFile(db: Database.Database, agent: string, path: string, content: string | null, nowIso: string): { path: string; bytes: number } | { path: string; deleted: true } {
  getAgent(db, agent);
  if (content === null) {
    db.prepare('DELETE FROM ai_agent_files WHERE agent = ? AND path = ?').run(agent, path);
    return { path, deleted: true };
  }
  const bytes = Buffer.byteLength(content, 'utf8');
  if (bytes > MAX_AGENT_FILE_BYTES) throw new AppError('BODY_TOO_LARGE', { message: 'The agent file is larger than the limit.', details: { maxBytes: MAX_AGENT_FILE_BYTES } });
  const count = (db.prepare('SELECT COUNT(*) AS n FROM ai_agent_files WHERE agent = ? AND path <> ?').get(agent, path) as { n: number }).n;
  if (count >= MAX_AGENT_FILES) throw new AppError('VALIDATION_FAILED', { message: 'The agent has the maximum number of files.', details: { maxFiles: MAX_AGENT_FILES } });
  db.prepare('INSERT INTO ai_agent_files (agent, path, content, updated_at) VALUES (?,?,?,?) ON CONFLICT(agent, path) DO UPDATE SET content = excluded.content, updated_at = excluded.updated_at').run(agent, path, content, nowIso);
  return { path, bytes };
}
