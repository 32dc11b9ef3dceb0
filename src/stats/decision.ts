// The decision rule for one look of a sequential A/B test: promote, roll back, keep going, or stop
// and keep the baseline. One config object per test (GrowthBook style), sufficient statistics per
// arm in, and every number that justified the action out, with a sentence the workflow records.
//
// Order of gates at a look, first match wins:
//   1. sample-ratio mismatch      → rollback        (assignment is broken; nothing else is trustworthy)
//   2. below the minimum sample   → continue        (or stop_no_effect if the deadline has passed)
//   3. a guardrail breach proven  → rollback
//   4. primary significant        → promote if better (and every guardrail that must be proven
//                                   non-inferior is), rollback if worse
//   5. futility                   → stop_no_effect  (the confidence sequence excludes the minimum effect)
//   6. maximum sample or duration → stop_no_effect
//   7. otherwise                  → continue
import { checkOpenUnit, checkPositive, fail, isCount, isFiniteNumber, succeed, type StatsFailure, type StatsResult } from './result.js';
import { sequentialTest, type SequentialAlternative, type SequentialResult } from './sequential.js';
import { sampleRatioMismatch } from './srm.js';
import { validateSummary, type MetricSummary } from './summary.js';

/** Which way is better for a metric (the rollout policy's vocabulary). */
export type MetricDirection = 'increase' | 'decrease';

export type LookAction = 'promote' | 'rollback' | 'continue' | 'stop_no_effect';

/** The gate that produced the action. */
export type LookTrigger =
  | 'srm'
  | 'below_min_sample'
  | 'guardrail_breach'
  | 'primary_win'
  | 'primary_loss'
  | 'awaiting_guardrails'
  | 'futility'
  | 'max_sample'
  | 'max_duration'
  | 'insufficient_data'
  | 'zero_variance'
  | 'no_decision';

export interface PrimaryMetricConfig {
  readonly name: string;
  readonly direction: MetricDirection;
  /**
   * Optional futility bound, in metric units (≥ 0): stop with the baseline once the confidence
   * sequence shows the improvement is below this.
   */
  readonly minimumEffect?: number;
}

export interface GuardrailConfig {
  readonly name: string;
  readonly direction: MetricDirection;
  /** Tolerated worsening in metric units: the guardrail holds while the treatment is no worse than this. */
  readonly maxDegradation: number;
  /** Default: the experiment's alpha. */
  readonly alpha?: number;
  /** Promote only once non-inferiority (better than −maxDegradation) is proven. Default false. */
  readonly requireNonInferiority?: boolean;
}

export interface ExperimentConfig {
  /** Two-sided level of the primary test. Default 0.05. */
  readonly alpha?: number;
  /** mSPRT mixing variance; derived from expectedSampleSize when absent. */
  readonly tau2?: number;
  /** N* (both arms), default 5,000. */
  readonly expectedSampleSize?: number;
  readonly primary: PrimaryMetricConfig;
  readonly guardrails?: readonly GuardrailConfig[];
  /** Configured treatment share, for the SRM check. Default 0.5. */
  readonly treatmentShare?: number;
  /** No efficacy or guardrail decision before each arm has this many units. Default 100. */
  readonly minSamplePerArm?: number;
  /** Stop with the baseline once each arm has this many units. */
  readonly maxSamplePerArm?: number;
  /** Stop with the baseline after this long. */
  readonly maxDurationSeconds?: number;
  /** Default 0.001. */
  readonly srmPValueThreshold?: number;
  /** Default 8. */
  readonly srmMinUnitsPerArm?: number;
}

export interface ArmPair<T> {
  readonly control: T;
  readonly treatment: T;
}

export interface LookInput {
  readonly primary: ArmPair<MetricSummary>;
  /** Keyed by guardrail name; every configured guardrail must be present (an empty summary is fine). */
  readonly guardrails?: Readonly<Record<string, ArmPair<MetricSummary>>>;
  /**
   * Units assigned per arm, for the SRM check. Default: the primary metric's n, which is only right
   * when every assigned unit reports the metric (otherwise a treatment that changes who reports
   * would show up as a mismatch).
   */
  readonly assignedUnits?: ArmPair<number>;
  /** Time since the test started. */
  readonly elapsedSeconds?: number;
}

export interface GuardrailState {
  readonly breachMinPValue: number;
  readonly safeMinPValue: number;
}

