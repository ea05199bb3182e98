// zod schemas of the OpenAI-compatible request bodies (chat completions, responses, embeddings).
import { z } from 'zod';
import { parseWith } from '../../../router/errors/zod-error.ts';

const ToolCallSchema = z.object({
  id: z.string().max(200),
  type: z.literal('function').default('function'),
  function: z.object({ name: z.string().max(200), arguments: z.string().max(1_000_000) }),
});

const ContentSchema = z.union([z.string(), z.array(z.looseObject({ type: z.string() })), z.null()]);

export const MessageSchema = z.object({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
  content: ContentSchema.optional().transform((c) => c ?? null),
  name: z.string().max(200).optional(),
  tool_calls: z.array(ToolCallSchema).max(128).optional(),
  tool_call_id: z.string().max(200).optional(),
});

export const ToolSchema = z.object({
  type: z.literal('function'),
  function: z.object({ name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/), description: z.string().max(10_000).optional(), parameters: z.record(z.string(), z.unknown()).optional(), strict: z.boolean().optional() }),
});

/** Fields forwarded to OpenAI-compatible upstreams as they are. */
export const PASSTHROUGH_FIELDS = ['response_format', 'seed', 'presence_penalty', 'frequency_penalty', 'logit_bias', 'parallel_tool_calls', 'reasoning_effort', 'logprobs', 'top_logprobs'] as const;

export const ChatBodySchema = z.looseObject({
  model: z.string().min(1).max(200),
  messages: z.array(MessageSchema).min(1).max(2000),
  stream: z.boolean().optional(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
  tools: z.array(ToolSchema).max(128).optional(),
  tool_choice: z.unknown().optional(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  max_tokens: z.number().int().positive().nullish(),
  max_completion_tokens: z.number().int().positive().nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(4)]).nullish(),
  n: z.number().int().min(1).max(1).nullish(),
  user: z.string().max(256).optional(),
});
export type ChatBody = z.infer<typeof ChatBodySchema>;

const InputItem = z.looseObject({ type: z.string().optional(), role: z.enum(['system', 'developer', 'user', 'assistant']).optional() });
export const ResponsesBodySchema = z.looseObject({
  model: z.string().min(1).max(200),
  input: z.union([z.string(), z.array(InputItem).max(2000)]),
  instructions: z.string().max(100_000).nullish(),
  tools: z.array(z.looseObject({ type: z.string(), name: z.string().max(64).optional(), description: z.string().optional(), parameters: z.record(z.string(), z.unknown()).nullish() })).max(128).optional(),
  tool_choice: z.unknown().optional(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  max_output_tokens: z.number().int().positive().nullish(),
  stream: z.boolean().optional(),
  user: z.string().max(256).optional(),
  store: z.boolean().optional(),
});
export type ResponsesBody = z.infer<typeof ResponsesBodySchema>;

export const EmbeddingsBodySchema = z.looseObject({
  model: z.string().min(1).max(200),
  input: z.union([z.string(), z.array(z.string()).min(1).max(2048)]),
  dimensions: z.number().int().min(1).max(8192).optional(),
  encoding_format: z.enum(['float', 'base64']).optional(),
  user: z.string().max(256).optional(),
});

export function parseOpenAiBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  return parseWith(schema, body ?? {}, { code: 'VALIDATION_FAILED', prefix: 'Invalid request', root: '(body)', list: 'first' });
}
