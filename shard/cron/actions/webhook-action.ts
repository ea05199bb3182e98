// The webhook action: POST a signed JSON body to the tenant's URL, through the SSRF guard, with retries.
import { createHmac } from 'node:crypto';
import { request, type Dispatcher } from 'undici';
import { AppError, toAppError } from '../../../router/errors/app-error.ts';
import type { ActionHandler } from '../cron-actions.ts';

export interface WebhookOptions {
  /** An SSRF-guarded dispatcher (createGuardedAgent): the address is checked at connect time. */
  readonly dispatcher: Dispatcher;
  readonly attempts: number;
  readonly backoffMs: number;
  readonly timeoutMs: number;
  readonly now: () => number;
  /** Waits between attempts; injected so tests do not sleep. */
  readonly delay: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** The signature header value: sha256=hex(HMAC-SHA256(secret, `${timestamp}.${body}`)). */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** Worth another call: the network failed, the receiver is overloaded or broken. Not: 4xx, SSRF refusal. */
function retriable(err: AppError | null, status: number | null): boolean {
  if (status !== null) return status === 408 || status === 429 || status >= 500;
  return err === null || err.code !== 'AI_SSRF_BLOCKED';
}

export function createWebhookAction(opts: WebhookOptions): ActionHandler<{ type: 'webhook'; url: string; secret?: string | undefined }> {
  return async (ctx, action) => {
    const body = JSON.stringify({
      type: 'cron.run',
      tenant: ctx.tenantId,
      job: { id: ctx.job.id, name: ctx.job.name },
      scheduledAt: new Date(ctx.scheduledAt).toISOString(),
      attempt: ctx.attempt,
    });
    let last: { status: number | null; error: AppError | null } = { status: null, error: null };
    for (let call = 1; call <= opts.attempts; call++) {
      if (call > 1) await opts.delay(opts.backoffMs * 2 ** (call - 2), ctx.signal);
      const timestamp = String(Math.floor(opts.now() / 1000));
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'user-agent': 'openclawmu-cron/1',
        // The same for every call and re-run of one scheduled time: receivers dedupe on it.
        'x-openclawmu-delivery': `${ctx.job.id}:${ctx.scheduledAt}`,
        'x-openclawmu-timestamp': timestamp,
      };
      if (action.secret !== undefined) headers['x-openclawmu-signature'] = signWebhook(action.secret, timestamp, body);
      try {
        const res = await request(action.url, {
          method: 'POST',
          headers,
          body,
          dispatcher: opts.dispatcher,
          signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(opts.timeoutMs)]),
          maxRedirections: 0,
        } as Parameters<typeof request>[1]);
        await res.body.dump();
        if (res.statusCode >= 200 && res.statusCode < 300) return { result: { status: res.statusCode, calls: call } };
        last = { status: res.statusCode, error: null };
      } catch (err) {
        if (ctx.signal.aborted) throw err;
        // undici wraps the connector's refusal; find our AppError in the cause chain.
        let e: unknown = err;
        while (e instanceof Error && !(e instanceof AppError) && e.cause !== undefined) e = e.cause;
        last = { status: null, error: e instanceof AppError ? e : toAppError(err) };
      }
      if (!retriable(last.error, last.status)) break;
    }
    if (last.error?.code === 'AI_SSRF_BLOCKED') throw last.error;
    throw new AppError('CRON_WEBHOOK_FAILED', {
      details: { ...(last.status === null ? {} : { status: last.status }), ...(last.error === null ? {} : { cause: last.error.code }) },
      ...(last.error === null ? {} : { cause: last.error }),
    });
  };
}
