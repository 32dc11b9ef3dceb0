/**
 * Optional input checks against a version's reference profile: each feature (a column of the
 * first input) within its observed range, or among its known categories. Pure; the worker counts
 * violations or rejects the request according to the generation's `inputChecks` policy.
 *
 * The profile is read leniently, so the worker keeps working while the stats module's format
 * settles: `{features: [{name, min?, max?, categories?, frequencies?, index?}]}`, taken from
 * `model_versions.reference_profile`, else from `metadata.inputChecks` or `metadata.referenceProfile`.
 * A feature's column is its `index`, else its position in the list.
 */
import type { TypedArray } from './tensors.js';

export interface FeatureCheck {
  name: string;
  column: number;
  min: number;
  max: number;
  /** Allowed values for a categorical feature (numeric codes), or null. */
  categories: Set<number> | null;
}

export interface InputChecks {
  features: FeatureCheck[];
  /** Columns per row of the checked input; rows of another width are not checked. */
  width: number | null;
}

export interface Violation {
  feature: string;
  kind: 'below_min' | 'above_max' | 'unknown_category';
  row: number;
  value: number;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** Builds checks from whichever profile the version has; null when there is nothing to check. */
export function compileInputChecks(referenceProfile: unknown, metadata: Record<string, unknown> | undefined, width: number | null): InputChecks | null {
  const candidates = [referenceProfile, metadata?.inputChecks, metadata?.referenceProfile];
  for (const c of candidates) {
    if (!c || typeof c !== 'object') continue;
    const list = (c as { features?: unknown }).features;
    if (!Array.isArray(list)) continue;
    const features: FeatureCheck[] = [];
    list.forEach((f: unknown, i: number) => {
      if (!f || typeof f !== 'object') return;
      const o = f as Record<string, unknown>;
      const range = Array.isArray(o.range) ? o.range : undefined;
      const min = num(o.min) ?? num(range?.[0]) ?? -Infinity;
      const max = num(o.max) ?? num(range?.[1]) ?? Infinity;
      let categories: Set<number> | null = null;
      const cats = Array.isArray(o.categories) ? o.categories : o.frequencies && typeof o.frequencies === 'object' ? Object.keys(o.frequencies) : null;
      if (cats) {
        const codes = cats.map((x) => Number(x)).filter((x) => Number.isFinite(x));
        if (codes.length > 0) categories = new Set(codes);
      }
      if (min === -Infinity && max === Infinity && categories === null) return;
      const column = Number.isInteger(o.index) ? (o.index as number) : i;
      features.push({ name: typeof o.name === 'string' ? o.name : `feature_${column}`, column, min, max, categories });
    });
    if (features.length > 0) return { features, width };
  }
  return null;
}

/** Violations in a row-major batch of `rows` rows; stops after `limit` (one is enough to reject). */
export function findViolations(checks: InputChecks, data: TypedArray, rows: number, limit = 16): Violation[] {
  const width = checks.width ?? (rows > 0 ? data.length / rows : 0);
  if (!Number.isInteger(width) || width * rows !== data.length) return [];
  const out: Violation[] = [];
  const values = data as Float32Array;
  for (let r = 0; r < rows; r++) {
    const base = r * width;
    for (const f of checks.features) {
      if (f.column >= width) continue;
      const v = Number(values[base + f.column]);
      let kind: Violation['kind'] | null = null;
      if (f.categories !== null) { if (!f.categories.has(v)) kind = 'unknown_category'; }
      else if (v < f.min) kind = 'below_min';
      else if (v > f.max) kind = 'above_max';
      if (kind !== null) {
        out.push({ feature: f.name, kind, row: r, value: v });
        if (out.length >= limit) return out;
      }
    }
  }
  return out;
}

export function describeViolation(v: Violation, checks: InputChecks): string {
  const f = checks.features.find((x) => x.name === v.feature);
  if (v.kind === 'unknown_category') return `feature '${v.feature}' (row ${v.row}) is ${v.value}, not one of the version's known categories`;
  return `feature '${v.feature}' (row ${v.row}) is ${v.value}, outside the version's reference range [${f?.min}, ${f?.max}]`;
}
