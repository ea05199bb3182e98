// agents.* JSON-RPC methods: a tenant's agents and their files (its own state.db only).
import { z } from 'zod';
import { defineMethod, type RpcMethod } from '../../rpc/rpc-method.ts';
import {
  AgentFilePathSchema,
  AgentNameSchema,
  AgentPatchSchema,
  AgentSpecSchema,
  createAgent,
  deleteAgent,
  getAgentFile,
  listAgentFiles,
  listAgents,
  setAgentFile,
  updateAgent,
} from './agent-store.ts';

const iso = (): string => new Date().toISOString();

export const agentMethods: RpcMethod[] = [
  defineMethod({
    name: 'agents.list',
    summary: "This tenant's agents (name, model, prompt, tools, memory).",
    params: z.object({}).strict().optional(),
    handler: (ctx) => ({ agents: listAgents(ctx.tenant.stateDb()) }),
  }),
  defineMethod({
    name: 'agents.create',
    writesDisk: true,
    summary: 'Creates an agent: {name, model, systemPrompt?, tools?, memory?, maxToolSteps?}.',
    params: AgentSpecSchema.extend({ name: AgentNameSchema }).strict(),
    handler: (ctx, p) => {
      const { name, ...spec } = p;
      const a = createAgent(ctx.tenant.stateDb(), name, spec, iso());
      ctx.tenant.audit({ action: 'agent.create', target: name, outcome: 'ok' });
      return a;
    },
  }),
  defineMethod({
    name: 'agents.update',
    writesDisk: true,
    summary: 'Changes fields of an agent: {name, model?, systemPrompt?, tools?, memory?, maxToolSteps?}.',
    params: AgentPatchSchema.extend({ name: AgentNameSchema }).strict(),
    handler: (ctx, p) => {
      const { name, ...patch } = p;
      const a = updateAgent(ctx.tenant.stateDb(), name, patch, iso());
      ctx.tenant.audit({ action: 'agent.update', target: name, outcome: 'ok' });
      return a;
    },
  }),
  defineMethod({
    name: 'agents.delete',
    summary: 'Deletes an agent and its files (sessions and their transcripts stay).',
    params: z.object({ name: AgentNameSchema }).strict(),
    handler: (ctx, p) => {
      const r = deleteAgent(ctx.tenant.stateDb(), p.name);
      ctx.tenant.audit({ action: 'agent.delete', target: p.name, outcome: 'ok' });
      return r;
    },
  }),
  defineMethod({
    name: 'agents.files.list',
    summary: "An agent's files (path, bytes, updatedAt).",
    params: z.object({ name: AgentNameSchema }).strict(),
    handler: (ctx, p) => ({ files: listAgentFiles(ctx.tenant.stateDb(), p.name) }),
  }),
  defineMethod({
    name: 'agents.files.get',
    summary: "One of an agent's files with its content.",
    params: z.object({ name: AgentNameSchema, path: AgentFilePathSchema }).strict(),
    handler: (ctx, p) => getAgentFile(ctx.tenant.stateDb(), p.name, p.path),
  }),
  defineMethod({
    name: 'agents.files.set',
    writesDisk: true,
    summary: 'Writes an agent file (content null deletes it). MEMORY.md is injected when memory is on.',
    params: z.object({ name: AgentNameSchema, path: AgentFilePathSchema, content: z.string().nullable() }).strict(),
    handler: (ctx, p) => setAgentFile(ctx.tenant.stateDb(), p.name, p.path, p.content, iso()),
  }),
];
