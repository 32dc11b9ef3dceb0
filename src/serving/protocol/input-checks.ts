/**
 * Optional input checks against a version's reference profile: each feature (a column of the
 * first input) within its observed range, or among its known categories. Pure; the worker counts
 * violations or rejects the request according to the generation's `inputChecks` policy.
 *
 * The profile is read leniently, so the worker keeps working while the stats module's format
 * settles: `{features: [{name, kind?, min?, max?, count?, categories?, frequencies?, index?}]}`, taken
 * from `model_versions.reference_profile`, else from `metadata.inputChecks` or `metadata.referenceProfile`.
 *
 * Where a feature's column is. Models built here read a float matrix whose columns the registry
 * records by name (`metadata.embedded.featureNames`, from the model file): numeric features first
 * as raw numbers, then one 0/1 column `feature=level` per level of each categorical feature (see
 * src/models/features.ts). A profile built by buildReferenceProfile names its features as the
 * reference data did, in that data's order, and keeps the categories of a categorical feature as
 * strings. So when the version's feature names are known (and agree with the input's width):
 *   - a profile feature named like a column is checked in that column: its range, or, for a
 *     categorical profile of numeric codes, membership of the code;
 *   - a categorical profile feature named like a one-hot group (`region` for the columns
 *     `region=north`, `region=south`, ...) is checked on the whole group: exactly one column must
 *     be 1 and the others 0 (the project's encoder refuses unknown levels rather than encoding them
 *     as all zeros, so an all-zero group is no category at all), and the hot column's level must be
 *     one of the profile's categories;
 *   - a group whose every column was profiled as a number (reference data given as encoded
 *     columns, the form that also gets the prediction distribution) is checked the same way, its
 *     known levels being those whose column was ever 1 in the reference;
 *   - profile features that name no column (reference columns the model does not read) are skipped.
 * An explicit `index` places a feature in that column regardless. Without feature names, a
 * feature's column is its `index`, else its position in the list, and categories are numeric codes.
 */
import { LEVEL_SEPARATOR } from '../../models/features.js';
import type { TensorData } from './tensors.js';

/** A categorical feature encoded as one 0/1 column per level. */
export interface OneHotGroup {
  /** The model's levels, in column order. */
  levels: string[];
  /** The input column of each level. */
  columns: number[];
  /** The input column's name of each level (`feature=level`). */
  columnNames: string[];
  /** Per level: whether the reference profile knows it. */
  known: boolean[];
}

export interface FeatureCheck {
  name: string;
  /** The checked column; for a one-hot feature, its first column. */
  column: number;
  min: number;
  max: number;
  /** Allowed values for a categorical feature held as numeric codes in one column, or null. */
  categories: Set<number> | null;
  /** Allowed values of a string (BYTES) input's feature, or null. */
  labels: Set<string> | null;
  /** A categorical feature encoded one-hot over several columns, or null. */
  oneHot: OneHotGroup | null;
  /** The known categories as messages list them, in the profile's order; empty for a range. */
  expected: string[];
}

export interface InputChecks {
  features: FeatureCheck[];
  /** Columns per row of the checked input; rows of another width are not checked. */
  width: number | null;
}

export type ViolationKind = 'below_min' | 'above_max' | 'unknown_category' | 'invalid_one_hot';

export interface Violation {
  feature: string;
  /**
   * `unknown_category`: a code, or a one-hot level, outside the profile's categories.
   * `invalid_one_hot`: a one-hot group with no column set, several set, or a value other than 0 and 1.
   */
  kind: ViolationKind;
  row: number;
  /** The value seen: a number, or for a one-hot feature the level set (unknown_category) or how many columns are set (invalid_one_hot). */
  value: number | string;
  /** What was wrong with a one-hot group (invalid_one_hot). */
  detail?: string;
}

type Entry = Record<string, unknown>;

const MAX_LISTED = 20;

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function rangeOf(o: Entry): { min: number; max: number } {
  // A numeric profile of a feature that was always missing has min = max = 0 and says nothing.
  if (num(o.count) === 0) return { min: -Infinity, max: Infinity };
  const range = Array.isArray(o.range) ? o.range : undefined;
  return { min: num(o.min) ?? num(range?.[0]) ?? -Infinity, max: num(o.max) ?? num(range?.[1]) ?? Infinity };
}

