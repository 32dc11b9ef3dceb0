// How a validation that throws reaches the rollout's record: the activity turns the thrown error
// into a non-retryable Temporal failure with its message, and the workflow turns that failure
// (as Temporal hands it over, wrapped in an ActivityFailure) into a failed check with the message.
import { ActivityFailure, ApplicationFailure, CancelledFailure, RetryState, TimeoutFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { ValidationCheckError, validationFailure, type ValidationCheck } from '../../../src/activities/validation.js';
import { VALIDATION_CHECK_ERROR } from '../../../src/shared/failures.js';
import { failedValidation, failureReason } from '../../../src/workflows/failures.js';

const sha256: ValidationCheck = { name: 'sha256', verdict: 'successful', reason: 'artifact sha256 matches', numbers: {} };

/** What the workflow receives when the activity threw `failure`. */
function asReceived(failure: Error, retryState: RetryState = RetryState.NON_RETRYABLE_FAILURE): ActivityFailure {
  return new ActivityFailure('Activity task failed', 'validateCandidate', '1', retryState, 'worker', failure);
}

describe('validationFailure (activity side)', () => {
  it('a check that threw becomes a non-retryable failure naming the check, with the checks done before it', () => {
    const failure = validationFailure(new ValidationCheckError('accuracy', new RangeError('output label is not float32'), [sha256]));
    expect(failure).toBeInstanceOf(ApplicationFailure);
    const f = failure as ApplicationFailure;
    expect(f.type).toBe(VALIDATION_CHECK_ERROR);
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toBe('check accuracy threw RangeError: output label is not float32');
    expect(f.details).toEqual([{ check: 'accuracy', completed: [sha256] }]);
    expect(f.cause?.message).toBe('output label is not float32');
  });

  it('a validator\'s own bug (a RangeError, a TypeError) is not retried either', () => {
    const f = validationFailure(new TypeError('cannot read properties of undefined')) as ApplicationFailure;
    expect(f).toBeInstanceOf(ApplicationFailure);
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toBe('the validator threw TypeError: cannot read properties of undefined');
    expect(f.details).toEqual([{ check: null, completed: [] }]);
  });

  it('anything else (a lost database connection) is rethrown as it is, for Temporal to retry', () => {
    const lost = new Error('Connection terminated unexpectedly');
    expect(validationFailure(lost)).toBe(lost);
  });
});

describe('failedValidation (workflow side)', () => {
  it('turns a thrown check into a failed check with its message, after the checks that passed', () => {
    const sent = validationFailure(new ValidationCheckError('accuracy', new RangeError('output label is not float32'), [sha256])) as ApplicationFailure;
    const report = failedValidation(asReceived(sent));
    expect(report.passed).toBe(false);
    expect(report.checks).toEqual([
      sha256,
      { name: 'accuracy', verdict: 'failed', reason: 'check accuracy threw RangeError: output label is not float32', numbers: { failureType: VALIDATION_CHECK_ERROR, retryState: RetryState.NON_RETRYABLE_FAILURE } },
    ]);
  });

  it('a validation that could not finish is a failed check saying why, never "Activity task failed" alone', () => {
    const exhausted = failedValidation(asReceived(ApplicationFailure.create({ message: 'Connection terminated unexpectedly', type: 'Error' }), RetryState.MAXIMUM_ATTEMPTS_REACHED));
    expect(exhausted.checks).toEqual([{
      name: 'validator', verdict: 'failed', reason: 'validation did not finish: validateCandidate: Connection terminated unexpectedly',
      numbers: { failureType: 'Error', retryState: RetryState.MAXIMUM_ATTEMPTS_REACHED },
    }]);
    const timedOut = failedValidation(asReceived(new TimeoutFailure('activity Heartbeat timeout', undefined, 'HEARTBEAT'), RetryState.TIMEOUT));
    expect(timedOut.checks[0]?.reason).toBe('validation did not finish: validateCandidate: activity Heartbeat timeout');
  });

  it('rethrows a cancellation and anything that is not an activity\'s failure', () => {
    const cancelled = asReceived(new CancelledFailure('cancelled'), RetryState.CANCEL_REQUESTED);
    expect(() => failedValidation(cancelled)).toThrow(cancelled);
    const bug = new TypeError('x is undefined');
    expect(() => failedValidation(bug)).toThrow(bug);
  });
});

describe('failureReason', () => {
  it('reads the cause under Temporal\'s wrapper, with the error type when it says more', () => {
    const wrapped = asReceived(ApplicationFailure.create({ message: 'generation 3 of m acked by 1/2 workers (w2: connection refused)', type: 'FleetNotAckedError' }), RetryState.MAXIMUM_ATTEMPTS_REACHED);
    expect(failureReason(wrapped)).toBe('validateCandidate: FleetNotAckedError: generation 3 of m acked by 1/2 workers (w2: connection refused)');
    expect(failureReason(new Error('plain'))).toBe('plain');
  });
});
