// Keeps a router's copy of the fleet manifest fresh: conditional polls, on-demand refresh, last good copy kept.
import { toAppError } from '../errors/app-error.ts';
import type { ErrorCode } from '../errors/codes.ts';
import type { Manifest } from './manifest-schema.ts';
import type { ManifestSource } from './manifest-source.ts';

export type ManifestEvent =
  | { kind: 'loaded'; version: number; previous: number | null }
  | { kind: 'invalid'; code: ErrorCode; message: string; keptVersion: number | null }
  | { kind: 'unreachable'; code: ErrorCode; message: string; keptVersion: number | null }
  | { kind: 'regressed'; version: number; keptVersion: number };

export interface ManifestStatus {
  readonly version: number | null;
  readonly etag: string | undefined;
  /** When the source last confirmed the copy we hold (a 200 or a 304), ms since epoch; null if never. */
  readonly confirmedAt: number | null;
  readonly invalidTotal: number;
  readonly unreachableTotal: number;
  readonly lastError: { code: ErrorCode; message: string; at: number } | null;
}

/** What the router core needs from a manifest holder. */
export interface ManifestView {
  current(): Manifest | null;
  /** Re-reads the source now (coalesced with any read in flight); resolves to the copy held after it. */
  refresh(): Promise<Manifest | null>;
}

export interface ManifestPoller extends ManifestView {
  status(): ManifestStatus;
  /** First read, then polling every `intervalMs`. Never throws: a failed first read leaves current() null. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export interface ManifestPollerOptions {
  readonly source: ManifestSource;
  readonly intervalMs?: number;
  readonly now?: () => number;
  readonly onEvent?: (e: ManifestEvent) => void;
}

export function createManifestPoller(opts: ManifestPollerOptions): ManifestPoller {
  const intervalMs = opts.intervalMs ?? 2000;
  const now = opts.now ?? Date.now;
  const emit = opts.onEvent ?? (() => {});
  let manifest: Manifest | null = null;
  let etag: string | undefined;
  let confirmedAt: number | null = null;
  let invalidTotal = 0;
  let unreachableTotal = 0;
  let lastError: ManifestStatus['lastError'] = null;
  let inflight: Promise<Manifest | null> | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;

  const readOnce = async (): Promise<Manifest | null> => {
    try {
      const got = await opts.source.read(etag);
      if (got === 'not-modified') {
        confirmedAt = now();
        return manifest;
      }
      if (manifest !== null && got.manifest.version < manifest.version) {
        invalidTotal += 1;
        lastError = { code: 'MANIFEST_INVALID', message: `version went back from ${manifest.version} to ${got.manifest.version}`, at: now() };
        emit({ kind: 'regressed', version: got.manifest.version, keptVersion: manifest.version });
        return manifest;
      }
      const previous = manifest?.version ?? null;
      manifest = got.manifest;
      etag = got.etag;
      confirmedAt = now();
      if (previous !== manifest.version) emit({ kind: 'loaded', version: manifest.version, previous });
      return manifest;
    } catch (err) {
      const e = toAppError(err);
      lastError = { code: e.code, message: e.message, at: now() };
      const keptVersion = manifest?.version ?? null;
      if (e.code === 'MANIFEST_INVALID') {
        invalidTotal += 1;
        emit({ kind: 'invalid', code: e.code, message: e.message, keptVersion });
      } else {
        unreachableTotal += 1;
        emit({ kind: 'unreachable', code: e.code, message: e.message, keptVersion });
      }
      return manifest;
    }
  };

  const refresh = (): Promise<Manifest | null> => {
    inflight ??= readOnce().finally(() => {
      inflight = undefined;
    });
    return inflight;
  };

  const schedule = (): void => {
    if (closed) return;
    timer = setTimeout(() => {
      void refresh().finally(schedule);
    }, intervalMs);
    // A poller must not keep a process alive on its own.
    (timer as { unref?: () => void }).unref?.();
  };

  return {
    current: () => manifest,
    refresh,
    status: () => ({ version: manifest?.version ?? null, etag, confirmedAt, invalidTotal, unreachableTotal, lastError }),
    async start() {
      await refresh();
      schedule();
    },
    async close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      await inflight;
      await opts.source.close();
    },
  };
}
