export { RolloutPolicy, CanaryGates, MetricRef } from './schema.js';
export { parseRolloutPolicy, describePolicyErrors, type PolicyFieldError, type PolicyParseResult } from './validate.js';
