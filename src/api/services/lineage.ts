// The lineage view: where every version of a model came from and how far it got. Built from the
// rows src/registry/lineage.ts reads; nothing here touches the database.
import type { Retrain } from '../../db/schema.js';
import type { LineageRolloutRow, LineageRows } from '../../registry/lineage.js';
import { iso } from '../present.js';
import type { LineageOut, LineageVersionOut, RetrainOut } from '../schemas.js';

export function presentRetrain(r: Retrain): RetrainOut {
  return {
    id: r.id, status: r.status, reason: r.reason, cause: r.cause, parentVersion: r.parent_version, producedVersion: r.produced_version,
    dataWindow: r.data_window, trainer: r.trainer, startedAt: iso(r.started_at) as string, endedAt: iso(r.ended_at),
  };
}

/**
 * How validation went in a rollout: a rejected rollout is the one validation failed (the lifecycle
 * rejects only there); a running one still in its first phases is pending; otherwise the checks
 * it recorded passed, or there were none because it ended (aborted, failed) before validating.
 */
function validationVerdict(rollout: LineageRolloutRow, checks: number): NonNullable<LineageVersionOut['validation']>['verdict'] {
  if (rollout.status === 'rejected') return 'failed';
  if (rollout.status === 'running' && (rollout.phase === 'pending' || rollout.phase === 'validating')) return 'pending';
  return checks > 0 ? 'passed' : 'not_run';
}

export function presentLineage(model: string, rows: LineageRows): LineageOut {
  const versions = rows.versions.map((v): LineageVersionOut => {
    const lineage = v.lineage;
    const rollout = rows.rollouts.get(String(v.id));
    const checks = rollout ? rows.checks.get(rollout.id) ?? [] : [];
    const retrain = lineage?.retrainId ? rows.retrainsById.get(lineage.retrainId) : undefined;
    return {
      version: v.version,
      status: v.status,
      createdAt: iso(v.created_at) as string,
      createdBy: v.created_by,
      // A version from before lineage was kept: who registered it is known (createdBy), its parent is not.
      parent: lineage?.parent ?? null,
      cause: lineage?.cause ?? { kind: 'unknown' },
      dataWindow: lineage?.dataWindow ?? retrain?.data_window ?? null,
      trainer: lineage?.trainer ?? retrain?.trainer ?? null,
      retrain: lineage?.retrainId ? { id: lineage.retrainId, status: retrain?.status ?? 'unknown', reason: retrain?.reason ?? null } : null,
      validation: rollout ? {
        rolloutId: rollout.id,
        verdict: validationVerdict(rollout, checks.length),
        checks: checks.map((c) => ({ name: c.step.slice('validate:'.length), verdict: c.verdict, reason: c.reason })),
      } : null,
      rollout: rollout ? {
        id: rollout.id, status: rollout.status, phase: rollout.phase, reason: rollout.outcome_reason,
        startedAt: iso(rollout.started_at) as string, endedAt: iso(rollout.ended_at),
      } : null,
    };
  });
  return {
    model,
    productionVersion: rows.versions.find((v) => v.status === 'production')?.version ?? null,
    versions,
    retrains: rows.retrains.map(presentRetrain),
  };
}
