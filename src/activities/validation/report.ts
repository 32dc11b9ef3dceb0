// The shape of a validation report: one verdict per check, each with why and its numbers.
import type { StepVerdict } from '../../db/schema.js';
import type { RolloutPolicy } from '../../policy/schema.js';

export interface ValidationCheck { name: string; verdict: StepVerdict; reason: string; numbers: Record<string, unknown> }
export interface ValidationReport { passed: boolean; checks: ValidationCheck[] }
export interface ValidationRequest { model: string; version: string; validation: RolloutPolicy['validation'] }

export const check = (name: string, verdict: StepVerdict, reason: string, numbers: Record<string, unknown> = {}): ValidationCheck =>
  ({ name, verdict, reason, numbers });

/** A metric value as a report shows it: four significant decimals. */
export const shown = (value: number): string => (Number.isInteger(value) ? String(value) : value.toFixed(4));
