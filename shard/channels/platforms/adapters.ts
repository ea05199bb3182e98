// The platforms this shard speaks, by name (the registry the channel runtime and the contract suite use).
import type { AnyChannelAdapter } from '../channel-adapter.ts';
import type { Platform } from '../channel-message.ts';
import { slackAdapter } from './slack-adapter.ts';
import { telegramAdapter } from './telegram-adapter.ts';
import { webchatAdapter } from './webchat-adapter.ts';
import { webhookAdapter } from './webhook-adapter.ts';

export const ADAPTERS: Readonly<Record<Platform, AnyChannelAdapter>> = {
  telegram: telegramAdapter,
  slack: slackAdapter,
  webchat: webchatAdapter,
  webhook: webhookAdapter,
};
