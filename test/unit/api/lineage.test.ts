// The lineage view's judgements on rows: how validation went from a rollout's state and checks,
// and the chain the CLI prints when nothing or a loop of parents is in the way.
import { describe, expect, it } from 'vitest';
import type { LineageOut } from '../../../src/api/schemas.js';
import { presentLineage } from '../../../src/api/services/lineage.js';
import { lineageChain } from '../../../src/cli/lineage-commands.js';
import type { LineageRolloutRow, LineageRows, LineageVersionRow } from '../../../src/registry/lineage.js';

const at = new Date('2026-12-01T00:00:00Z');
const version = (id: string, v: string, extra: Partial<LineageVersionRow> = {}): LineageVersionRow =>
  ({ id, version: v, status: 'registered', created_at: at, created_by: null, lineage: null, ...extra });
const rollout = (id: string, versionId: string, extra: Partial<LineageRolloutRow>): LineageRolloutRow =>
  ({ id, candidate_version_id: versionId, status: 'running', phase: 'pending', outcome_reason: null, started_at: at, ended_at: null, ...extra });

function rows(versions: LineageVersionRow[], rollouts: LineageRolloutRow[], checks: Record<string, number> = {}): LineageRows {
  return {
    versions,
    rollouts: new Map(rollouts.map((r) => [r.candidate_version_id, r])),
    checks: new Map(Object.entries(checks).map(([id, n]) => [id, Array.from({ length: n }, (_, i) => ({ rollout_id: id, step: `validate:check${i}`, verdict: 'successful' as const, reason: 'ok' }))])),
    retrainsById: new Map(), retrains: [],
  };
}

describe('lineage view', () => {
  it('judges validation: rejected is failed, early phases pending, checks passed, none not run', () => {
    const out = presentLineage('m', rows(
      ['1', '2', '3', '4', '5'].map((n) => version(n, `v${n}`)),
      [
        rollout('r1', '1', { status: 'rejected', phase: 'completed' }),
        rollout('r2', '2', { status: 'running', phase: 'validating' }),
        rollout('r3', '3', { status: 'running', phase: 'canary' }),
        rollout('r4', '4', { status: 'aborted', phase: 'completed' }),
      ],
      { r1: 2, r3: 3 },
    ));
    expect(out.versions.map((v) => v.validation?.verdict ?? null)).toEqual(['failed', 'pending', 'passed', 'not_run', null]);
    expect(out.versions[2]!.validation!.checks.map((c) => c.name)).toEqual(['check0', 'check1', 'check2']);
  });

  it('names a retrain it cannot find as unknown rather than dropping it', () => {
    const out = presentLineage('m', rows([version('1', 'v1', { lineage: { parent: null, cause: { kind: 'manual_retrain', by: 'key:x' }, retrainId: 'rt_gone' } })], []));
    expect(out.versions[0]!.retrain).toEqual({ id: 'rt_gone', status: 'unknown', reason: null });
    expect(out.versions[0]!.cause).toEqual({ kind: 'manual_retrain', by: 'key:x' });
  });

  it('follows parents to production, or to the newest version, and stops at a loop', () => {
    const v = (version: string, parent: string | null, status = 'validated') => ({ version, parent, status } as LineageOut['versions'][number]);
    const out = (versions: LineageOut['versions'], productionVersion: string | null): LineageOut => ({ model: 'm', productionVersion, versions, retrains: [] });
    expect(lineageChain(out([v('1', null), v('2', '1'), v('x', '1'), v('3', '2', 'production')], '3'))).toEqual(['1', '2', '3']);
    expect(lineageChain(out([v('1', null), v('2', '1')], null))).toEqual(['1', '2']);
    expect(lineageChain(out([v('a', 'b'), v('b', 'a')], 'a'))).toEqual(['b', 'a']);
    expect(lineageChain(out([], null))).toEqual([]);
  });
});
