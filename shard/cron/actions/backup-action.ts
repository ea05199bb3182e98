// The backup action: a snapshot of the tenant to the blob store, then only the job's newest `keep` are kept.
import type { BackupHost } from '../../snapshot/backup-host.ts';
import { isAppError } from '../../../router/errors/app-error.ts';
import type { ActionHandler } from '../cron-actions.ts';

const CRON_ACTOR = { type: 'system' } as const;

export function createBackupAction(host: () => BackupHost): ActionHandler<{ type: 'backup'; keep: number }> {
  return async (ctx, action) => {
    const backups = host();
    const snap = await backups.backup(ctx.tenantId, { actor: CRON_ACTOR, requestId: `cron:${ctx.job.id}` });
    // Only snapshots this job made are pruned (their keys are in its runs); operators' backups stay.
    const made = ctx
      .history()
      .filter((r) => r.status === 'ok' && typeof r.result?.key === 'string' && r.result.key !== snap.key)
      .map((r) => r.result?.key as string);
    for (const key of made.slice(Math.max(0, action.keep - 1))) {
      try {
        await backups.remove(ctx.tenantId, key, { actor: CRON_ACTOR, requestId: `cron:${ctx.job.id}` });
      } catch (err) {
        if (!(isAppError(err) && err.code === 'SNAPSHOT_NOT_FOUND')) throw err;
      }
    }
    return { result: { key: snap.key, bytes: snap.bytes } };
  };
}
