// A channel instance on disk: `channels/<name>.yaml` in the tenant directory, settings in clear,
// credentials sealed (credential-seal.ts). Written atomically; parsed by zod on read.
import { mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { z } from 'zod';
import { AppError } from '../../router/errors/app-error.ts';
import { writeFileAtomic } from '../tenants/atomic-write.ts';
import type { TenantContext } from '../tenants/tenant-context.ts';
import { ChannelNameSchema, PLATFORMS } from './channel-message.ts';
import { SealedSchema } from './credential-seal.ts';

export const ChannelFileSchema = z
  .object({
    name: ChannelNameSchema,
    platform: z.enum(PLATFORMS),
    /** Desired state: connectors run and webhooks are accepted only while enabled. */
    enabled: z.boolean(),
    createdAt: z.string(),
    updatedAt: z.string(),
    settings: z.record(z.string(), z.unknown()),
    credentials: SealedSchema,
  })
  .strict();
export type ChannelFile = z.infer<typeof ChannelFileSchema>;

type Tenant = Pick<TenantContext, 'resolvePath'>;

const pathOf = (t: Tenant, name: string): string => t.resolvePath(`channels/${ChannelNameSchema.parse(name)}.yaml`);

export async function readChannelFile(t: Tenant, name: string): Promise<ChannelFile | null> {
  let text: string;
  try {
    text = await readFile(pathOf(t, name), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const parsed = ChannelFileSchema.safeParse(parseYaml(text));
  if (!parsed.success) throw new AppError('SHARD_STATE_CORRUPT', { message: `channels/${name}.yaml failed validation` });
  return parsed.data;
}

export async function listChannelFiles(t: Tenant): Promise<ChannelFile[]> {
  let names: string[];
  try {
    names = await readdir(t.resolvePath('channels'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: ChannelFile[] = [];
  for (const n of names.sort()) {
    const m = /^([a-z0-9][a-z0-9-]{0,31})\.yaml$/.exec(n);
    if (m === null) continue;
    const f = await readChannelFile(t, m[1] ?? '');
    if (f !== null) out.push(f);
  }
  return out;
}

export async function writeChannelFile(t: Tenant, file: ChannelFile): Promise<void> {
  const path = pathOf(t, file.name);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFileAtomic(path, toYaml(ChannelFileSchema.parse(file)));
}

export async function deleteChannelFile(t: Tenant, name: string): Promise<void> {
  await unlink(pathOf(t, name)).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}
