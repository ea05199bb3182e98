// Admin calls the fleet commands make directly to shards (not through the router).
import { isAppError } from '../../router/errors/app-error.ts';
import { ControlClient } from '../client/control-client.ts';

export interface ShardTenant {
  id: string;
  epoch: number;
  state: 'owned' | 'frozen';
}

export class ShardAdmin {
  readonly id: string;
  readonly url: string;
  readonly #client: ControlClient;

  constructor(id: string, url: string, adminKey: string, timeoutMs = 120_000) {
    this.id = id;
    this.url = url;
    this.#client = new ControlClient(url, adminKey, timeoutMs);
  }

  call<T>(method: string, path: string, body?: unknown): Promise<T> {
    return this.#client.call<T>(method, path, body);
  }

  /** Every tenant this shard holds (all pages). */
  async listTenants(): Promise<ShardTenant[]> {
    const out: ShardTenant[] = [];
    let cursor: string | null = null;
    do {
      const q: string = cursor === null ? '?limit=500' : `?limit=500&cursor=${encodeURIComponent(cursor)}`;
      const page: { tenants: ShardTenant[]; nextCursor: string | null } = await this.call('GET', `/v1/tenants${q}`);
      out.push(...page.tenants.map((t) => ({ id: t.id, epoch: t.epoch, state: t.state })));
      cursor = page.nextCursor;
    } while (cursor !== null);
    return out;
  }

  /** The tenant here, or null when this shard does not hold it (404, or 421: moved away). */
  async getTenant(id: string): Promise<ShardTenant | null> {
    try {
      return await this.call<ShardTenant>('GET', `/v1/tenants/${id}`);
    } catch (err) {
      if (isAppError(err) && (err.code === 'SHARD_TENANT_NOT_FOUND' || err.code === 'SHARD_TENANT_MOVED')) return null;
      throw err;
    }
  }
}
