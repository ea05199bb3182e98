// The normalised shapes every platform adapter maps to and from: one inbound message, one reply.
import { z } from 'zod';

export const PLATFORMS = ['telegram', 'slack', 'webchat', 'webhook'] as const;
export type Platform = (typeof PLATFORMS)[number];

/** Channel names are path segments of /hooks/<tenant>/<name> and file names under channels/. */
export const ChannelNameSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'channel names match ^[a-z0-9][a-z0-9-]{0,31}$');

export interface AttachmentMeta {
  kind: 'image' | 'audio' | 'video' | 'file' | 'other';
  /** The platform's own id for the file (never downloaded here). */
  id: string;
  name?: string;
  mimeType?: string;
  bytes?: number;
}

/** One inbound message after verification and parsing, before access rules. */
export interface InboundMessage {
  /** The platform's id for this delivery; unique per channel (the ingress dedupe key). */
  eventId: string;
  /** The conversation a reply goes to (a chat, a channel + thread, a visitor). */
  conversation: string;
  sender: { id: string; name?: string; isBot?: boolean };
  text: string;
  attachments: AttachmentMeta[];
  /** `direct` = one-to-one with the bot; `group` = many people (mention rule applies). */
  chatType: 'direct' | 'group';
  /** The bot was addressed explicitly (a mention, a reply to the bot, a slash command). */
  mentioned: boolean;
  /** Platform message id this reply should quote, if the platform threads replies that way. */
  replyTo?: string;
  /** Platform thread id (Slack thread_ts, Telegram topic) the reply belongs in. */
  thread?: string;
}

/** One normalised message as stored: the inbound plus who it is for. */
export interface NormalisedMessage extends InboundMessage {
  tenant: string;
  channel: string;
}

/** What a reply carries to an adapter's send(). */
export interface OutboundReply {
  conversation: string;
  text: string;
  replyTo?: string;
  thread?: string;
}

/** What the platform said it stored (message id, timestamp); kept as the egress receipt. */
export interface SendReceipt {
  platformMessageId: string;
}

/** `channel:<name>:<conversation>` (DESIGN §13): the agent session of one channel peer. */
export function channelSessionKey(channel: string, conversation: string): string {
  return `channel:${channel}:${conversation}`;
}
