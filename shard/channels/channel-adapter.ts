// The one interface every messaging platform implements; the contract suite runs over all of them.
import type { Dispatcher } from 'undici';
import type { z } from 'zod';
import type { OutboundReply, Platform, SendReceipt } from './channel-message.ts';
import type { IngressEvent } from './channel-queues.ts';

/** An inbound HTTP delivery at /hooks/<tenant>/<channel>[/<subPath>], body unparsed. */
export interface InboundRequest {
  method: string;
  /** Sub-path after the channel name ('' for the channel's own URL). */
  subPath: string;
  /** Lower-case header names. */
  headers: Readonly<Record<string, string | undefined>>;
  query: Readonly<Record<string, string | undefined>>;
  rawBody: Buffer;
}

/** What the platform is answered once `events` are durable (nothing is answered before). */
export interface InboundResult {
  response: { status: number; body?: unknown };
  events: IngressEvent[];
}

/** Everything an adapter needs for one channel instance; built by the channel runtime. */
export interface AdapterContext<C, S> {
  readonly tenant: string;
  readonly channel: string;
  readonly credentials: C;
  readonly settings: S;
  /** The platform's API base (operator config `channels.<platform>.apiBaseUrl`), no trailing slash. */
  readonly apiBaseUrl: string;
  /** Where platform calls go through (the SSRF-guarded agent for tenant-given URLs). */
  readonly dispatcher: Dispatcher;
  readonly now: () => number;
  readonly platformTimeoutMs: number;
}

export type ConnectorState = 'stopped' | 'starting' | 'running' | 'backoff' | 'conflict' | 'error';

export interface ConnectorStatus {
  state: ConnectorState;
  /** A sentence for the tenant (never a credential). */
  detail?: string;
  since: number;
}

/** How a connector hands over what it received: durable before it acknowledges or advances. */
export interface ConnectorSink {
  /** The stored polling cursor, if any. */
  cursor(): string | null;
  /** Commits events (with the next cursor, for polling) and schedules them; returns once durable. */
  ingest(events: IngressEvent[], cursor?: string): void;
  onStatus(status: ConnectorStatus): void;
}

/** A socket or polling connection to the platform; only the owning shard runs one (DESIGN §13). */
export interface Connector {
  start(): void;
  /** Stops and waits until no request to the platform is in flight. */
  stop(): Promise<void>;
  status(): ConnectorStatus;
}

export interface ChannelAdapter<C = unknown, S = unknown> {
  readonly platform: Platform;
  readonly credentialsSchema: z.ZodType<C>;
  readonly settingsSchema: z.ZodType<S>;
  /** Longest text one send carries; longer replies are split into parts, each its own egress row. */
  readonly maxTextLength: number;
  /** True when the platform dedupes a resend of the same idempotency key (then an intent is retried). */
  readonly idempotentSends: boolean;
  /** Fills generated secrets into new credentials (webhook secrets, publishable keys). */
  completeCredentials(given: C): C;
  /** Credential fields safe to show the tenant (a publishable key), everything else stays sealed. */
  publicCredentials(creds: C): Record<string, string>;
  /** True when this channel instance runs a connector rather than waiting for webhooks. */
  usesConnector(settings: S): boolean;
  /** Verifies the platform's signature first (CHANNEL_SIGNATURE_INVALID), then parses. */
  receive(ctx: AdapterContext<C, S>, req: InboundRequest): InboundResult;
  send(ctx: AdapterContext<C, S>, reply: OutboundReply, idempotencyKey: string, signal?: AbortSignal): Promise<SendReceipt>;
  connector?(ctx: AdapterContext<C, S>, sink: ConnectorSink): Connector;
  /** Registers the webhook with the platform (Telegram setWebhook), when the platform needs that. */
  registerWebhook?(ctx: AdapterContext<C, S>, url: string): Promise<void>;
}

/** Erases an adapter's credential/settings types for registries keyed by platform. */
export type AnyChannelAdapter = ChannelAdapter<any, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
