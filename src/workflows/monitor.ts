// The drift monitor: one per production model (id monitor:<model>), started when a version is
// promoted and replaced when the next one is. Every interval it has an activity judge the latest
// window of the version's traffic (drift of every feature and the score, the realised task metric
// once labels are due); drift debounces over consecutive windows, a metric drop triggers on its
// own, and a trigger asks for a retrain (which the activity gates and records). The history stays
// bounded with continue-as-new; what must survive it (debounce count, open metric drop, last
// report, last retrain and its cooldown) is carried explicitly in the next run's input.
import { ActivityFailure, continueAsNew, setHandler, sleep, uuid4 } from '@temporalio/workflow';
import type { LineageCause } from '../loop/lineage.js';
import { afterWindow, type JudgedWindow, type MonitorState } from '../loop/monitor.js';
import { loopStart, monitor } from './activity-profiles.js';
import { monitorStateQuery, type DriftMonitorInput } from './messages.js';
import { notify } from './notify.js';

/** Windows per run before continuing as new, unless the input says otherwise. */
export const DEFAULT_WINDOWS_PER_RUN = 50;
/** Before the first window the policy's interval is not known yet: judge at once, then follow it. */
const FIRST_INTERVAL_SECONDS = 0;
/** After a window that could not be judged, wait at least this long before the next try. */
const RETRY_INTERVAL_SECONDS = 30;

export async function driftMonitor(input: DriftMonitorInput): Promise<never> {
  let state: MonitorState = input.state;
  setHandler(monitorStateQuery, () => ({ ...state, model: input.model, version: input.version }));
  const perRun = Math.max(1, input.windowsPerRun ?? DEFAULT_WINDOWS_PER_RUN);
  let interval = state.lastReport?.intervalSeconds ?? FIRST_INTERVAL_SECONDS;
  for (let judged = 0; judged < perRun; judged++) {
    if (judged > 0 || state.windowsJudged > 0) await sleep(interval * 1000);
    const window = await judgeWindow(input, state);
    // A window that could not be judged at all (the database away through every retry) is not a
    // verdict: the monitor keeps its state and tries the next interval instead of ending.
    if (!window) {
      interval = Math.max(interval, RETRY_INTERVAL_SECONDS);
      continue;
    }
    interval = window.intervalSeconds;
    const next = afterWindow(state, window);
    state = next.state;
    if (next.trigger) state = await triggerRetrain(input, state, next.trigger);
  }
  return await continueAsNew<typeof driftMonitor>({ ...input, state });
}

async function judgeWindow(input: DriftMonitorInput, state: MonitorState): Promise<JudgedWindow | null> {
  try {
    return await monitor.judgeDriftWindow({ model: input.model, version: input.version, consecutive: state.consecutive });
  } catch (err) {
    if (err instanceof ActivityFailure) return null;
    throw err;
  }
}

/** Asks for a retrain; the answer (started, or the reason it was skipped) and its cooldown go into the state. */
async function triggerRetrain(input: DriftMonitorInput, state: MonitorState, cause: LineageCause): Promise<MonitorState> {
  await notify({ model: input.model, event: 'drift', version: input.version, cause });
  const retrainId = `rt_${uuid4().replaceAll('-', '')}`;
  let outcome;
  try {
    outcome = await loopStart.requestRetrain({ retrainId, model: input.model, cause, parentVersion: input.version, requestedBy: `system:monitor:${input.model}` });
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    // The request never got through: said in the state (the next completed debounce asks again).
    const reason = `the retrain request failed: ${err.cause?.message ?? err.message}`;
    return { ...state, lastRetrain: { at: new Date().toISOString(), started: false, retrainId, reason, cause } };
  }
  const { cooldownUntil, ...lastRetrain } = outcome;
  return { ...state, lastRetrain, cooldownUntil: cooldownUntil ?? state.cooldownUntil };
}