/** The profile's categories (as buildReferenceProfile keeps them: strings), or null for none. */
function categoriesOf(o: Entry): string[] | null {
  const cats = Array.isArray(o.categories) ? o.categories : o.frequencies && typeof o.frequencies === 'object' ? Object.keys(o.frequencies) : null;
  if (!cats) return null;
  const out = cats.filter((x) => typeof x === 'string' || (typeof x === 'number' && Number.isFinite(x)) || typeof x === 'boolean').map((x) => String(x));
  return out.length > 0 ? out : null;
}

function nameOf(o: Entry, column: number): string {
  return typeof o.name === 'string' ? o.name : `feature_${column}`;
}

/** A check on one column: membership of a numeric code when the profile lists codes, else the range. */
function columnCheck(o: Entry, name: string, column: number): FeatureCheck | null {
  const { min, max } = rangeOf(o);
  const cats = categoriesOf(o);
  let categories: Set<number> | null = null;
  let expected: string[] = [];
  if (cats) {
    const codes = cats.map((x) => Number(x)).filter((x) => Number.isFinite(x));
    if (codes.length > 0) {
      categories = new Set(codes);
      expected = codes.map((c) => String(c));
    }
  }
  if (min === -Infinity && max === Infinity && categories === null) return null;
  return { name, column, min, max, categories, labels: null, oneHot: null, expected };
}

function entries(list: readonly unknown[]): Entry[] {
  return list.filter((f): f is Entry => f !== null && typeof f === 'object' && !Array.isArray(f));
}

/** The model's input column names, from the metadata the registry stores (or given directly). */
function featureNamesOf(metadata: Record<string, unknown> | undefined, width: number | null): string[] | null {
  const embedded = metadata?.embedded;
  const candidates = [embedded && typeof embedded === 'object' ? (embedded as Entry).featureNames : undefined, metadata?.featureNames];
  for (const names of candidates) {
    if (!Array.isArray(names) || names.length === 0 || !names.every((n) => typeof n === 'string')) continue;
    // Names that disagree with the input's width describe some other matrix: do not guess.
    if (width !== null && names.length !== width) return null;
    return names as string[];
  }
  return null;
}

/** Columns placed by position (no feature names known): the lenient format as it always was. */
function checksByPosition(list: readonly unknown[]): FeatureCheck[] {
  const features: FeatureCheck[] = [];
  list.forEach((f: unknown, i: number) => {
    if (!f || typeof f !== 'object') return;
    const o = f as Entry;
    const column = Number.isInteger(o.index) ? (o.index as number) : i;
    const check = columnCheck(o, nameOf(o, column), column);
    if (check) features.push(check);
  });
  return features;
}

