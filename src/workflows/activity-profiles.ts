// The named timeout and retry profiles of every activity the workflows call, in one place: each
// profile is one `proxyActivities` over the same Activities type, and a workflow picks the
// profile that fits the side effect, never its own numbers.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { REGISTRY_NOT_FOUND, RETRAIN_FAILED, VALIDATION_CHECK_ERROR } from '../shared/failures.js';

/**
 * Registry writes and reads of single rows (steps, phases, statuses, experiment rows, the current
 * generation). 10 s: each is one short statement, so an attempt that takes longer is stuck (a lost
 * connection, a lock) and a fresh attempt is the quicker way through; the rollout cannot go on
 * until its record is written, so the retry is persistent (20 attempts, backing off to 5 s).
 * The experiment's writes used 30 s; they are the same kind of one-row statement. A row that is
 * gone (RegistryNotFound) stays gone, so that failure is not retried.
 */
export const registry = proxyActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '200 milliseconds', backoffCoefficient: 2, maximumInterval: '5 seconds', maximumAttempts: 20, nonRetryableErrorTypes: [REGISTRY_NOT_FOUND] },
});

/**
 * Aggregations over the inference and feedback logs: canary and shadow windows, experiment
 * statistics. 30 s: they scan a window of logged requests, which grows with traffic, so they get
 * more time than a one-row write; retried like the registry because a look cannot be skipped.
 */
export const metrics = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '200 milliseconds', backoffCoefficient: 2, maximumInterval: '5 seconds', maximumAttempts: 20 },
});

/**
 * Pushes to the serving fleet (a new generation, an unload). 20 s: a push waits for every live
 * worker's ack; retried quickly and often (capped at 2 s apart) because a breach roll-back must not
 * hang behind one slow worker. A model or version gone from the registry (RegistryNotFound) is not retried.
 */
export const fleet = proxyActivities<Activities>({
  startToCloseTimeout: '20 seconds',
  retry: { initialInterval: '100 milliseconds', backoffCoefficient: 2, maximumInterval: '2 seconds', maximumAttempts: 30, nonRetryableErrorTypes: [REGISTRY_NOT_FOUND] },
});

/**
 * Loading a model: validation (ONNX Runtime, the golden set, a latency probe) and prewarming every
 * worker. 5 minutes with a 30 s heartbeat: a big model takes long to load, and the heartbeat finds
 * a dead attempt sooner than the timeout. A failed check is a verdict, not a failure, so it is never
 * retried; three attempts are for what a retry can fix (a lost database connection, a worker that
 * restarted). A check that throws (ValidationCheckError) throws again on the same candidate, so it
 * is not retried either: the workflow rejects the candidate with its message after one attempt.
 */
export const validation = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumAttempts: 3, nonRetryableErrorTypes: [VALIDATION_CHECK_ERROR, REGISTRY_NOT_FOUND] },
});

/**
 * Notifications (a log line and a signed webhook). 15 s: the webhook's own timeout is 3 s, so an
 * attempt that takes longer is stuck. Two attempts only: an event is worth one retry after a lost
 * worker, not a wait; the activity itself never throws, and the caller (workflows/notify.ts)
 * swallows a timed-out attempt, so a notification never fails a workflow.
 */
export const notifications = proxyActivities<Activities>({
  startToCloseTimeout: '15 seconds',
  retry: { initialInterval: '1 second', maximumAttempts: 2 },
});

/**
 * The stack's readiness probe. 10 s and three attempts: a probe answers whether the stack works
 * now, so it fails soon rather than waiting out a broken database.
 */
export const probe = proxyActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { maximumAttempts: 3, initialInterval: '200 milliseconds' },
});

/**
 * A retrain's data work: gathering and storing its training data, scoring candidate and production
 * on the holdout, registering the new version with its reference profile. 10 minutes: each reads
 * up to a million logged rows or runs ONNX Runtime over the holdout. A RetrainFailed verdict (too few
 * rows, a model that breaks the contract) is never retried; three attempts are for what a retry
 * can fix (a lost database connection, a restarted worker).
 */
export const retrainData = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '1 second', maximumAttempts: 3, nonRetryableErrorTypes: [RETRAIN_FAILED] },
});

/**
 * The trainer. 7 days: the policy's own trainer timeout (at most 6 days, src/loop/policy.ts) kills
 * a trainer that runs too long, and must fire first, so the reason is the trainer's, not Temporal's.
 * The 30 s heartbeat (trainers beat every 2 s) finds a dead worker long before that. A trainer that
 * failed (its exit, its output) is a verdict and never retried; a second attempt is for a worker
 * that died under it.
 */
export const trainer = proxyActivities<Activities>({
  startToCloseTimeout: '7 days',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '5 seconds', maximumAttempts: 2, nonRetryableErrorTypes: [RETRAIN_FAILED] },
});

/**
 * The drift monitor's window: it reads a window of the inference log and the feedback log and runs
 * the drift statistics over every feature. 2 minutes: a rows window of many thousand rows decodes
 * and tests in seconds, a very large one in tens of seconds. Retried a few times, backing off: a
 * window that fails is judged again at the next interval anyway, so persistence buys nothing.
 */
export const monitor = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 5 },
});

/**
 * Starting workflows from an activity (a retrain on a trigger, the drift monitor on a promotion):
 * a few registry reads and one Temporal start. 30 s; retried like the registry, because a trigger
 * or a promotion that does not reach Temporal would leave the loop open. The retrain request is
 * idempotent by its id, so a retry never starts a second retrain.
 */
export const loopStart = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 10 },
});
