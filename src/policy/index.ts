export { RolloutPolicy, CanaryGates, MetricRef } from './schema.js';
export { parseRolloutPolicy, describePolicyErrors, validationPolicyProblems, type PolicyFieldError, type PolicyParseResult } from './validate.js';
