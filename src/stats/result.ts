// Coded results. Every public function of the stats engine answers degenerate or malformed input
// with one of these codes and a message instead of throwing or leaking NaN: the lifecycle
// workflow branches on `code` and records `message`, so a bad window never crashes a rollout.

/** Why a statistic could not be computed. Callers branch on this, never on the message text. */
export type StatsCode =
  /** NaN, ±Infinity, negative or fractional counts, weights that do not sum to 1, bad options. */
  | 'invalid_input'
  /** Too few units (an empty arm, n below a minimum). More data may fix it. */
  | 'insufficient_data'
  /** Every observation is identical, so no standard error can be formed. */
  | 'zero_variance'
  /** A relative effect was asked for against a baseline mean of zero. */
  | 'zero_baseline';

export interface StatsFailure {
  readonly ok: false;
  readonly code: StatsCode;
  readonly message: string;
}

/** Either the value's fields with `ok: true`, or a coded failure. Plain JSON either way. */
export type StatsResult<T extends object> = (T & { readonly ok: true }) | StatsFailure;

export function fail(code: StatsCode, message: string): StatsFailure {
  return { ok: false, code, message };
}

export function succeed<T extends object>(value: T): T & { readonly ok: true } {
  return { ok: true, ...value };
}

/** Drops the `ok` tag so a nested result reads as plain data. */
export function stripOk<T extends { readonly ok: true }>(value: T): Omit<T, 'ok'> {
  const { ok: _ok, ...rest } = value;
  return rest;
}

export function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** A count of units: a finite, non-negative integer. */
export function isCount(value: unknown): value is number {
  return isFiniteNumber(value) && value >= 0 && Number.isInteger(value);
}

/** Checks a significance level or probability-like option strictly inside (0, 1). */
export function checkOpenUnit(value: number, name: string): StatsFailure | null {
  if (!isFiniteNumber(value) || value <= 0 || value >= 1) {
    return fail('invalid_input', `${name} must be a number strictly between 0 and 1 (got ${String(value)})`);
  }
  return null;
}

export function checkPositive(value: number, name: string): StatsFailure | null {
  if (!isFiniteNumber(value) || value <= 0) {
    return fail('invalid_input', `${name} must be a finite number above 0 (got ${String(value)})`);
  }
  return null;
}
