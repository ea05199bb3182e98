// The channels feature's operator config (`features.channels` of the shard config): seal keys,
// platform API bases, the public URL webhooks are registered under. Never tenant input (DESIGN §13).
import { z } from 'zod';
import { SealKeySchema } from './credential-seal.ts';

const apiBase = (def: string) => z.object({ apiBaseUrl: z.url({ protocol: /^https?$/ }).default(def) }).strict().default({ apiBaseUrl: def });

export const ChannelsConfigSchema = z
  .object({
    /** AES-256-GCM keys that seal channel credentials; the fleet shares them (a restore elsewhere must open them). */
    sealKeys: z.array(SealKeySchema).default([]),
    /** The key new credentials are sealed with (default: the first); older keys still open. */
    activeSealKey: z.string().optional(),
    /** The fleet's public base URL (the router), for registering webhooks with platforms (Telegram setWebhook). */
    publicBaseUrl: z.url({ protocol: /^https?$/ }).optional(),
    telegram: apiBase('https://api.telegram.org'),
    slack: apiBase('https://slack.com/api'),
    webhook: z
      .object({ allowPrivateNetwork: z.boolean().default(false) })
      .strict()
      .default({ allowPrivateNetwork: false }),
    platformTimeoutMs: z.number().int().positive().default(15_000),
  })
  .strict();
export type ChannelsConfig = z.infer<typeof ChannelsConfigSchema>;