/** Carried by the workflow from look to look. Plain JSON. */
export interface LookState {
  readonly looks: number;
  readonly primaryMinPValue: number;
  readonly guardrails: Readonly<Record<string, GuardrailState>>;
}

export type MetricStatus = 'evaluated' | 'not_evaluated' | 'insufficient_data' | 'zero_variance';

export interface PrimaryLook {
  readonly name: string;
  readonly direction: MetricDirection;
  readonly status: MetricStatus;
  readonly message: string | null;
  readonly controlMean: number | null;
  readonly treatmentMean: number | null;
  /** treatment − control. */
  readonly effect: number | null;
  readonly standardError: number | null;
  readonly tau2: number | null;
  readonly pValueThisLook: number | null;
  /** Always-valid p-value (running minimum). */
  readonly pValue: number;
  readonly confidenceSequence: { readonly lower: number; readonly upper: number } | null;
  readonly alpha: number;
}

export interface GuardrailLook {
  readonly name: string;
  readonly direction: MetricDirection;
  readonly maxDegradation: number;
  readonly alpha: number;
  readonly status: MetricStatus;
  readonly message: string | null;
  readonly effect: number | null;
  /** Always-valid p-value of "worse than maxDegradation". */
  readonly breachPValue: number;
  /** Always-valid p-value of "no worse than maxDegradation" (non-inferiority). */
  readonly safePValue: number;
  /**
   * Always-valid one-sided bound from the breach test: the effect is at least this far toward the
   * worse side (a lower bound for a decrease metric, an upper bound for an increase metric). A
   * breach is proven once it passes maxDegradation.
   */
  readonly degradationBound: number | null;
  readonly breached: boolean;
  readonly nonInferior: boolean;
}

export interface SrmLook {
  readonly status: 'checked' | 'insufficient_data';
  readonly assigned: ArmPair<number>;
  readonly expectedTreatmentShare: number;
  readonly chiSquare: number | null;
  readonly pValue: number | null;
  readonly pValueThreshold: number;
  readonly mismatch: boolean;
}

export interface LookDecision {
  readonly action: LookAction;
  readonly trigger: LookTrigger;
  /** One sentence for the workflow history and the audit log. */
  readonly reason: string;
  /** 1 for the first look. */
  readonly look: number;
  readonly sample: ArmPair<number>;
  readonly elapsedSeconds: number | null;
  readonly primary: PrimaryLook;
  readonly guardrails: readonly GuardrailLook[];
  readonly srm: SrmLook;
  /** Pass to the next look. */
  readonly state: LookState;
}

export function initialLookState(): LookState {
  return { looks: 0, primaryMinPValue: 1, guardrails: {} };
}

interface ResolvedConfig {
  readonly alpha: number;
  readonly tau2: number | undefined;
  readonly expectedSampleSize: number;
  readonly primary: PrimaryMetricConfig;
  readonly guardrails: readonly GuardrailConfig[];
  readonly treatmentShare: number;
  readonly minSamplePerArm: number;
  readonly maxSamplePerArm: number | undefined;
  readonly maxDurationSeconds: number | undefined;
  readonly srmPValueThreshold: number;
  readonly srmMinUnitsPerArm: number;
}

function isDirection(value: unknown): value is MetricDirection {
  return value === 'increase' || value === 'decrease';
}

