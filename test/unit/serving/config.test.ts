import { describe, expect, it } from 'vitest';
import { defaultServingConfig, servingConfigFromEnv } from '../../../src/serving/config.js';

describe('serving config', () => {
  it('the shadow queue limit follows the batch size, in code and from the environment alike, unless given', () => {
    expect(defaultServingConfig().shadowQueueLimitRows).toBe(servingConfigFromEnv({ SLUICE_ADMIN_TOKEN: 'x'.repeat(32) }).shadowQueueLimitRows);
    expect(defaultServingConfig({ maxBatchRows: 32 }).shadowQueueLimitRows).toBe(128);
    expect(servingConfigFromEnv({ SLUICE_ADMIN_TOKEN: 'x'.repeat(32), SLUICE_MAX_BATCH_ROWS: '32' }).shadowQueueLimitRows).toBe(128);
    expect(defaultServingConfig({ maxBatchRows: 32, shadowQueueLimitRows: 5 }).shadowQueueLimitRows).toBe(5);
    expect(servingConfigFromEnv({ SLUICE_ADMIN_TOKEN: 'x'.repeat(32), SLUICE_SHADOW_QUEUE_LIMIT_ROWS: '5' }).shadowQueueLimitRows).toBe(5);
  });
});
