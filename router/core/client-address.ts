// Who the client is: the socket's peer, or, behind operator-listed trusted proxies, the first
// untrusted address of X-Forwarded-For read right to left. Pure (no node:), shared by every path.

/** Parsed `trustedProxies` (CIDRs or single addresses) plus whether the direct peer is trusted whatever it is. */
export interface TrustedProxies {
  trusts(address: string, hop: number): boolean;
  readonly any: boolean;
}

interface Cidr {
  readonly bytes: Uint8Array;
  readonly bits: number;
}

/** `10.0.0.0/8`, `192.168.1.7`, `fd00::/8`, `::1`; null when it is none of those. */
export function parseCidr(text: string): Cidr | null {
  const slash = text.indexOf('/');
  const addr = parseIp(slash === -1 ? text : text.slice(0, slash));
  if (addr === null) return null;
  const max = addr.length * 8;
  if (slash === -1) return { bytes: addr, bits: max };
  const bitsText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(bitsText)) return null;
  const bits = Number(bitsText);
  return bits <= max ? { bytes: addr, bits } : null;
}

/**
 * `trustDirectPeer` is the older `trustForwardedFor: true`: the operator says the router's direct
 * peer is their load balancer, whatever its address. Hops further left still need a listed CIDR.
 */
export function createTrustedProxies(cidrs: readonly string[], trustDirectPeer = false): TrustedProxies {
  const parsed: Cidr[] = [];
  for (const c of cidrs) {
    const p = parseCidr(c.trim());
    if (p === null) throw new TypeError(`not an IP address or CIDR: ${c}`);
    parsed.push(p);
  }
  return {
    any: parsed.length > 0 || trustDirectPeer,
    trusts(address, hop) {
      if (hop === 0 && trustDirectPeer) return true;
      if (parsed.length === 0) return false;
      const ip = parseIp(address);
      return ip !== null && parsed.some((c) => inCidr(ip, c));
    },
  };
}

export interface ClientAddress {
  /** The address the throttle and the logs use. */
  readonly client: string;
  /** The X-Forwarded-For to send upstream: the trusted chain plus the socket's peer, else the peer alone. */
  readonly forwardedFor: string;
}

/**
 * Walks X-Forwarded-For right to left from the socket's peer: while the current hop is a trusted
 * proxy, the entry to its left is who connected to it. The first untrusted hop is the client (an
 * attacker can prepend anything, so nothing left of it counts). Without a trusted peer the chain
 * from the client is dropped, never passed on.
 */
export function clientAddressOf(socketAddress: string, forwardedFor: string | null, trusted: TrustedProxies): ClientAddress {
  const peer = normalizeAddress(socketAddress);
  if (!trusted.any || forwardedFor === null || !trusted.trusts(peer, 0)) return { client: peer, forwardedFor: peer };
  const chain = forwardedFor.split(',').map((s) => normalizeAddress(s.trim())).filter((s) => s !== '');
  let client = peer;
  for (let hop = 1, i = chain.length - 1; i >= 0; hop++, i--) {
    const next = chain[i] as string;
    if (parseIp(next) === null) break; // garbage in the chain: stop at the last address we can vouch for
    client = next;
    if (!trusted.trusts(next, hop)) break;
  }
  return { client, forwardedFor: chain.length === 0 ? peer : `${chain.join(', ')}, ${peer}` };
}

/** `::ffff:10.1.2.3` → `10.1.2.3`; brackets and an IPv6 zone dropped. */
export function normalizeAddress(address: string): string {
  let a = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const zone = a.indexOf('%');
  if (zone !== -1) a = a.slice(0, zone);
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(a);
  return mapped === null ? a : (mapped[1] as string);
}

function inCidr(ip: Uint8Array, c: Cidr): boolean {
  if (ip.length !== c.bytes.length) return false;
  let bits = c.bits;
  for (let i = 0; i < ip.length && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((ip[i] as number) & mask) !== ((c.bytes[i] as number) & mask)) return false;
  }
  return true;
}

/** 4 bytes for IPv4 (and IPv4-mapped IPv6), 16 for IPv6; null when not an address. */
export function parseIp(text: string): Uint8Array | null {
  const a = normalizeAddress(text);
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(a);
  if (v4 !== null) {
    const out = new Uint8Array(4);
    for (let i = 0; i < 4; i++) {
      const n = Number(v4[i + 1]);
      if (n > 255) return null;
      out[i] = n;
    }
    return out;
  }
  if (!/^[0-9a-fA-F:.]+$/.test(a) || !a.includes(':')) return null;
  let head = a;
  let tail4: Uint8Array | null = null;
  const lastColon = a.lastIndexOf(':');
  if (a.slice(lastColon + 1).includes('.')) {
    tail4 = parseIp(a.slice(lastColon + 1));
    if (tail4 === null || tail4.length !== 4) return null;
    head = `${a.slice(0, lastColon + 1)}0:0`;
  }
  const halves = head.split('::');
  if (halves.length > 2) return null;
  const group = (s: string): number[] | null => {
    if (s === '') return [];
    const parts = s.split(':');
    const out: number[] = [];
    for (const p of parts) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return null;
      out.push(parseInt(p, 16));
    }
    return out;
  };
  const left = group(halves[0] as string);
  const right = halves.length === 2 ? group(halves[1] as string) : [];
  if (left === null || right === null) return null;
  const missing = 8 - left.length - right.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const words = [...left, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...right];
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[i * 2] = w >> 8;
    out[i * 2 + 1] = w & 0xff;
  });
  if (tail4 !== null) out.set(tail4, 12);
  return out;
}
