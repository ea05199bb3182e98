// Classifies an IP address for the SSRF guard: public, or one of the ranges a tenant must not reach.
import { isIPv4, isIPv6 } from 'node:net';

export type AddressClass = 'public' | 'private' | 'loopback' | 'link-local' | 'metadata' | 'reserved' | 'invalid';

function v4ToInt(ip: string): number {
  const p = ip.split('.').map(Number);
  return ((((p[0] ?? 0) << 24) >>> 0) + ((p[1] ?? 0) << 16) + ((p[2] ?? 0) << 8) + (p[3] ?? 0)) >>> 0;
}

function inV4(n: number, base: string, bits: number): boolean {
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return ((n & mask) >>> 0) === ((v4ToInt(base) & mask) >>> 0);
}

function classifyV4Int(n: number): AddressClass {
  if (n === v4ToInt('169.254.169.254') || n === v4ToInt('100.100.100.200') || n === v4ToInt('192.0.0.192')) return 'metadata';
  if (inV4(n, '127.0.0.0', 8)) return 'loopback';
  if (inV4(n, '169.254.0.0', 16)) return 'link-local';
  if (inV4(n, '10.0.0.0', 8) || inV4(n, '172.16.0.0', 12) || inV4(n, '192.168.0.0', 16) || inV4(n, '100.64.0.0', 10)) return 'private';
  if (
    inV4(n, '0.0.0.0', 8) ||
    inV4(n, '192.0.0.0', 24) ||
    inV4(n, '192.0.2.0', 24) ||
    inV4(n, '198.18.0.0', 15) ||
    inV4(n, '198.51.100.0', 24) ||
    inV4(n, '203.0.113.0', 24) ||
    inV4(n, '224.0.0.0', 4) ||
    inV4(n, '240.0.0.0', 4)
  ) {
    return 'reserved';
  }
  return 'public';
}

/** Parses an IPv6 literal (compressed, with an embedded dotted quad, with a zone) into 8 groups. */
export function parseV6(ip: string): number[] | null {
  const noZone = ip.split('%')[0] ?? '';
  if (!isIPv6(noZone)) return null;
  let s = noZone.toLowerCase();
  const lastColon = s.lastIndexOf(':');
  const last = s.slice(lastColon + 1);
  if (last.includes('.')) {
    if (!isIPv4(last)) return null;
    const n = v4ToInt(last);
    s = `${s.slice(0, lastColon + 1)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((h) => (/^[0-9a-f]{1,4}$/.test(h) ? parseInt(h, 16) : -1)));
  let groups: number[];
  if (halves.length === 2) {
    const head = parse(halves[0] ?? '');
    const rest = parse(halves[1] ?? '');
    const fill = 8 - head.length - rest.length;
    if (fill < 1) return null;
    groups = [...head, ...new Array<number>(fill).fill(0), ...rest];
  } else {
    groups = parse(s);
  }
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : null;
}

function classifyV6(g: number[]): AddressClass {
  const [a = 0, b = 0, c = 0, d = 0, e = 0, f = 0, h6 = 0, h7 = 0] = g;
  const embeddedV4 = ((h6 << 16) >>> 0) + h7;
  const zeroTo = (k: number): boolean => g.slice(0, k).every((x) => x === 0);
  if (zeroTo(7) && h7 === 1) return 'loopback';
  if (zeroTo(8)) return 'reserved';
  // IPv4-mapped ::ffff:a.b.c.d, IPv4-translated ::ffff:0:a.b.c.d and IPv4-compatible ::a.b.c.d
  if (zeroTo(5) && f === 0xffff) return classifyV4Int(embeddedV4);
  if (zeroTo(4) && e === 0xffff && f === 0) return classifyV4Int(embeddedV4);
  if (zeroTo(6)) return classifyV4Int(embeddedV4);
  // NAT64 64:ff9b::/96 and 64:ff9b:1::/48 carry an IPv4 address in the last 32 bits
  if (a === 0x64 && b === 0xff9b && (c === 0 || c === 1) && d === 0 && e === 0 && f === 0) return classifyV4Int(embeddedV4);
  if (a === 0x64 && b === 0xff9b && c === 1) return 'reserved';
  // 6to4 2002:AABB:CCDD::/16 embeds an IPv4 address in groups 1-2
  if (a === 0x2002) {
    const v4 = classifyV4Int(((b << 16) >>> 0) + c);
    return v4 === 'public' ? 'public' : v4;
  }
  if (a === 0xfd00 && b === 0x0ec2 && c === 0 && d === 0 && e === 0 && f === 0 && h6 === 0 && h7 === 0x254) return 'metadata';
  if ((a & 0xfe00) === 0xfc00) return 'private';
  if ((a & 0xffc0) === 0xfe80) return 'link-local';
  if ((a & 0xffc0) === 0xfec0) return 'private'; // deprecated site-local
  if ((a & 0xff00) === 0xff00) return 'reserved'; // multicast
  if (a === 0x2001 && b === 0x0db8) return 'reserved'; // documentation
  if (a === 0x2001 && b === 0) return 'reserved'; // Teredo: the real peer is hidden
  if (a === 0x0100 && b === 0 && c === 0 && d === 0) return 'reserved'; // discard-only
  return 'public';
}

export function classifyAddress(ip: string): AddressClass {
  if (isIPv4(ip)) return classifyV4Int(v4ToInt(ip));
  const g = parseV6(ip);
  return g === null ? 'invalid' : classifyV6(g);
}

/** True when a connection to `ip` may be opened under the given policy. */
export function addressAllowed(ip: string, allowPrivateNetwork: boolean): boolean {
  const c = classifyAddress(ip);
  if (c === 'public') return true;
  if (c === 'invalid') return false;
  return allowPrivateNetwork;
}
