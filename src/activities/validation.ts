// placeholder: the ONNX Runtime validator lands with src/models/onnx-runtime.ts
import type { Kysely } from 'kysely';
import type { Database, StepVerdict } from '../db/schema.js';
import type { RolloutPolicy } from '../policy/schema.js';

export interface ValidationCheck { name: string; verdict: StepVerdict; reason: string; numbers: Record<string, unknown> }
export interface ValidationReport { passed: boolean; checks: ValidationCheck[] }
export interface CandidateValidator {
  validate(args: { model: string; version: string; validation: RolloutPolicy['validation'] }): Promise<ValidationReport>;
}

export function createValidationActivities(_db: Kysely<Database>, validator?: CandidateValidator) {
  return {
    async validateCandidate(args: { model: string; version: string; validation: RolloutPolicy['validation'] }): Promise<ValidationReport> {
      if (!validator) throw new Error('no validator configured');
      return await validator.validate(args);
    },
  };
}
