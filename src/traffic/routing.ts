/**
 * Routing decisions: which version answers a request, under which experiment arm, whether a copy
 * goes to a shadow, and which segment claimed it. Pure (no I/O, no clock; randomness comes in as
 * an argument), so every decision here is unit-tested and identical on every worker.
 *
 * A generation is compiled once when it is applied; per request the work is one MurmurHash of the
 * routing key and a scan of a few cumulative thresholds.
 */
import { BUCKETS, routingBucket } from '../shared/routing-hash.js';
import type { AttributeValue, Attributes, Predicate, TrafficGeneration } from './generation.js';

export class GenerationError extends Error {
  override readonly name = 'GenerationError';
}

type Matcher = (attributes: Attributes | undefined) => boolean;

export interface CompiledSegment {
  name: string;
  version: string;
  matches: Matcher;
  /** Latency budget in microseconds, or Infinity when the segment has none. */
  latencyBudgetUs: number;
}

export interface CompiledGeneration {
  model: string;
  generation: number;
  source: TrafficGeneration;
  /** Versions in bucket order with the exclusive upper bucket of each; shares of 0 get no range. */
  order: string[];
  upper: Int32Array;
  salt: string;
  baseline: string;
  eligible: Matcher | null;
  experiment: { id: string; armByVersion: Map<string, string> } | null;
  shadow: { version: string; share: number } | null;
  segments: CompiledSegment[];
  inputChecks: 'off' | 'count' | 'reject';
  /** Every version this generation can send traffic to: positive weights, baseline, shadow, segments. */
  referenced: string[];
}

export interface RouteRequest {
  routingKey?: string | undefined;
  attributes?: Attributes | undefined;
}

export interface RouteDecision {
  version: string;
  /** The experiment arm, or null outside an experiment (no experiment, or not eligible). */
  arm: string | null;
  experimentId: string | null;
  segment: string | null;
  /** The bucket used, or -1 when the request did not go through the weighted split. */
  bucket: number;
}

/** A uniform random number in [0, 1); Math.random in production, a seeded source in tests. */
export type Random = () => number;

const WEIGHT_TOLERANCE = 1e-6;

/**
 * Shares to whole buckets by largest remainder, so they sum to exactly BUCKETS and a 1% share is
 * exactly 100 buckets. Versions are ordered by name: the same order on every worker, and with two
 * versions a growing canary keeps the users it already had.
 */
function bucketRanges(weights: Record<string, number>): { order: string[]; upper: Int32Array } {
  const entries = Object.entries(weights).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (entries.length === 0) throw new GenerationError('weights are empty: at least one version needs a share');
  let sum = 0;
  for (const [version, share] of entries) {
    if (typeof share !== 'number' || !Number.isFinite(share) || share < 0 || share > 1) {
      throw new GenerationError(`weight of version ${version} is ${String(share)}; expected a number in [0, 1]`);
    }
    sum += share;
  }
  if (Math.abs(sum - 1) > WEIGHT_TOLERANCE) throw new GenerationError(`weights sum to ${sum}; expected 1`);
  const exact = entries.map(([, share]) => (share / sum) * BUCKETS);
  const whole = exact.map((x) => Math.floor(x));
  let left = BUCKETS - whole.reduce((a, b) => a + b, 0);
  const byRemainder = exact.map((x, i) => ({ i, r: x - Math.floor(x) })).filter(({ i }) => (entries[i]?.[1] ?? 0) > 0).sort((a, b) => b.r - a.r || a.i - b.i);
  for (let j = 0; left > 0 && byRemainder.length > 0; j = (j + 1) % byRemainder.length, left--) {
    const idx = byRemainder[j]?.i as number;
    whole[idx] = (whole[idx] as number) + 1;
  }
  const order: string[] = [];
  const upper: number[] = [];
  let acc = 0;
  entries.forEach(([version], i) => {
    const n = whole[i] as number;
    if (n <= 0) return;
    acc += n;
    order.push(version);
    upper.push(acc);
  });
  return { order, upper: Int32Array.from(upper) };
}

