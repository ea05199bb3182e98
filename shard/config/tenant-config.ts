// A tenant's config.yaml overlay: its schema, the admin-only keys, and the merged view (DESIGN §3).
import { z } from 'zod';

/** Top-level keys only the operator may set; refused on write and stripped on read. */
export const ADMIN_ONLY_KEYS: readonly string[] = ['gateway', 'providers', 'rateCard', 'storage'];

export const TenantOverlaySchema = z
  .object({
    displayName: z.string().max(200).optional(),
    timezone: z.string().max(64).optional(),
    chat: z
      .object({
        defaultModel: z.string().max(200).optional(),
        maxToolSteps: z.number().int().min(0).max(32).optional(),
        systemPrompt: z.string().max(20_000).optional(),
        temperature: z.number().min(0).max(2).optional(),
      })
      .strict()
      .optional(),
    memory: z
      .object({
        enabled: z.boolean().optional(),
        embedder: z.string().max(200).optional(),
        vectorWeight: z.number().min(0).max(1).optional(),
        keywordWeight: z.number().min(0).max(1).optional(),
        recencyHalfLifeDays: z.number().positive().optional(),
        mmrLambda: z.number().min(0).max(1).optional(),
        minScore: z.number().min(0).max(1).optional(),
        quantization: z.enum(['none', 'int8', 'binary']).optional(),
      })
      .strict()
      .optional(),
    sandbox: z
      .object({
        network: z.enum(['none']).optional(),
        memoryMb: z.number().int().positive().max(65536).optional(),
      })
      .strict()
      .optional(),
    labels: z.record(z.string().max(64), z.string().max(256)).optional(),
  })
  .strict();

export type TenantOverlay = z.infer<typeof TenantOverlaySchema>;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge of `over` onto `base` (objects merge, everything else replaces). */
export function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isPlainObject(b) && isPlainObject(v) ? deepMerge(b, v) : v;
  }
  return out;
}

/** RFC 7396 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return patch;
  const out: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** Returns the admin-only key a value touches, if any (top level of an overlay-shaped object). */
export function adminKeyIn(value: unknown): string | undefined {
  if (!isPlainObject(value)) return undefined;
  return Object.keys(value).find((k) => ADMIN_ONLY_KEYS.includes(k));
}

export function stripAdminKeys(value: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (!ADMIN_ONLY_KEYS.includes(k)) out[k] = v;
  return out;
}

const SEGMENT = /^[A-Za-z0-9_-]{1,64}$/;

/** Parses a dotted path (`memory.vectorWeight`); segments are plain identifiers (no __proto__ tricks). */
export function parseDottedPath(path: string): string[] | null {
  const segs = path.split('.');
  if (segs.length === 0 || segs.length > 8) return null;
  if (!segs.every((s) => SEGMENT.test(s) && s !== '__proto__' && s !== 'constructor' && s !== 'prototype')) return null;
  return segs;
}

/** Sets `value` at `segs` in a copy of `obj`; `undefined` removes the key. */
export function setAtPath(obj: Record<string, unknown>, segs: string[], value: unknown): Record<string, unknown> {
  const [head, ...rest] = segs;
  if (head === undefined) return obj;
  const out: Record<string, unknown> = { ...obj };
  if (rest.length === 0) {
    if (value === undefined) delete out[head];
    else out[head] = value;
    return out;
  }
  const child = isPlainObject(out[head]) ? (out[head] as Record<string, unknown>) : {};
  out[head] = setAtPath(child, rest, value);
  return out;
}

export type { Json };
