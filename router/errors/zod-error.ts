// The one conversion of a zod validation failure into the project's AppError: every boundary (HTTP
// bodies, RPC params, config files, manifests, tool arguments) names the failing fields the same way.
import type { z } from 'zod';
import { AppError } from './app-error.ts';
import type { ErrorCode } from './codes.ts';

export interface FieldIssue {
  /** Dotted path of the failing field, or the boundary's root label for the value as a whole. */
  readonly field: string;
  readonly problem: string;
}

export interface ZodFailureOptions {
  /** VALIDATION_FAILED for requests, CONFIG_INVALID for config, MANIFEST_INVALID for manifests. */
  readonly code: ErrorCode;
  /** Starts the message: 'Invalid request', 'Invalid params for chat.send', a file name. */
  readonly prefix: string;
  /** What a path-less issue is about: '(body)', '(params)', '(root)'. */
  readonly root?: string;
  /** 'all' lists every issue in the message (requests); 'first' names the first (config files). */
  readonly list?: 'all' | 'first';
  /** More safe details (e.g. the config source). */
  readonly details?: Record<string, unknown>;
}

/** At most this many issues travel in `details` (an adversarial input can fail thousands of checks). */
const MAX_ISSUES = 20;

export function fieldIssues(err: z.ZodError, root = '(root)'): FieldIssue[] {
  return err.issues.slice(0, MAX_ISSUES).map((i) => ({ field: i.path.join('.') || root, problem: i.message }));
}

export function appErrorFromZod(err: z.ZodError, opts: ZodFailureOptions): AppError {
  const issues = fieldIssues(err, opts.root);
  const shown = opts.list === 'first' ? issues.slice(0, 1) : issues;
  const text = shown.length === 0 ? 'invalid' : shown.map((i) => `${i.field}: ${i.problem}`).join('; ');
  return new AppError(opts.code, {
    message: `${opts.prefix}: ${text}`,
    details: { ...opts.details, field: issues[0]?.field ?? opts.root ?? '(root)', issues },
    cause: err,
  });
}

/** Parses `input` with `schema`, or throws the AppError the options describe. */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown, opts: ZodFailureOptions): z.infer<S> {
  const res = schema.safeParse(input);
  if (!res.success) throw appErrorFromZod(res.error, opts);
  return res.data;
}
