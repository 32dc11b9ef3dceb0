// A registry row an activity needs that is gone: the activity fails for good with the registry's
// message (never retried until the attempts run out), the rollout's reason names what is missing,
// and the compensation's own status write passes over it.
import { ActivityFailure, ApplicationFailure, RetryState } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { finalIfMissing } from '../../../src/activities/registry.js';
import { RegistryError } from '../../../src/registry/errors.js';
import { REGISTRY_NOT_FOUND } from '../../../src/shared/failures.js';
import { failureReason, unlessMissing } from '../../../src/workflows/failures.js';

const asReceived = (failure: Error) => new ActivityFailure('Activity task failed', 'promoteVersion', '1', RetryState.NON_RETRYABLE_FAILURE, 'worker', failure);

describe('registry activities and missing rows', () => {
  it('a not_found RegistryError becomes a non-retryable failure carrying its message', async () => {
    const err = await finalIfMissing(async () => { throw new RegistryError('not_found', 'version credit/v9 does not exist', 'version'); }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ type: REGISTRY_NOT_FOUND, nonRetryable: true, message: 'version credit/v9 does not exist' });
    expect(failureReason(asReceived(err as ApplicationFailure))).toBe('promoteVersion: RegistryNotFound: version credit/v9 does not exist');
  });

  it('other errors pass through for Temporal to retry, and results pass through untouched', async () => {
    const conflict = new RegistryError('conflict', 'busy');
    await expect(finalIfMissing(async () => { throw conflict; })).rejects.toBe(conflict);
    const lost = new Error('connection terminated');
    await expect(finalIfMissing(async () => { throw lost; })).rejects.toBe(lost);
    await expect(finalIfMissing(async () => 42)).resolves.toBe(42);
  });

  it('the compensation passes over a missing row and rethrows anything else', () => {
    const missing = asReceived(ApplicationFailure.create({ message: 'model m not found', type: REGISTRY_NOT_FOUND, nonRetryable: true }));
    expect(() => unlessMissing(missing)).not.toThrow();
    const other = asReceived(ApplicationFailure.create({ message: 'deadlock', type: 'Error' }));
    expect(() => unlessMissing(other)).toThrow(other);
  });
});