function resolveConfig(config: ExperimentConfig): StatsResult<{ readonly config: ResolvedConfig }> {
  if (config === null || typeof config !== 'object') return fail('invalid_input', 'config must be an object');
  const resolved: ResolvedConfig = {
    alpha: config.alpha ?? 0.05,
    tau2: config.tau2,
    expectedSampleSize: config.expectedSampleSize ?? 5000,
    primary: config.primary,
    guardrails: config.guardrails ?? [],
    treatmentShare: config.treatmentShare ?? 0.5,
    minSamplePerArm: config.minSamplePerArm ?? 100,
    maxSamplePerArm: config.maxSamplePerArm,
    maxDurationSeconds: config.maxDurationSeconds,
    srmPValueThreshold: config.srmPValueThreshold ?? 0.001,
    srmMinUnitsPerArm: config.srmMinUnitsPerArm ?? 8,
  };
  const bad =
    checkOpenUnit(resolved.alpha, 'alpha') ??
    (resolved.tau2 === undefined ? null : checkPositive(resolved.tau2, 'tau2')) ??
    checkPositive(resolved.expectedSampleSize, 'expectedSampleSize') ??
    checkOpenUnit(resolved.treatmentShare, 'treatmentShare') ??
    checkOpenUnit(resolved.srmPValueThreshold, 'srmPValueThreshold');
  if (bad) return bad;
  if (!isCount(resolved.minSamplePerArm)) return fail('invalid_input', 'minSamplePerArm must be a non-negative integer');
  if (!isCount(resolved.srmMinUnitsPerArm)) return fail('invalid_input', 'srmMinUnitsPerArm must be a non-negative integer');
  if (resolved.maxSamplePerArm !== undefined && (!isCount(resolved.maxSamplePerArm) || resolved.maxSamplePerArm < resolved.minSamplePerArm)) {
    return fail('invalid_input', `maxSamplePerArm must be an integer of at least minSamplePerArm (${resolved.minSamplePerArm})`);
  }
  if (resolved.maxDurationSeconds !== undefined && (!isFiniteNumber(resolved.maxDurationSeconds) || resolved.maxDurationSeconds < 0)) {
    return fail('invalid_input', 'maxDurationSeconds must be a finite number of at least 0');
  }
  const primary = resolved.primary;
  if (primary === null || typeof primary !== 'object' || typeof primary.name !== 'string' || primary.name === '' || !isDirection(primary.direction)) {
    return fail('invalid_input', 'primary must be {name: non-empty string, direction: increase | decrease}');
  }
  if (primary.minimumEffect !== undefined && (!isFiniteNumber(primary.minimumEffect) || primary.minimumEffect < 0)) {
    return fail('invalid_input', 'primary.minimumEffect must be a finite number of at least 0');
  }
  if (!Array.isArray(resolved.guardrails)) return fail('invalid_input', 'guardrails must be an array');
  const seen: string[] = [];
  for (const g of resolved.guardrails) {
    if (g === null || typeof g !== 'object' || typeof g.name !== 'string' || g.name === '' || !isDirection(g.direction)) {
      return fail('invalid_input', 'each guardrail must be {name: non-empty string, direction: increase | decrease, maxDegradation}');
    }
    if (seen.includes(g.name)) return fail('invalid_input', `guardrail ${g.name} is configured twice`);
    seen.push(g.name);
    if (!isFiniteNumber(g.maxDegradation) || g.maxDegradation < 0) {
      return fail('invalid_input', `guardrail ${g.name}: maxDegradation must be a finite number of at least 0`);
    }
    const alphaBad = g.alpha === undefined ? null : checkOpenUnit(g.alpha, `guardrail ${g.name}: alpha`);
    if (alphaBad) return alphaBad;
  }
  return succeed({ config: resolved });
}

function validPValue(value: unknown): value is number {
  return isFiniteNumber(value) && value >= 0 && value <= 1;
}

function checkState(state: LookState): StatsFailure | null {
  const problem = fail('invalid_input', 'state must be the LookState returned by the previous look (or initialLookState())');
  if (state === null || typeof state !== 'object' || !isCount(state.looks) || !validPValue(state.primaryMinPValue)) return problem;
  if (state.guardrails === null || typeof state.guardrails !== 'object') return problem;
  for (const entry of Object.values(state.guardrails)) {
    if (entry === null || typeof entry !== 'object' || !validPValue(entry.breachMinPValue) || !validPValue(entry.safeMinPValue)) return problem;
  }
  return null;
}

function checkPair(pair: ArmPair<MetricSummary> | undefined, label: string): StatsFailure | null {
  if (pair === null || typeof pair !== 'object') return fail('invalid_input', `${label}: {control, treatment} summaries are missing`);
  const control = validateSummary(pair.control, `${label} control`);
  if (!control.ok) return control;
  const treatment = validateSummary(pair.treatment, `${label} treatment`);
  if (!treatment.ok) return treatment;
  if ('successes' in pair.control !== 'successes' in pair.treatment) {
    return fail('invalid_input', `${label}: control and treatment summaries must be of the same kind`);
  }
  return null;
}

function own<T>(record: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return record !== undefined && Object.prototype.hasOwnProperty.call(record, key) ? record[key] : undefined;
}

function format(value: number): string {
  if (value === 0) return '0';
  const magnitude = Math.abs(value);
  return magnitude >= 1e-3 && magnitude < 1e6 ? String(Number(value.toPrecision(4))) : value.toExponential(3);
}