function isAttributeValue(v: unknown): v is AttributeValue {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

/**
 * Three-valued truth for predicates: true, false, or null when the answer depends on an attribute
 * the request does not carry. `not` keeps unknown unknown; `all`/`any` combine as Kleene logic
 * (a false conjunct or a true disjunct decides regardless of unknowns). Only true matches.
 */
type Truth = boolean | null;
type TriMatcher = (attributes: Attributes | undefined) => Truth;

const RANGE_KEYS = ['gt', 'gte', 'lt', 'lte'] as const;
const PREDICATE_KEYS = new Set(['all', 'any', 'not', 'attribute', 'equals', 'in', 'notIn', ...RANGE_KEYS]);

/** The predicate as short JSON, for error messages. */
function describePredicate(p: unknown): string {
  let text: string;
  try { text = JSON.stringify(p) ?? String(p); } catch { text = String(p); }
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

function compileTri(p: Predicate, where: string): TriMatcher {
  if (typeof p !== 'object' || p === null || Array.isArray(p)) throw new GenerationError(`${where} must be an object, got ${describePredicate(p)}`);
  const q = p as Record<string, unknown>;
  const keys = Object.keys(q);
  const unknown = keys.filter((k) => !PREDICATE_KEYS.has(k));
  if (unknown.length > 0) {
    throw new GenerationError(`${where} ${describePredicate(p)} has unknown key${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; a predicate is all, any, not, or an attribute with equals, in, notIn or a range (gt, gte, lt, lte)`);
  }
  // Exactly one kind of condition per predicate: {attribute, equals, gt} or {all, any} would
  // otherwise have one part silently ignored. Several conditions are combined with all/any.
  const kinds = keys.filter((k) => k !== 'attribute' && !(RANGE_KEYS as readonly string[]).includes(k));
  if (RANGE_KEYS.some((b) => Object.hasOwn(q, b))) kinds.push('a range');
  if (kinds.length > 1) {
    throw new GenerationError(`${where} ${describePredicate(p)} mixes ${kinds.join(' and ')}; a predicate has exactly one condition (combine several with all or any)`);
  }
  const kind = kinds[0];
  if (kind === 'all' || kind === 'any' || kind === 'not') {
    if (Object.hasOwn(q, 'attribute')) throw new GenerationError(`${where} ${describePredicate(p)} combines predicates and takes no attribute`);
    if (kind === 'not') {
      const inner = compileTri(q.not as Predicate, `${where}.not`);
      return (a) => { const v = inner(a); return v === null ? null : !v; };
    }
    const list = q[kind];
    if (!Array.isArray(list)) throw new GenerationError(`${where}.${kind} must be an array`);
    const parts = list.map((x, i) => compileTri(x as Predicate, `${where}.${kind}[${i}]`));
    // Kleene: all is false if any part is false, else unknown if any is unknown; any is the dual.
    const decisive = kind === 'any';
    return (a) => {
      let unsure = false;
      for (const m of parts) {
        const v = m(a);
        if (v === decisive) return decisive;
        if (v === null) unsure = true;
      }
      return unsure ? null : !decisive;
    };
  }
  const attribute = q.attribute;
  if (typeof attribute !== 'string' || attribute === '') throw new GenerationError(`${where} ${describePredicate(p)} needs an attribute name (or all/any/not)`);
  // An attribute the request does not carry makes the leaf unknown, not false: under `not` it
  // stays unknown, so unknown traffic is never eligible (not even via not/notIn).
  const read = (a: Attributes | undefined): AttributeValue | undefined => (a && Object.hasOwn(a, attribute) ? a[attribute] : undefined);
  if (kind === 'equals') {
    const expected = q.equals;
    if (!isAttributeValue(expected)) throw new GenerationError(`${where}.equals must be a string, number or boolean`);
    return (a) => { const v = read(a); return v === undefined ? null : v === expected; };
  }
  if (kind === 'in' || kind === 'notIn') {
    const list = q[kind];
    if (!Array.isArray(list) || !list.every((x) => typeof x === 'string' || typeof x === 'number')) {
      throw new GenerationError(`${where}.${kind} must be an array of strings or numbers`);
    }
    const set = new Set<AttributeValue>(list as Array<string | number>);
    return kind === 'in'
      ? (a) => { const v = read(a); return v === undefined ? null : set.has(v); }
      : (a) => { const v = read(a); return v === undefined ? null : !set.has(v); };
  }
  if (kind === undefined) throw new GenerationError(`${where} on ${attribute} needs equals, in, notIn or a range (gt, gte, lt, lte)`);
  const bounds = RANGE_KEYS.filter((b) => Object.hasOwn(q, b));
  for (const b of bounds) if (typeof q[b] !== 'number' || !Number.isFinite(q[b])) throw new GenerationError(`${where}.${b} must be a finite number`);
  const gt = (q.gt as number | undefined) ?? -Infinity;
  const gte = (q.gte as number | undefined) ?? -Infinity;
  const lt = (q.lt as number | undefined) ?? Infinity;
  const lte = (q.lte as number | undefined) ?? Infinity;
  return (a) => {
    const v = read(a);
    if (v === undefined) return null;
    return typeof v === 'number' && v > gt && v >= gte && v < lt && v <= lte;
  };
}

/**
 * Compiles a predicate to a closure that is true only when the predicate is definitely true:
 * false and unknown (it depends on an attribute the request lacks) both do not match. Throws
 * GenerationError naming what is malformed: unknown keys, more than one kind of condition, or
 * a condition of the wrong type.
 */
export function compilePredicate(p: Predicate, where = 'predicate'): Matcher {
  const tri = compileTri(p, where);
  return (a) => tri(a) === true;
}

function normaliseArms(arms: unknown): Array<{ name: string; version: string }> {
  if (Array.isArray(arms)) {
    return arms.map((a, i) => {
      if (typeof a === 'string') return { name: a, version: a };
      if (a && typeof a === 'object' && typeof (a as { name?: unknown }).name === 'string' && typeof (a as { version?: unknown }).version === 'string') {
        return { name: (a as { name: string }).name, version: (a as { version: string }).version };
      }
      throw new GenerationError(`experiment.arms[${i}] must be a version name or {name, version}`);
    });
  }
  if (arms && typeof arms === 'object') {
    return Object.entries(arms as Record<string, unknown>).map(([name, version]) => {
      if (typeof version !== 'string') throw new GenerationError(`experiment.arms.${name} must be a version name`);
      return { name, version };
    });
  }
  throw new GenerationError('experiment.arms must be {arm: version}, [{name, version}] or [version]');
}

/** Validates and compiles a generation for `model`; throws GenerationError on anything malformed. */
export function compileGeneration(model: string, g: TrafficGeneration): CompiledGeneration {
  if (!Number.isInteger(g.generation) || g.generation < 1) throw new GenerationError(`generation must be a positive integer, got ${String(g.generation)}`);
  if (!g.weights || typeof g.weights !== 'object') throw new GenerationError('weights must be an object {version: share}');
  const { order, upper } = bucketRanges(g.weights);
  const positive = [...order];
  const heaviest = Object.entries(g.weights).sort(([va, a], [vb, b]) => b - a || (va < vb ? -1 : va > vb ? 1 : 0))[0]?.[0] as string;
  const baseline = g.baseline ?? heaviest;

  let experiment: CompiledGeneration['experiment'] = null;
  let eligible: Matcher | null = g.targeting ? compilePredicate(g.targeting, 'targeting') : null;
  let salt = g.salt ?? model;
  if (g.experiment) {
    const e = g.experiment;
    if (typeof e.id !== 'string' || e.id === '') throw new GenerationError('experiment.id must be a non-empty string');
    if (typeof e.salt !== 'string' || e.salt === '') throw new GenerationError('experiment.salt must be a non-empty string');
    const arms = normaliseArms(e.arms);
    const armByVersion = new Map<string, string>();
    for (const arm of arms) {
      if (armByVersion.has(arm.version)) throw new GenerationError(`experiment arms name version ${arm.version} twice`);
      armByVersion.set(arm.version, arm.name);
    }
    for (const v of positive) {
      if (!armByVersion.has(v)) throw new GenerationError(`version ${v} has traffic but is not an arm of experiment ${e.id}`);
    }
    experiment = { id: e.id, armByVersion };
    salt = e.salt;
    if (e.targeting) eligible = compilePredicate(e.targeting, 'experiment.targeting');
  }

  let shadow: CompiledGeneration['shadow'] = null;
  if (g.shadow) {
    const { version, share } = g.shadow;
    if (typeof version !== 'string' || version === '') throw new GenerationError('shadow.version must be a version name');
    if (typeof share !== 'number' || !(share >= 0 && share <= 1)) throw new GenerationError('shadow.share must be a number in [0, 1]');
    if (share > 0) shadow = { version, share };
  }

  const segments: CompiledSegment[] = (g.segments ?? []).map((s, i) => {
    if (typeof s.name !== 'string' || s.name === '') throw new GenerationError(`segments[${i}].name must be a non-empty string`);
    if (typeof s.version !== 'string' || s.version === '') throw new GenerationError(`segments[${i}].version must be a version name`);
    const budget = s.latencyBudgetMs;
    if (budget !== undefined && !(typeof budget === 'number' && budget > 0)) throw new GenerationError(`segments[${i}].latencyBudgetMs must be positive`);
    return { name: s.name, version: s.version, matches: compilePredicate(s.when, `segments[${i}].when`), latencyBudgetUs: budget === undefined ? Infinity : budget * 1000 };
  });

  const inputChecks = g.inputChecks ?? 'count';
  if (inputChecks !== 'off' && inputChecks !== 'count' && inputChecks !== 'reject') throw new GenerationError('inputChecks must be off, count or reject');

  const referenced = [...new Set([...positive, baseline, ...(shadow ? [shadow.version] : []), ...segments.map((s) => s.version)])];
  return { model, generation: g.generation, source: g, order, upper, salt, baseline, eligible, experiment, shadow, segments, inputChecks, referenced };
}

/** The version owning `bucket` in the weighted split. */
export function versionForBucket(c: CompiledGeneration, bucket: number): string {
  const { upper, order } = c;
  for (let i = 0; i < upper.length; i++) if (bucket < (upper[i] as number)) return order[i] as string;
  return order[order.length - 1] as string;
}

const NON_BLANK = /\S/;

/**
 * The routing key to assign by, or undefined when there is none. An empty or whitespace-only key
 * is no key: hashing it would send every such request to one bucket (all of it to one arm), and
 * feedback cannot name it to join outcomes. Anything that logs or hashes the key for a request
 * should go through this too, so that routing and the logged key hash agree.
 */
export function effectiveRoutingKey(key: string | undefined): string | undefined {
  return key !== undefined && NON_BLANK.test(key) ? key : undefined;
}

/**
 * The weighted split (experiment included), ignoring segments: sticky by routing key and salt,
 * random without a key (an empty or blank key counts as none). Ineligible traffic goes to the
 * baseline, outside any experiment.
 */
export function routeGlobal(c: CompiledGeneration, req: RouteRequest, random: Random): RouteDecision {
  if (c.eligible !== null && !c.eligible(req.attributes)) {
    return { version: c.baseline, arm: null, experimentId: null, segment: null, bucket: -1 };
  }
  const key = effectiveRoutingKey(req.routingKey);
  const bucket = key !== undefined ? routingBucket(c.salt, key) : Math.min(BUCKETS - 1, Math.floor(random() * BUCKETS));
  const version = versionForBucket(c, bucket);
  if (c.experiment === null) return { version, arm: null, experimentId: null, segment: null, bucket };
  return { version, arm: c.experiment.armByVersion.get(version) ?? version, experimentId: c.experiment.id, segment: null, bucket };
}

/** The segment claiming this request (first match in order), or null. */
export function matchSegment(c: CompiledGeneration, attributes: Attributes | undefined): CompiledSegment | null {
  for (const s of c.segments) if (s.matches(attributes)) return s;
  return null;
}

/**
 * The full decision: a matching segment's version first, the weighted split otherwise. Whether
 * the segment version can take the request (ready, within budget) is the caller's question; it
 * falls back with `routeGlobal`.
 */
export function route(c: CompiledGeneration, req: RouteRequest, random: Random): RouteDecision {
  if (c.segments.length > 0) {
    const s = matchSegment(c, req.attributes);
    if (s !== null) return { version: s.version, arm: null, experimentId: null, segment: s.name, bucket: -1 };
  }
  return routeGlobal(c, req, random);
}

/** Whether this request also goes to the shadow version (never when the shadow already answers it). */
export function shadowFor(c: CompiledGeneration, primaryVersion: string, random: Random): string | null {
  const s = c.shadow;
  if (s === null || s.version === primaryVersion) return null;
  return s.share >= 1 || random() < s.share ? s.version : null;
}

/**
 * Whether `next` replaces `current`: only a strictly newer generation does. An equal number is an
 * idempotent re-delivery; an older one arrived late and is ignored.
 */
export function supersedes(current: { generation: number } | null | undefined, next: { generation: number }): boolean {
  return current == null || next.generation > current.generation;
}