/** Columns placed by the model's feature names, with categorical features checked on their one-hot groups. */
function checksByName(list: readonly unknown[], names: readonly string[]): FeatureCheck[] {
  const columnOf = new Map<string, number>();
  names.forEach((n, i) => { if (!columnOf.has(n)) columnOf.set(n, i); });
  // One-hot groups: `feature=level` columns whose `feature` is not itself a column.
  const groups = new Map<string, { levels: string[]; columns: number[]; columnNames: string[] }>();
  names.forEach((n, i) => {
    const at = n.indexOf(LEVEL_SEPARATOR);
    if (at <= 0 || columnOf.get(n) !== i) return;
    const base = n.slice(0, at);
    if (columnOf.has(base)) return;
    let g = groups.get(base);
    if (!g) groups.set(base, (g = { levels: [], columns: [], columnNames: [] }));
    g.levels.push(n.slice(at + LEVEL_SEPARATOR.length));
    g.columns.push(i);
    g.columnNames.push(n);
  });

  const items = entries(list);
  const byName = new Map<string, Entry>();
  for (const o of items) if (typeof o.name === 'string' && !byName.has(o.name)) byName.set(o.name, o);

  const features: FeatureCheck[] = [];
  const covered = new Set<number>();
  for (const [base, g] of groups) {
    let known: boolean[] | null = null;
    let expected: string[] = [];
    const o = byName.get(base);
    const cats = o && !Number.isInteger(o.index) ? categoriesOf(o) : null;
    if (cats) {
      // Reference data of raw values: the categories the profile saw, those the model can encode.
      const levels = new Set(g.levels);
      expected = cats.filter((c) => levels.has(c));
      const seen = new Set(expected);
      known = g.levels.map((l) => seen.has(l));
    } else {
      // Reference data of encoded columns: a level is known when its column was ever 1.
      const maxima = g.columnNames.map((n) => {
        const e = byName.get(n);
        return e === undefined || Number.isInteger(e.index) || num(e.count) === 0 ? undefined : num(e.max) ?? (Array.isArray(e.range) ? num(e.range[1]) : undefined);
      });
      if (maxima.every((m) => m !== undefined)) {
        known = maxima.map((m) => (m as number) > 0);
        expected = g.levels.filter((_, k) => known?.[k]);
      }
    }
    // A profile that knows none of the model's levels describes other data: nothing to check against.
    if (known === null || !known.some(Boolean)) continue;
    features.push({ name: base, column: g.columns[0] as number, min: -Infinity, max: Infinity, categories: null, labels: null, oneHot: { ...g, known }, expected });
    for (const c of g.columns) covered.add(c);
  }

  for (const o of items) {
    const explicit = Number.isInteger(o.index) ? (o.index as number) : undefined;
    const column = explicit ?? (typeof o.name === 'string' && byName.get(o.name) === o ? columnOf.get(o.name) : undefined);
    if (column === undefined || (explicit === undefined && covered.has(column))) continue;
    const check = columnCheck(o, nameOf(o, column), column);
    if (check) features.push(check);
  }
  return features.sort((a, b) => a.column - b.column);
}

/**
 * Builds checks from whichever profile the version has; null when there is nothing to check.
 * `metadata` is the version's metadata as the registry stores it; its `embedded.featureNames`
 * (or `featureNames`) places profile features by name.
 */
export function compileInputChecks(referenceProfile: unknown, metadata: Record<string, unknown> | undefined, width: number | null): InputChecks | null {
  return compileFrom(referenceProfile, metadata, featureNamesOf(metadata, width), width, () => true);
}

function compileFrom(referenceProfile: unknown, metadata: Record<string, unknown> | undefined, names: readonly string[] | null, width: number | null,
  keep: (entry: Entry) => boolean): InputChecks | null {
  const candidates = [referenceProfile, metadata?.inputChecks, metadata?.referenceProfile];
  for (const c of candidates) {
    if (!c || typeof c !== 'object') continue;
    const all = (c as { features?: unknown }).features;
    if (!Array.isArray(all)) continue;
    // Only entries `keep` refuses go: the rest keep their positions (checksByPosition reads them).
    const list = all.filter((f) => !(f && typeof f === 'object' && !Array.isArray(f)) || keep(f as Entry));
    const features = names ? checksByName(list, names) : checksByPosition(list);
    if (features.length > 0) return { features, width: width ?? names?.length ?? null };
  }
  return null;
}

/** A string input's checks from the first profile that lists categories for its features. */
function stringProfileChecks(referenceProfile: unknown, metadata: Record<string, unknown> | undefined, names: readonly string[], keep: (entry: Entry) => boolean): InputChecks | null {
  for (const c of [referenceProfile, metadata?.inputChecks, metadata?.referenceProfile]) {
    const list = c && typeof c === 'object' ? (c as { features?: unknown }).features : undefined;
    const checks = Array.isArray(list) ? stringChecks(list, names, keep) : null;
    if (checks) return checks;
  }
  return null;
}

/** The checks of one of a version's inputs, by its place in the signature. */
export interface NamedInputChecks {
  /** The input's index among the signature's inputs (and a request's checked tensors). */
  input: number;
  name: string;
  checks: InputChecks;
}

/** What compileVersionInputChecks reads of a signature input. */
interface CheckedInput {
  name: string;
  datatype: { oip: string };
  shape: readonly number[];
}

