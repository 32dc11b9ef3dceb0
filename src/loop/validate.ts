// Checks a model's loop policy before it is stored: the schema (with its defaults filled), the
// rules a schema cannot say (a warning share above the drift share), and what only the model's
// contract can say (a feature it does not have, a metric its task has no realised figure for).
// A refused policy names the field as a JSON pointer and is never stored.
import { Value } from '@sinclair/typebox/value';
import type { ModelContract } from '../contracts/contract.js';
import { requiredColumns } from '../contracts/evaluation.js';
import { REALISED_METRICS_BY_TASK, SCORE_FEATURE } from './monitor.js';
import { LoopPolicy } from './policy.js';

export interface LoopPolicyFieldError { field: string; message: string }

export type LoopPolicyParseResult = { ok: true; policy: LoopPolicy } | { ok: false; errors: LoopPolicyFieldError[] };

/** The policy a model with no stored one is monitored with: every default, no retrain. */
export function defaultLoopPolicy(): LoopPolicy {
  return Value.Default(LoopPolicy, { drift: {} }) as LoopPolicy;
}

export function parseLoopPolicy(input: unknown, contract: ModelContract | null): LoopPolicyParseResult {
  const source = Value.Clone(input ?? {}) as Record<string, unknown>;
  if (source.drift === undefined) source.drift = {};
  const withDefaults = Value.Default(LoopPolicy, source);
  const errors: LoopPolicyFieldError[] = [];
  const seen = new Set<string>();
  for (const e of Value.Errors(LoopPolicy, withDefaults)) {
    const field = e.path || '/';
    if (seen.has(field)) continue;
    seen.add(field);
    errors.push({ field, message: e.message });
  }
  if (errors.length > 0) return { ok: false, errors };
  const policy = withDefaults as LoopPolicy;
  const drift = policy.drift;
  if (drift.warningShare > drift.datasetDriftShare) {
    errors.push({ field: '/drift/warningShare', message: `warningShare (${drift.warningShare}) is above datasetDriftShare (${drift.datasetDriftShare}): a warning must come before drift` });
  }
  if (drift.window.kind === 'rows' && drift.window.rows < drift.minRows) {
    errors.push({ field: '/drift/window/rows', message: `a rows window of ${drift.window.rows} can never reach minRows (${drift.minRows})` });
  }
  if (contract) {
    const known = new Set([...requiredColumns(contract), SCORE_FEATURE]);
    drift.features?.forEach((f, i) => {
      if (!known.has(f)) errors.push({ field: `/drift/features/${i}`, message: `the model's contract has no feature ${JSON.stringify(f)} (its features: ${[...known].join(', ')})` });
    });
    const metric = drift.performance?.metric;
    const realised = REALISED_METRICS_BY_TASK[contract.task];
    if (metric !== undefined && !realised.includes(metric)) {
      errors.push({ field: '/drift/performance/metric', message: `${metric} is not a realised metric of a ${contract.task.replace('_', ' ')} model (one of: ${realised.join(', ')})` });
    }
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, policy };
}