function formatSigned(value: number): string {
  return value > 0 ? `+${format(value)}` : format(value);
}

interface MetricRun {
  readonly status: MetricStatus;
  readonly message: string | null;
  readonly result: SequentialResult | null;
}

function runSequential(
  pair: ArmPair<MetricSummary>,
  alpha: number,
  config: ResolvedConfig,
  alternative: SequentialAlternative,
  nullEffect: number,
  minPValue: number,
  stateLooks: number,
): MetricRun {
  const outcome = sequentialTest(
    pair.control,
    pair.treatment,
    { alpha, alternative, nullEffect, expectedSampleSize: config.expectedSampleSize, ...(config.tau2 === undefined ? {} : { tau2: config.tau2 }) },
    { looks: stateLooks, minPValue },
  );
  if (outcome.ok) return { status: 'evaluated', message: null, result: outcome };
  // invalid_input cannot reach here (inputs were validated); the remaining codes are data states.
  const status: MetricStatus = outcome.code === 'zero_variance' ? 'zero_variance' : 'insufficient_data';
  return { status, message: outcome.message, result: null };
}

/**
 * Decides one look. Pass the state from the previous look (initialLookState() at the first) and
 * keep `decision.state` for the next. Malformed config, input or state gives `invalid_input`;
 * data that cannot be judged yet (empty arms, zero variance) gives `continue` with that trigger.
 */
