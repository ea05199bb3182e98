// The one table of error codes for the whole project: code → HTTP status, JSON-RPC code, message.
// docs/errors.md is generated from this table (`npm run gen:errors`) and a test keeps them equal.
// A code is never reused or renamed; retire one by marking it `retired: true`.

export interface ErrorSpec {
  readonly status: number;
  readonly rpc: number;
  readonly message: string;
  readonly retired?: boolean;
}

// JSON-RPC: -32700..-32600 are the spec's own; -32000..-32099 are ours, grouped by kind.
export const RPC = {
  parse: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internal: -32603,
  unauthorized: -32001,
  forbidden: -32003,
  notFound: -32004,
  conflict: -32009,
  tooLarge: -32013,
  quota: -32029,
  unavailable: -32050,
  misdirected: -32021,
  upstream: -32052,
} as const;

const table = {
  // request shape
  BAD_REQUEST: { status: 400, rpc: RPC.invalidParams, message: 'The request is malformed.' },
  VALIDATION_FAILED: { status: 400, rpc: RPC.invalidParams, message: 'A field failed validation.' },
  RESPONSE_TOO_LARGE: { status: 413, rpc: RPC.tooLarge, message: 'The answer would be larger than the limit; ask for less (fewer items, a smaller page) or page through it.' },
  BODY_TOO_LARGE: { status: 413, rpc: RPC.tooLarge, message: 'The request body is larger than the limit.' },
  NOT_FOUND: { status: 404, rpc: RPC.notFound, message: 'No such route.' },
  METHOD_NOT_ALLOWED: { status: 405, rpc: RPC.methodNotFound, message: 'This method is not allowed on this route.' },
  INTERNAL: { status: 500, rpc: RPC.internal, message: 'Internal error.' },
  LISTEN_ADDRESS_IN_USE: { status: 503, rpc: RPC.unavailable, message: 'The port is in use: another process listens on it.' },
  CONFIRM_REQUIRED: { status: 400, rpc: RPC.invalidParams, message: 'This operation destroys data and needs confirm=true.' },

  // auth
  AUTH_REQUIRED: { status: 401, rpc: RPC.unauthorized, message: 'Missing or malformed credentials.' },
  AUTH_INVALID: { status: 401, rpc: RPC.unauthorized, message: 'Invalid credentials.' },
  AUTH_FORBIDDEN: { status: 403, rpc: RPC.forbidden, message: 'These credentials may not call this operation.' },
  AUTH_TENANT_DISABLED: { status: 403, rpc: RPC.forbidden, message: 'This tenant is disabled.' },
  AUTH_GRACE_TOKEN_LIMITED: { status: 403, rpc: RPC.forbidden, message: 'A token in its rotation grace period reads and works but cannot rotate, delete the tenant or change credentials; use the current token.' },
  AUTH_TOO_MANY_FAILURES: { status: 429, rpc: RPC.quota, message: 'Too many failed authentication attempts from this address.' },

  // tenants (shard)
  SHARD_TENANT_NOT_FOUND: { status: 404, rpc: RPC.notFound, message: 'No such tenant.' },
  SHARD_TENANT_EXISTS: { status: 409, rpc: RPC.conflict, message: 'A tenant with this id already exists.' },
  SHARD_TENANT_ID_INVALID: { status: 400, rpc: RPC.invalidParams, message: 'Tenant ids match ^[a-z0-9][a-z0-9_-]{0,31}$.' },
  SHARD_TENANT_MOVED: { status: 421, rpc: RPC.misdirected, message: 'This shard does not own the tenant.' },
  SHARD_TENANT_FROZEN: { status: 503, rpc: RPC.unavailable, message: 'The tenant is frozen for a move; retry shortly.' },
  SHARD_TENANT_BUSY: { status: 409, rpc: RPC.conflict, message: 'The tenant is in a state that does not allow this operation.' },
  SHARD_WS_LIMIT: { status: 429, rpc: RPC.quota, message: 'This tenant has as many open WebSockets as allowed (limits.wsPerTenant); close one first.' },
  SHARD_DRAINING: { status: 503, rpc: RPC.unavailable, message: 'The shard is shutting down.' },
  SHARD_PATH_ESCAPE: { status: 400, rpc: RPC.invalidParams, message: 'The path resolves outside the tenant directory.' },
  SHARD_STATE_CORRUPT: { status: 500, rpc: RPC.internal, message: 'A tenant file on disk failed validation.' },
  SHARD_SCHEMA_TOO_NEW: { status: 500, rpc: RPC.internal, message: 'A tenant database was migrated by a newer version of one of its features.' },
  SHARD_DATA_FORMAT_NEWER: { status: 500, rpc: RPC.internal, message: 'The data directory was written by a newer openclawmu; this version refuses to start on it (docs/upgrading.md).' },

  // config
  CONFIG_INVALID: { status: 400, rpc: RPC.invalidParams, message: 'The configuration is invalid.' },
  CONFIG_ADMIN_KEY: { status: 403, rpc: RPC.forbidden, message: 'This configuration key is reserved for the operator.' },

  // JSON-RPC framing
  RPC_PARSE_ERROR: { status: 200, rpc: RPC.parse, message: 'Parse error: the frame is not valid JSON.' },
  RPC_INVALID_REQUEST: { status: 200, rpc: RPC.invalidRequest, message: 'Invalid request: not a JSON-RPC 2.0 request object.' },
  RPC_METHOD_NOT_FOUND: { status: 200, rpc: RPC.methodNotFound, message: 'Method not found.' },
  RPC_BATCH_TOO_LARGE: { status: 200, rpc: RPC.invalidRequest, message: 'The batch has more requests than allowed.' },

  // router
  ROUTER_NO_TENANT: { status: 401, rpc: RPC.unauthorized, message: 'The request names no tenant and is not a fleet-wide route.' },
  ROUTER_NO_OWNER: { status: 503, rpc: RPC.unavailable, message: 'No shard is available for this tenant.' },
  ROUTER_SHARD_UNREACHABLE: { status: 503, rpc: RPC.unavailable, message: 'The shard that owns this tenant is unreachable (it fails its health checks); retry later.' },
  ROUTER_UPSTREAM_DOWN: { status: 502, rpc: RPC.upstream, message: 'The owning shard did not answer.' },
  ROUTER_UPSTREAM_TIMEOUT: { status: 504, rpc: RPC.upstream, message: 'The owning shard did not answer in time.' },
  ROUTER_TOO_MANY_HOPS: { status: 508, rpc: RPC.upstream, message: 'Shards kept redirecting; gave up after the hop limit.' },
  ROUTER_HOLD_EXPIRED: { status: 503, rpc: RPC.unavailable, message: 'The tenant stayed frozen past the hold limit.' },
  ROUTER_CLIENT_GONE: { status: 499, rpc: RPC.unavailable, message: 'The client closed the connection before the answer (never sent; counted in metrics).' },
  ROUTER_MANIFEST_UNAVAILABLE: { status: 503, rpc: RPC.unavailable, message: 'The router has no valid fleet manifest yet.' },
  ROUTER_UNREACHABLE: { status: 502, rpc: RPC.upstream, message: 'The router at the given URL did not answer (CLI).' },

  // manifest / blob store
  MANIFEST_INVALID: { status: 400, rpc: RPC.invalidParams, message: 'The fleet manifest failed validation.' },
  MANIFEST_CONFLICT: { status: 409, rpc: RPC.conflict, message: 'The fleet manifest changed underneath this write (compare-and-swap failed).' },
  BLOB_NOT_FOUND: { status: 404, rpc: RPC.notFound, message: 'No such object in the blob store.' },
  BLOB_EXISTS: { status: 409, rpc: RPC.conflict, message: 'The object already exists (create-only write).' },
  BLOB_PRECONDITION_FAILED: { status: 412, rpc: RPC.conflict, message: 'The object changed (compare-and-swap failed).' },
  BLOB_URL_INVALID: { status: 400, rpc: RPC.invalidParams, message: 'Unsupported blob store URL.' },
  BLOB_IO: { status: 502, rpc: RPC.upstream, message: 'The blob store failed.' },
  BLOB_KEY_INVALID: { status: 400, rpc: RPC.invalidParams, message: 'Invalid blob key: /-separated segments of [A-Za-z0-9._-], none starting with a dot.' },
  BLOB_NOT_CONFIGURED: { status: 503, rpc: RPC.unavailable, message: 'This shard has no blob store configured (start it with --blob <url>).' },

  // snapshots
  SNAPSHOT_NOT_FOUND: { status: 404, rpc: RPC.notFound, message: 'No such snapshot.' },
  SNAPSHOT_HASH_MISMATCH: { status: 422, rpc: RPC.invalidParams, message: 'The snapshot does not match its manifest hash.' },
  SNAPSHOT_ARCHIVE_REJECTED: { status: 422, rpc: RPC.invalidParams, message: 'The archive contains an entry that is not allowed.' },
  SNAPSHOT_TOO_LARGE: { status: 422, rpc: RPC.invalidParams, message: 'The archive exceeds a size, entry or ratio cap.' },
  SNAPSHOT_CORRUPT: { status: 422, rpc: RPC.invalidParams, message: 'The archive or a database inside it is corrupt.' },
  SNAPSHOT_FORMAT_UNSUPPORTED: { status: 422, rpc: RPC.invalidParams, message: 'Unsupported snapshot format version.' },
  SNAPSHOT_TARGET_EXISTS: { status: 409, rpc: RPC.conflict, message: 'The tenant exists here; restore over it needs force.' },

  // moves
  MOVE_CONFLICT: { status: 409, rpc: RPC.conflict, message: 'Another move of this tenant is in progress.' },
  MOVE_EPOCH_STALE: { status: 409, rpc: RPC.conflict, message: 'The epoch given is older than the tenant epoch.' },
  MOVE_FAILED: { status: 500, rpc: RPC.internal, message: 'A tenant move failed and was rolled back.' },
  FLEET_SHARD_EXISTS: { status: 409, rpc: RPC.conflict, message: 'A shard with this id is already in the manifest.' },
  FLEET_SHARD_NOT_FOUND: { status: 404, rpc: RPC.notFound, message: 'No shard with this id in the manifest.' },
  FLEET_EXISTS: { status: 409, rpc: RPC.conflict, message: 'A fleet manifest already exists in this blob store.' },
  FLEET_SHARD_REACHABLE: { status: 409, rpc: RPC.conflict, message: 'The shard still answers: it is not lost (drain it with remove-shard instead).' },
  FLEET_SHARD_URL_TAKEN: { status: 409, rpc: RPC.conflict, message: 'Another shard in the manifest already has this URL.' },
  TENANT_THAW_REFUSED: { status: 409, rpc: RPC.conflict, message: 'The tenant is frozen for a move that is still in flight or committed elsewhere; settle it with rebalance.' },

  // quotas
  QUOTA_REQUESTS_MINUTE: { status: 429, rpc: RPC.quota, message: 'Requests-per-minute limit reached.' },
  QUOTA_TOKENS_DAY: { status: 429, rpc: RPC.quota, message: 'Daily token limit reached.' },
  QUOTA_TOKENS_MONTH: { status: 429, rpc: RPC.quota, message: 'Monthly token limit reached.' },
  QUOTA_USD_DAY: { status: 429, rpc: RPC.quota, message: 'Daily cost limit reached.' },
  QUOTA_USD_MONTH: { status: 429, rpc: RPC.quota, message: 'Monthly cost limit reached.' },
  QUOTA_CONCURRENT_SESSIONS: { status: 429, rpc: RPC.quota, message: 'Concurrent session limit reached.' },
  QUOTA_CONCURRENT_REQUESTS: { status: 429, rpc: RPC.quota, message: 'This tenant has as many requests in flight as allowed (limits.tenantConcurrentRequests); retry when one finishes.' },
  QUOTA_DISK: { status: 429, rpc: RPC.quota, message: 'Disk quota reached.' },

  // AI surface
  AI_MODEL_NOT_FOUND: { status: 404, rpc: RPC.notFound, message: 'No such model or agent.' },
  AI_PROVIDER_ERROR: { status: 502, rpc: RPC.upstream, message: 'The model provider returned an error.' },
  AI_PROVIDER_TIMEOUT: { status: 504, rpc: RPC.upstream, message: 'The model provider did not answer in time.' },
  AI_SSRF_BLOCKED: { status: 403, rpc: RPC.forbidden, message: 'The upstream address is not allowed.' },
  AI_AGENT_NOT_FOUND: { status: 404, rpc: RPC.notFound, message: 'No such agent.' },
  AI_AGENT_EXISTS: { status: 409, rpc: RPC.conflict, message: 'An agent with this name already exists.' },
  AI_SESSION_NOT_FOUND: { status: 404, rpc: RPC.notFound, message: 'No such session.' },
  AI_TOOL_LOOP_LIMIT: { status: 500, rpc: RPC.internal, message: 'The agent exceeded its tool-call step limit.' },
  AI_SESSION_BUSY: { status: 409, rpc: RPC.conflict, message: 'The session has a run in progress; abort it or wait.' },
  AI_IDEMPOTENCY_CONFLICT: { status: 409, rpc: RPC.conflict, message: 'This idempotency key was used for a different request.' },

  // memory
  MEMORY_NOT_FOUND: { status: 404, rpc: RPC.notFound, message: 'No such memory document.' },
  MEMORY_DOCUMENT_INVALID: { status: 400, rpc: RPC.invalidParams, message: 'The memory document is malformed.' },
  MEMORY_DOCUMENT_TOO_LARGE: { status: 413, rpc: RPC.tooLarge, message: 'The memory document is larger than the limit.' },
  MEMORY_EMBEDDER_UNAVAILABLE: { status: 503, rpc: RPC.unavailable, message: 'The configured embedder is unavailable.' },
  MEMORY_SCHEMA_TOO_NEW: { status: 500, rpc: RPC.internal, message: 'memory.db was written by a newer version of openclawmu.' },
  MEMORY_DISABLED: { status: 403, rpc: RPC.forbidden, message: 'Memory is turned off for this tenant.' },
  MEMORY_EMBEDDER_INVALID: { status: 400, rpc: RPC.invalidParams, message: 'The memory embedder setting names no embedder this shard offers.' },

  // channels
  CHANNEL_NOT_FOUND: { status: 404, rpc: RPC.notFound, message: 'No such channel.' },
  CHANNEL_EXISTS: { status: 409, rpc: RPC.conflict, message: 'A channel with this name already exists.' },
  CHANNEL_SIGNATURE_INVALID: { status: 401, rpc: RPC.unauthorized, message: 'The delivery is not signed by this channel\'s platform secret.' },
  CHANNEL_PAYLOAD_INVALID: { status: 400, rpc: RPC.invalidParams, message: 'The platform delivery is malformed.' },
  CHANNEL_SEAL_KEY_MISSING: { status: 503, rpc: RPC.unavailable, message: 'The shard has no channel seal key with this id (operator config channels.sealKeys).' },
  CHANNEL_CREDENTIALS_UNREADABLE: { status: 500, rpc: RPC.internal, message: 'The sealed channel credentials do not open with this shard\'s keys.' },
  CHANNEL_PLATFORM_ERROR: { status: 502, rpc: RPC.upstream, message: 'The messaging platform refused or failed the call.' },
  CHANNEL_RATE_LIMITED: { status: 429, rpc: RPC.quota, message: 'Too many messages from this visitor; retry shortly.' },
  CHANNEL_PAIRING_NOT_FOUND: { status: 404, rpc: RPC.notFound, message: 'No pending pairing request with this code.' },
  CHANNEL_DISABLED: { status: 403, rpc: RPC.forbidden, message: 'This channel does not accept this kind of delivery.' },
  // cron
  CRON_SCHEDULE_INVALID: { status: 400, rpc: RPC.invalidParams, message: 'The schedule or time zone is invalid.' },
  CRON_JOB_NOT_FOUND: { status: 404, rpc: RPC.notFound, message: 'No such cron job.' },
  CRON_LIMIT_JOBS: { status: 429, rpc: RPC.quota, message: 'The tenant has as many cron jobs as its limit allows.' },
  CRON_LIMIT_INTERVAL: { status: 400, rpc: RPC.invalidParams, message: 'The schedule fires more often than the minimum interval allows.' },
  CRON_LIMIT_CONCURRENT: { status: 429, rpc: RPC.quota, message: 'The tenant has as many cron runs in progress as its limit allows.' },
  CRON_JOB_RUNNING: { status: 409, rpc: RPC.conflict, message: 'This cron job has a run in progress.' },
  CRON_ACTION_UNAVAILABLE: { status: 503, rpc: RPC.unavailable, message: 'This shard cannot run this kind of cron action (yet).' },
  CRON_CHANNELS_UNAVAILABLE: { status: 503, rpc: RPC.unavailable, message: 'Delivery to a channel is not available on this shard yet.' },
  CRON_WEBHOOK_FAILED: { status: 502, rpc: RPC.upstream, message: 'The cron webhook did not accept the call after its retries.' },
  CRON_RUN_INTERRUPTED: { status: 500, rpc: RPC.internal, message: 'The shard stopped during this cron run (crash, kill or move); it did not finish.' },
  CRON_RUN_TIMEOUT: { status: 504, rpc: RPC.upstream, message: 'The cron run did not finish within its time limit.' },

  // audit
  AUDIT_CHAIN_BROKEN: { status: 500, rpc: RPC.internal, message: 'The audit log hash chain is broken.' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof table;
export const ERROR_CODES: Readonly<Record<ErrorCode, ErrorSpec>> = table;
