// One window judged against the version's reference profile under the model's drift policy: the
// statistics module's tests of every feature and the score, then the monitor's verdict. Kept apart
// from monitor.ts, which the workflow bundles, so the workflow does not carry the statistics.
import { detectDrift, type FeatureDrift } from '../stats/drift/detect.js';
import type { Columns, ReferenceProfile } from '../stats/drift/profile.js';
import { SCORE_FEATURE, windowVerdict, type WindowVerdict } from './monitor.js';
import type { DriftPolicy } from './policy.js';

/** The profile restricted to the policy's features (the score as `prediction`); the whole profile without a list. */
function profileFor(profile: ReferenceProfile, policy: DriftPolicy): ReferenceProfile {
  if (!policy.features) return profile;
  const wanted = new Set(policy.features);
  return { ...profile, features: profile.features.filter((f) => wanted.has(f.name)), prediction: wanted.has(SCORE_FEATURE) ? profile.prediction : null };
}

export type ColumnsJudgement =
  | { ok: true; verdict: WindowVerdict; features: readonly FeatureDrift[]; score: FeatureDrift | null }
  | { ok: false; reason: string };

/** A window's columns against the reference profile under the drift policy: every feature's test, the score's, and the verdict. */
export function judgeColumns(profile: ReferenceProfile, columns: Columns, policy: DriftPolicy): ColumnsJudgement {
  const detected = detectDrift(profileFor(profile, policy), columns, {
    numericMethod: policy.numericMethod, categoricalMethod: policy.categoricalMethod,
    pValueThreshold: policy.pValueThreshold, psiThreshold: policy.psiThreshold, multipleTesting: policy.multipleTesting, datasetDriftShare: policy.datasetDriftShare,
  });
  if (!detected.ok) return { ok: false, reason: `drift could not be computed (${detected.code}: ${detected.message})` };
  return { ok: true, verdict: windowVerdict(detected.features, detected.prediction, policy), features: detected.features, score: detected.prediction };
}