export function decideLook(
  config: ExperimentConfig,
  input: LookInput,
  state: LookState = initialLookState(),
): StatsResult<LookDecision> {
  const resolvedConfig = resolveConfig(config);
  if (!resolvedConfig.ok) return resolvedConfig;
  const cfg = resolvedConfig.config;
  const stateBad = checkState(state);
  if (stateBad) return stateBad;
  if (input === null || typeof input !== 'object') return fail('invalid_input', 'input must be an object');
  const primaryBad = checkPair(input.primary, `primary metric ${cfg.primary.name}`);
  if (primaryBad) return primaryBad;
  for (const g of cfg.guardrails) {
    const pairBad = checkPair(own(input.guardrails, g.name), `guardrail ${g.name}`);
    if (pairBad) return pairBad;
  }
  const assigned = input.assignedUnits ?? { control: input.primary.control.n, treatment: input.primary.treatment.n };
  if (assigned === null || typeof assigned !== 'object' || !isCount(assigned.control) || !isCount(assigned.treatment)) {
    return fail('invalid_input', 'assignedUnits must be {control, treatment} non-negative integers');
  }
  const elapsed = input.elapsedSeconds;
  if (elapsed !== undefined && (!isFiniteNumber(elapsed) || elapsed < 0)) {
    return fail('invalid_input', 'elapsedSeconds must be a finite number of at least 0');
  }

  const look = state.looks + 1;
  const sample = { control: input.primary.control.n, treatment: input.primary.treatment.n };
  const smallestArm = Math.min(sample.control, sample.treatment);
  const durationReached = cfg.maxDurationSeconds !== undefined && elapsed !== undefined && elapsed >= cfg.maxDurationSeconds;
  const sampleReached = cfg.maxSamplePerArm !== undefined && smallestArm >= cfg.maxSamplePerArm;
  const enoughSample = smallestArm >= cfg.minSamplePerArm;

  // 1. Sample-ratio mismatch, at every look.
  const srmOutcome = sampleRatioMismatch([assigned.control, assigned.treatment], [1 - cfg.treatmentShare, cfg.treatmentShare], {
    pValueThreshold: cfg.srmPValueThreshold,
    minUnitsPerArm: cfg.srmMinUnitsPerArm,
  });
  const srm: SrmLook = srmOutcome.ok
    ? {
        status: 'checked',
        assigned,
        expectedTreatmentShare: cfg.treatmentShare,
        chiSquare: srmOutcome.chiSquare,
        pValue: srmOutcome.pValue,
        pValueThreshold: cfg.srmPValueThreshold,
        mismatch: srmOutcome.mismatch,
      }
    : {
        status: 'insufficient_data',
        assigned,
        expectedTreatmentShare: cfg.treatmentShare,
        chiSquare: null,
        pValue: null,
        pValueThreshold: cfg.srmPValueThreshold,
        mismatch: false,
      };

  // Guardrails and the primary are only tested from the minimum sample on: before it the plug-in
  // variances are too noisy, so those looks neither decide nor move the running minimum.
  const guardrailLooks: GuardrailLook[] = [];
  const guardrailStates: [string, GuardrailState][] = [];
  for (const g of cfg.guardrails) {
    const previous = own(state.guardrails, g.name) ?? { breachMinPValue: 1, safeMinPValue: 1 };
    const alpha = g.alpha ?? cfg.alpha;
    if (!enoughSample) {
      guardrailStates.push([g.name, previous]);
      guardrailLooks.push(emptyGuardrailLook(g, alpha, previous, 'not_evaluated', `below the minimum sample of ${cfg.minSamplePerArm} per arm`));
      continue;
    }
    const pair = own(input.guardrails, g.name)!;
    // "Worse" is lower for an increase metric: the breach hypothesis is effect < −maxDegradation.
    const worseIsLess = g.direction === 'increase';
    const boundary = worseIsLess ? -g.maxDegradation : g.maxDegradation;
    const breach = runSequential(pair, alpha, cfg, worseIsLess ? 'less' : 'greater', boundary, previous.breachMinPValue, state.looks);
    const safe = runSequential(pair, alpha, cfg, worseIsLess ? 'greater' : 'less', boundary, previous.safeMinPValue, state.looks);
    if (breach.result === null || safe.result === null) {
      guardrailStates.push([g.name, previous]);
      guardrailLooks.push(emptyGuardrailLook(g, alpha, previous, breach.status === 'evaluated' ? safe.status : breach.status, breach.message ?? safe.message));
      continue;
    }
    const next = { breachMinPValue: breach.result.pValue, safeMinPValue: safe.result.pValue };
    guardrailStates.push([g.name, next]);
    const bound = worseIsLess ? breach.result.confidenceSequence.upper : breach.result.confidenceSequence.lower;
    guardrailLooks.push({
      name: g.name,
      direction: g.direction,
      maxDegradation: g.maxDegradation,
      alpha,
      status: 'evaluated',
      message: null,
      effect: breach.result.effect,
      breachPValue: next.breachMinPValue,
      safePValue: next.safeMinPValue,
      degradationBound: bound,
      breached: next.breachMinPValue < alpha,
      nonInferior: next.safeMinPValue < alpha,
    });
  }

  let primaryRun: MetricRun = { status: 'not_evaluated', message: `below the minimum sample of ${cfg.minSamplePerArm} per arm`, result: null };
  if (enoughSample) {
    primaryRun = runSequential(input.primary, cfg.alpha, cfg, 'two_sided', 0, state.primaryMinPValue, state.looks);
  }
  const p = primaryRun.result;
  const primary: PrimaryLook = {
    name: cfg.primary.name,
    direction: cfg.primary.direction,
    status: primaryRun.status,
    message: primaryRun.message,
    controlMean: p ? p.control.mean : null,
    treatmentMean: p ? p.treatment.mean : null,
    effect: p ? p.effect : null,
    standardError: p ? p.standardError : null,
    tau2: p ? p.tau2 : null,
    pValueThisLook: p ? p.pValueThisLook : null,
    pValue: p ? p.pValue : state.primaryMinPValue,
    confidenceSequence: p ? { lower: p.confidenceSequence.lower!, upper: p.confidenceSequence.upper! } : null,
    alpha: cfg.alpha,
  };
  const nextState: LookState = {
    looks: look,
    primaryMinPValue: primary.pValue,
    guardrails: Object.fromEntries(guardrailStates),
  };
  const decide = (action: LookAction, trigger: LookTrigger, reason: string): StatsResult<LookDecision> =>
    succeed({
      action,
      trigger,
      reason,
      look,
      sample,
      elapsedSeconds: elapsed ?? null,
      primary,
      guardrails: guardrailLooks,
      srm,
      state: nextState,
    });
  const name = cfg.primary.name;
  const limitReason = (): [LookTrigger, string] | null => {
    if (sampleReached) return ['max_sample', `each arm reached the maximum sample of ${cfg.maxSamplePerArm}`];
    if (durationReached) return ['max_duration', `the test ran its maximum of ${cfg.maxDurationSeconds} s`];
    return null;
  };

  if (srm.mismatch) {
    return decide(
      'rollback',
      'srm',
      `sample-ratio mismatch: ${assigned.control} control vs ${assigned.treatment} treatment units against a configured treatment share of ${format(cfg.treatmentShare)} (chi-square ${format(srm.chiSquare!)}, p ${format(srm.pValue!)} < ${format(cfg.srmPValueThreshold)}); assignment is broken, so no result can be trusted`,
    );
  }
  if (!enoughSample) {
    if (durationReached) {
      return decide('stop_no_effect', 'max_duration', `the test ran its maximum of ${cfg.maxDurationSeconds} s with only ${smallestArm} units in the smaller arm (minimum ${cfg.minSamplePerArm}); keeping the baseline`);
    }
    return decide('continue', 'below_min_sample', `${smallestArm} units in the smaller arm, below the minimum of ${cfg.minSamplePerArm} per arm`);
  }
  const breached = guardrailLooks.find((g) => g.breached);
  if (breached) {
    return decide(
      'rollback',
      'guardrail_breach',
      `guardrail ${breached.name} breached: effect ${formatSigned(breached.effect!)} is worse than the tolerated ${format(breached.maxDegradation)} (always-valid p ${format(breached.breachPValue)} < ${format(breached.alpha)}; the effect is at least ${formatSigned(breached.degradationBound!)} at this look)`,
    );
  }
  if (p && p.significant) {
    const better = cfg.primary.direction === 'increase' ? p.effect > 0 : p.effect < 0;
    const evidence = `effect ${formatSigned(p.effect)} (always-valid ${format(100 * (1 - cfg.alpha))}% CS [${format(p.confidenceSequence.lower!)}, ${format(p.confidenceSequence.upper!)}]), always-valid p ${format(p.pValue)} < ${format(cfg.alpha)} at look ${look}`;
    if (!better) return decide('rollback', 'primary_loss', `treatment is worse on ${name}: ${evidence}`);
    const unproven = guardrailLooks.filter((g, i) => cfg.guardrails[i]!.requireNonInferiority === true && !g.nonInferior);
    if (unproven.length === 0) return decide('promote', 'primary_win', `treatment is better on ${name}: ${evidence}`);
    const names = unproven.map((g) => g.name).join(', ');
    const limit = limitReason();
    if (limit) return decide('stop_no_effect', limit[0], `${limit[1]}; ${name} improved but non-inferiority of ${names} was never shown; keeping the baseline`);
    return decide('continue', 'awaiting_guardrails', `treatment is better on ${name} (${evidence}) but non-inferiority of ${names} is not yet shown`);
  }
  if (p && cfg.primary.minimumEffect !== undefined) {
    const m = cfg.primary.minimumEffect;
    const bestPlausible = cfg.primary.direction === 'increase' ? p.confidenceSequence.upper! : -p.confidenceSequence.lower!;
    if (bestPlausible < m) {
      return decide('stop_no_effect', 'futility', `futility on ${name}: the largest improvement the confidence sequence allows is ${format(bestPlausible)}, below the minimum effect of ${format(m)}; keeping the baseline`);
    }
  }
  const limit = limitReason();
  if (limit) {
    const summary = p ? `always-valid p ${format(p.pValue)} ≥ ${format(cfg.alpha)}` : `${name} could not be evaluated (${primary.status})`;
    return decide('stop_no_effect', limit[0], `${limit[1]} without a decision on ${name} (${summary}); keeping the baseline`);
  }
  if (!p) {
    const trigger: LookTrigger = primary.status === 'zero_variance' ? 'zero_variance' : 'insufficient_data';
    return decide('continue', trigger, `${name} cannot be evaluated yet: ${primary.message ?? primary.status}`);
  }
  return decide('continue', 'no_decision', `no decision on ${name} yet: effect ${formatSigned(p.effect)}, always-valid p ${format(p.pValue)} ≥ ${format(cfg.alpha)} at look ${look}`);
}

function emptyGuardrailLook(g: GuardrailConfig, alpha: number, previous: GuardrailState, status: MetricStatus, message: string | null): GuardrailLook {
  return {
    name: g.name,
    direction: g.direction,
    maxDegradation: g.maxDegradation,
    alpha,
    status,
    message,
    effect: null,
    breachPValue: previous.breachMinPValue,
    safePValue: previous.safeMinPValue,
    degradationBound: null,
    breached: previous.breachMinPValue < alpha,
    nonInferior: previous.safeMinPValue < alpha,
  };
}
