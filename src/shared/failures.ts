// Failure types that cross the activity/workflow boundary by name: an activity throws them, an
// activity profile refuses to retry them, and the workflow reads them. Plain strings, so workflow
// code can import this file.

/**
 * A validation check that threw: a bug in the check, or a model the check cannot read. The same
 * candidate throws again on every attempt, so it is never retried; the workflow rejects the
 * candidate with the failure's message as the reason.
 */
export const VALIDATION_CHECK_ERROR = 'ValidationCheckError';

/** A rollout's workflow that failed after compensating: the message is the outcome's reason. */
export const ROLLOUT_FAILED = 'RolloutFailed';

/**
 * A registry row an activity needs is gone (a model or version that no longer exists). A retry
 * reads the same absence, so it is never retried; the message names what is missing, and the
 * workflow ends the rollout with it as the reason.
 */
export const REGISTRY_NOT_FOUND = 'RegistryNotFound';