/** Columns per row of an input: 1 for [N], the second dimension of [N, W]; null when open or of higher rank. */
function widthOf(shape: readonly number[]): number | null {
  if (shape.length === 1) return 1;
  return shape.length === 2 && (shape[1] as number) >= 0 ? (shape[1] as number) : null;
}

/**
 * Checks for every numeric input of a version. With a model contract, each input's columns are
 * named by the contract's feature names for that input (a one-column input without them: the
 * input's own name), and the profile's features are matched by name: a multi-input model's
 * profile carries every feature of every input, and each input takes those naming its columns
 * (a profile feature with an `input` field only that input's). A string (BYTES) input's values
 * must be among the categories the profile lists for their feature (strings have no range); BOOL
 * inputs are not checked. Without a contract, as before contracts: the first input, named by the
 * version's metadata (or its columns by position).
 */
export function compileVersionInputChecks(referenceProfile: unknown, metadata: Record<string, unknown> | undefined,
  inputs: readonly CheckedInput[], contract: { inputs: ReadonlyArray<{ name: string; features?: readonly string[] }> } | null | undefined): NamedInputChecks[] {
  const firstOnly = (): NamedInputChecks[] => {
    const first = inputs[0];
    const checks = first ? compileInputChecks(referenceProfile, metadata, widthOf(first.shape)) : null;
    return first && checks ? [{ input: 0, name: first.name, checks }] : [];
  };
  if (!contract) return firstOnly();
  const out: NamedInputChecks[] = [];
  inputs.forEach((input, index) => {
    if (input.datatype.oip === 'BOOL') return;
    const width = widthOf(input.shape);
    const declared = contract.inputs.find((c) => c.name === input.name)?.features;
    const names = declared ?? (width === 1 ? [input.name] : null);
    // Names that disagree with the input's width describe some other tensor: nothing is placed by them.
    if (names === null || (width !== null && names.length !== width)) return;
    // An entry placed by `index` alone is a column of the one input matrix of a profile made before contracts.
    const keep = (e: Entry) => (typeof e.input === 'string' ? e.input === input.name : inputs.length === 1 || !Number.isInteger(e.index));
    const checks = input.datatype.oip === 'BYTES' ? stringProfileChecks(referenceProfile, metadata, names, keep) : compileFrom(referenceProfile, metadata, names, width, keep);
    if (checks) out.push({ input: index, name: input.name, checks });
  });
  // One input whose contract names match none of the profile's (names made up at inference,
  // `x[0]`...): the profile is read as it was before contracts, by the metadata's names or by position.
  return out.length === 0 && inputs.length === 1 ? firstOnly() : out;
}

function oneHotViolation(f: FeatureCheck, g: OneHotGroup, values: ArrayLike<number | bigint>, base: number, row: number): Violation | null {
  let hot = -1;
  let hotCount = 0;
  for (let k = 0; k < g.columns.length; k++) {
    const x = Number(values[base + (g.columns[k] as number)]);
    if (x === 1) {
      hotCount++;
      if (hot < 0) hot = k;
    } else if (x !== 0) {
      return { feature: f.name, kind: 'invalid_one_hot', row, value: x, detail: `has ${x} in its one-hot column '${g.columnNames[k]}' (0 or 1 expected)` };
    }
  }
  if (hotCount === 0) return { feature: f.name, kind: 'invalid_one_hot', row, value: 0, detail: 'has no category set (all its one-hot columns are 0)' };
  if (hotCount > 1) {
    const set = g.levels.filter((_, k) => Number(values[base + (g.columns[k] as number)]) === 1);
    return { feature: f.name, kind: 'invalid_one_hot', row, value: hotCount, detail: `has ${hotCount} categories set (${set.join(', ')})` };
  }
  if (!g.known[hot]) return { feature: f.name, kind: 'unknown_category', row, value: g.levels[hot] as string };
  return null;
}

