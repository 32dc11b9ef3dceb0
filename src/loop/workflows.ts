// The drift → retrain loop's workflow ids and inputs: who starts them (the monitor's and the
// lifecycle's activities, the API) and the workflows themselves agree on these. Plain data only,
// so workflows read them as they are; src/workflows/messages.ts re-exports them.
import type { LineageCause } from './lineage.js';
import type { MonitorState } from './monitor.js';
import type { RetrainPolicy } from './policy.js';

/** Workflow id: one drift monitor per model, watching its production version (replaced on each promotion). */
export function monitorWorkflowId(model: string): string {
  return `monitor:${model}`;
}

/** Workflow id: at most one retrain per model at a time. */
export function retrainWorkflowId(model: string): string {
  return `retrain:${model}`;
}

/** What the drift monitor starts a retrain with (workflow type `modelRetrain`). */
export interface RetrainInput {
  /** The retrains row this run writes (created by whoever starts it, status running). */
  retrainId: string;
  model: string;
  cause: LineageCause;
  /** The production version the retrained model is compared with, and its lineage's parent. */
  parentVersion: string | null;
  policy: RetrainPolicy;
  requestedBy: string;
}

/** What the drift monitor (workflow type `driftMonitor`) starts with, and carries across continue-as-new. */
export interface DriftMonitorInput {
  model: string;
  /** The production version it watches. */
  version: string;
  /** What earlier runs learned (debounce count, cooldown, last report); the initial state for a fresh monitor. */
  state: MonitorState;
  /** Windows judged per run before continuing as new (default 50): bounds the history. */
  windowsPerRun?: number;
}
