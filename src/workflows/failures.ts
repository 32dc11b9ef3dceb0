// What the workflow says when an activity fails. Temporal wraps whatever an activity threw in an
// ActivityFailure whose own message is only "Activity task failed"; the cause carries the thrown
// message (an ApplicationFailure, or a TimeoutFailure when no attempt finished in time), so every
// reason a rollout records is read from there.
import { ActivityFailure, ApplicationFailure, isCancellation } from '@temporalio/workflow';
import type { ValidationCheckFailureDetails, ValidationReport } from '../activities/validation.js';
import { REGISTRY_NOT_FOUND, VALIDATION_CHECK_ERROR } from '../shared/failures.js';

/** The failure in words: the activity's name and its cause's message (with the error's type when it says more). */
export function failureReason(err: unknown): string {
  if (err instanceof ActivityFailure) {
    const cause = err.cause;
    return `${err.activityType}: ${cause ? describeCause(cause) : err.message}`;
  }
  return err instanceof Error ? err.message : String(err);
}

function describeCause(cause: Error): string {
  const type = cause instanceof ApplicationFailure ? cause.type : null;
  const typed = type && type !== 'Error' && type !== VALIDATION_CHECK_ERROR && !cause.message.startsWith(type);
  return `${typed ? `${type}: ` : ''}${cause.message || cause.name}`;
}

/**
 * A validation activity that failed is a failed check, so the candidate is rejected with the cause's
 * message: a check that threw (ValidationCheckError, never retried) keeps the checks done before
 * it; any other failure (retries exhausted, a timeout) is a check that could not run. Cancellation
 * is not a verdict on the candidate and is rethrown, as is anything that is not an activity's failure.
 */
export function failedValidation(err: unknown): ValidationReport {
  if (!(err instanceof ActivityFailure) || isCancellation(err)) throw err;
  const cause = err.cause;
  const thrown = cause instanceof ApplicationFailure && cause.type === VALIDATION_CHECK_ERROR ? cause : null;
  const details = thrown?.details?.[0] as ValidationCheckFailureDetails | undefined;
  const numbers = { failureType: cause instanceof ApplicationFailure ? cause.type ?? null : cause?.name ?? null, retryState: err.retryState };
  const failed = thrown
    ? { name: details?.check ?? 'validator', verdict: 'failed' as const, reason: thrown.message, numbers }
    : { name: 'validator', verdict: 'failed' as const, reason: `validation did not finish: ${failureReason(err)}`, numbers };
  return { passed: false, checks: [...(details?.completed ?? []), failed] };
}

/**
 * For the compensation's own registry writes: a model or version that is gone has no status left
 * to mark, so its RegistryNotFound is passed over and the rollout still ends with its reason.
 * Anything else is rethrown.
 */
export function unlessMissing(err: unknown): void {
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === REGISTRY_NOT_FOUND) return;
  throw err;
}