/** A string input's violations: values outside its features' known categories. */
function stringViolations(checks: InputChecks, data: readonly string[], rows: number, width: number, limit: number): Violation[] {
  const out: Violation[] = [];
  for (let r = 0; r < rows; r++) {
    for (const f of checks.features) {
      if (f.labels === null || f.column >= width) continue;
      const v = data[r * width + f.column] as string;
      if (f.labels.has(v)) continue;
      out.push({ feature: f.name, kind: 'unknown_category', row: r, value: v });
      if (out.length >= limit) return out;
    }
  }
  return out;
}

/**
 * Checks of a string input's columns: membership in the categories the profile lists for each
 * feature (a string has no range). Features the profile gives no categories go unchecked.
 */
function stringChecks(list: readonly unknown[], names: readonly string[], keep: (entry: Entry) => boolean): InputChecks | null {
  const features: FeatureCheck[] = [];
  const byName = new Map<string, Entry>();
  for (const o of entries(list)) if (typeof o.name === 'string' && keep(o) && !byName.has(o.name)) byName.set(o.name, o);
  names.forEach((name, column) => {
    const o = byName.get(name);
    const cats = o ? categoriesOf(o) : null;
    if (cats) features.push({ name, column, min: -Infinity, max: Infinity, categories: null, labels: new Set(cats), oneHot: null, expected: cats });
  });
  return features.length > 0 ? { features, width: names.length } : null;
}

/** Violations in a row-major batch of `rows` rows; stops after `limit` (one is enough to reject). */
export function findViolations(checks: InputChecks, data: TensorData, rows: number, limit = 16): Violation[] {
  const width = checks.width ?? (rows > 0 ? data.length / rows : 0);
  if (!Number.isInteger(width) || width * rows !== data.length) return [];
  if (Array.isArray(data)) return stringViolations(checks, data, rows, width, limit);
  const out: Violation[] = [];
  const values = data as ArrayLike<number | bigint>;
  // Profiles are built in float64, the model reads float32: a reference value rounds to float32 as
  // the input carries it, and rounding is monotonic, so float32 data is held to the float32 bounds.
  const f32 = data instanceof Float32Array;
  for (let r = 0; r < rows; r++) {
    const base = r * width;
    for (const f of checks.features) {
      let violation: Violation | null = null;
      if (f.oneHot !== null) {
        violation = oneHotViolation(f, f.oneHot, values, base, r);
      } else {
        if (f.column >= width) continue;
        const v = Number(values[base + f.column]);
        let kind: ViolationKind | null = null;
        if (f.categories !== null) { if (!f.categories.has(v)) kind = 'unknown_category'; }
        else if (v < (f32 ? Math.fround(f.min) : f.min)) kind = 'below_min';
        else if (v > (f32 ? Math.fround(f.max) : f.max)) kind = 'above_max';
        if (kind !== null) violation = { feature: f.name, kind, row: r, value: v };
      }
      if (violation !== null) {
        out.push(violation);
        if (out.length >= limit) return out;
      }
    }
  }
  return out;
}

function listed(values: readonly string[]): string {
  if (values.length <= MAX_LISTED) return values.join(', ');
  return `${values.slice(0, MAX_LISTED).join(', ')}, … (${values.length} in all)`;
}

export function describeViolation(v: Violation, checks: InputChecks): string {
  const f = checks.features.find((x) => x.name === v.feature && (v.kind === 'below_min' || v.kind === 'above_max' ? x.categories === null && x.oneHot === null : x.categories !== null || x.oneHot !== null))
    ?? checks.features.find((x) => x.name === v.feature);
  const known = f && f.expected.length > 0 ? ` (${listed(f.expected)})` : '';
  if (v.kind === 'invalid_one_hot') return `feature '${v.feature}' (row ${v.row}) ${v.detail ?? 'is not one-hot encoded'}; expected exactly one of the version's known categories${known}`;
  if (v.kind === 'unknown_category') {
    const value = typeof v.value === 'string' ? `'${v.value}'` : String(v.value);
    return `feature '${v.feature}' (row ${v.row}) is ${value}, not one of the version's known categories${known}`;
  }
  return `feature '${v.feature}' (row ${v.row}) is ${v.value}, outside the version's reference range [${f?.min}, ${f?.max}]`;
}
