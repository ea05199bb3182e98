// The request id rule of the whole fleet (router paths and shards alike): the client's own when it
// is sane, else a fresh UUID. One rule, so an id the router forwards is the id the shard logs.
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestIdOf(incoming: string | null | undefined): string {
  return incoming !== null && incoming !== undefined && REQUEST_ID_PATTERN.test(incoming) ? incoming : crypto.randomUUID();
}

/**
 * Request headers that describe one connection, not the request: never forwarded (RFC 9110 §7.6.1).
 * `expect` too: the router answers `100 Continue` to its client itself (Node does), and undici
 * refuses a request carrying it (`UND_ERR_NOT_SUPPORTED`), so forwarding it turned curl's uploads
 * over 1 MiB into 502s (issue 11 item 8).
 */
export const HOP_BY_HOP_REQUEST: readonly string[] = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'host', 'expect'];
