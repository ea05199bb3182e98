// CORS for browser clients (a chat UI calling /v1/chat/completions with a tenant token): the router
// answers preflights itself and marks answers to allowed origins. Operator-configured origins only;
// no credentials mode (tokens travel in headers, never cookies). Pure, no node: imports.

export interface CorsOptions {
  /** Exact origins (`https://chat.example.com`) or `*` for any; empty: CORS off. */
  readonly origins: readonly string[];
  /** How long a browser may cache a preflight. */
  readonly maxAgeSeconds?: number;
}

export interface Cors {
  readonly enabled: boolean;
  /** The answer to a CORS preflight (OPTIONS + Origin + Access-Control-Request-Method); null for anything else. */
  preflight(req: Request): Response | null;
  /** The CORS headers an answer to this request carries (empty when none). */
  headersFor(origin: string | null): Record<string, string>;
}

const METHODS = 'GET, POST, PUT, PATCH, DELETE, OPTIONS';
// What browser code may read: our request id and shard, retry hints, and the error source.
const EXPOSE = 'x-request-id, x-openclawmu-shard, x-openclawmu-error-source, retry-after, x-openclawmu-partial';
const HEADER_LIST = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+(?:\s*,\s*[A-Za-z0-9!#$%&'*+.^_`|~-]+)*$/;

export function createCors(opts: CorsOptions = { origins: [] }): Cors {
  const any = opts.origins.includes('*');
  const exact = new Set(opts.origins.filter((o) => o !== '*').map((o) => o.replace(/\/+$/, '').toLowerCase()));
  const enabled = any || exact.size > 0;
  const allowed = (origin: string | null): origin is string => origin !== null && (any || exact.has(origin.toLowerCase()));
  const headersFor = (origin: string | null): Record<string, string> => {
    if (!enabled) return {};
    if (!allowed(origin)) return { vary: 'Origin' };
    return { 'access-control-allow-origin': any ? '*' : origin, 'access-control-expose-headers': EXPOSE, vary: 'Origin' };
  };
  return {
    enabled,
    headersFor,
    preflight(req) {
      if (!enabled || req.method !== 'OPTIONS') return null;
      const origin = req.headers.get('origin');
      const method = req.headers.get('access-control-request-method');
      if (origin === null || method === null) return null;
      const headers: Record<string, string> = headersFor(origin);
      if (allowed(origin)) {
        headers['access-control-allow-methods'] = METHODS;
        // The OpenAI SDKs send their own x-stainless-* and openai-* headers: allow what is asked for.
        const asked = req.headers.get('access-control-request-headers');
        if (asked !== null && HEADER_LIST.test(asked.trim())) headers['access-control-allow-headers'] = asked.trim();
        headers['access-control-max-age'] = String(opts.maxAgeSeconds ?? 600);
      }
      return new Response(null, { status: 204, headers });
    },
  };
}
