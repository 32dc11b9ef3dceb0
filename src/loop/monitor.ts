// The drift monitor's decisions, as pure functions: what one window's drift report means under the
// model's drift policy (none, warning, drift), and how the monitor's state moves on after a window
// (the debounce count, the open metric drop, the trigger). The workflow and the activity both use
// them, and unit tests pin them without Temporal or a database. The state is plain JSON: the
// workflow carries it across continue-as-new in its input.
import type { FeatureDrift } from '../stats/drift/detect.js';
import type { LineageCause } from './lineage.js';
import type { DriftPolicy } from './policy.js';

export type DriftDecision = 'none' | 'warning' | 'drift' | 'insufficient_data';

/** The score's column in a window and in the reference profile (registry/profiles.ts PREDICTION_COLUMN names it too). */
export const SCORE_FEATURE = 'prediction';

/**
 * The task metrics a window's logged scores can be judged on: the log keeps one score per row
 * (P(positive), the top class index, the prediction), so a multiclass model has no log loss here.
 */
export const REALISED_METRICS_BY_TASK: Readonly<Record<'binary_classification' | 'multiclass_classification' | 'regression', readonly string[]>> = {
  binary_classification: ['accuracy', 'roc_auc', 'log_loss', 'brier', 'ece'],
  multiclass_classification: ['accuracy', 'macro_f1'],
  regression: ['rmse', 'mae', 'r2'],
};

/** Drifting windows in a row after this one: a drift adds one, a window too small to judge keeps the count, any other breaks it. */
export function nextConsecutive(before: number, decision: DriftDecision): number {
  return decision === 'drift' ? before + 1 : decision === 'insufficient_data' ? before : 0;
}

/** The verdict of one judged window's features and score under the policy. */
export interface WindowVerdict {
  decision: Exclude<DriftDecision, 'insufficient_data'>;
  /** Drifted / evaluated, the score counting as one feature. */
  shareDrifted: number;
  driftedFeatures: string[];
  evaluated: number;
}

/**
 * The dataset rule over the features and the score: drift when the share of drifted ones is at
 * least datasetDriftShare, a warning when some drifted and the share is at least warningShare.
 * Features that could not be evaluated (no values in the window) count for neither side.
 */
export function windowVerdict(features: readonly FeatureDrift[], score: FeatureDrift | null, policy: Pick<DriftPolicy, 'datasetDriftShare' | 'warningShare'>): WindowVerdict {
  const all = score ? [...features, score] : [...features];
  const evaluated = all.filter((f) => f.status === 'ok');
  const driftedFeatures = evaluated.filter((f) => f.drifted).map((f) => f.feature);
  const shareDrifted = evaluated.length === 0 ? 0 : driftedFeatures.length / evaluated.length;
  const decision = evaluated.length > 0 && shareDrifted >= policy.datasetDriftShare ? 'drift'
    : driftedFeatures.length > 0 && shareDrifted >= policy.warningShare ? 'warning' : 'none';
  return { decision, shareDrifted, driftedFeatures, evaluated: evaluated.length };
}

/** How the realised task metric stood in a window (null figures where it was not judged). */
export interface PerformanceFigure {
  status: 'judged' | 'labels_not_due' | 'insufficient_labels' | 'no_validation_figure' | 'unavailable';
  metric: string;
  realised: number | null;
  expected: number | null;
  /** How much worse than the validation figure (positive: worse), in the metric's own direction. */
  drop: number | null;
  labelled: number;
  /** A drop beyond the policy's maxDrop: a trigger of its own. */
  dropped: boolean;
  reason: string;
}

/** What the monitor activity reports back to the workflow about one window (the full numbers are in the drift_reports row). */
export interface JudgedWindow {
  reportId: string;
  decision: DriftDecision;
  rows: number;
  shareDrifted: number;
  driftedFeatures: string[];
  reason: string | null;
  performance: PerformanceFigure | null;
  /** The policy's numbers the workflow acts on: they may change between windows (PUT loop-policy). */
  intervalSeconds: number;
  debounceWindows: number;
}

/** The outcome of the monitor's latest retrain request. */
export interface RetrainRequestOutcome {
  at: string;
  started: boolean;
  retrainId: string;
  /** Why it did not start (running retrain, rollout, cooldown, budget, no retrain policy). */
  reason: string | null;
  cause: LineageCause;
}

/** What the monitor must not lose across continue-as-new (and what its query answers). */
export interface MonitorState {
  windowsJudged: number;
  /** Drifting windows in a row since the last trigger. */
  consecutive: number;
  /** A metric drop already triggered and not yet recovered: it does not trigger again. */
  metricDropOpen: boolean;
  lastReport: JudgedWindow | null;
  lastRetrain: RetrainRequestOutcome | null;
  /** When the cooldown set by the latest started retrain ends (ISO), as the monitor knows it. */
  cooldownUntil: string | null;
}

export const INITIAL_MONITOR_STATE: MonitorState = {
  windowsJudged: 0, consecutive: 0, metricDropOpen: false, lastReport: null, lastRetrain: null, cooldownUntil: null,
};

/**
 * The state after a judged window, and the trigger it completes, if any. Drift debounces: only
 * debounceWindows drifting windows in a row trigger, and the count starts again after a trigger
 * (one trigger per episode). A window too small to judge neither adds to the count nor breaks it.
 * A metric drop triggers once when it opens, and again only after a window without it.
 */
export function afterWindow(state: MonitorState, judged: JudgedWindow): { state: MonitorState; trigger: LineageCause | null } {
  let consecutive = nextConsecutive(state.consecutive, judged.decision);
  let trigger: LineageCause | null = null;
  if (judged.decision === 'drift' && consecutive >= judged.debounceWindows) {
    trigger = { kind: 'drift', reportId: judged.reportId, shareDrifted: judged.shareDrifted, features: judged.driftedFeatures };
    consecutive = 0;
  }
  const perf = judged.performance;
  let metricDropOpen = state.metricDropOpen;
  if (perf?.status === 'judged') {
    if (perf.dropped && !metricDropOpen && trigger === null && perf.realised !== null && perf.expected !== null) {
      trigger = { kind: 'metric_drop', metric: perf.metric, realised: perf.realised, expected: perf.expected, reportId: judged.reportId };
    }
    metricDropOpen = perf.dropped;
  }
  return { state: { ...state, windowsJudged: state.windowsJudged + 1, consecutive, metricDropOpen, lastReport: judged }, trigger };
}
