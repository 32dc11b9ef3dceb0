import { describe, expect, it } from 'vitest';
import type { TrafficGeneration } from '../../../src/traffic/generation.js';
import { compileGeneration, compilePredicate, effectiveRoutingKey, GenerationError, route, routeGlobal, shadowFor, supersedes, versionForBucket } from '../../../src/traffic/routing.js';

/** mulberry32: a small seeded source, enough for assignment tests. */
const rng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

function shares(g: TrafficGeneration, n: number, keyed = true): Record<string, number> {
  const c = compileGeneration('credit', g);
  const random = rng(1);
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const d = route(c, { routingKey: keyed ? `user-${i}` : undefined }, random);
    counts[d.version] = (counts[d.version] ?? 0) + 1;
  }
  return Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, v / n]));
}

describe('weighted split', () => {
  it('routes 100,000 keys within statistical tolerance of the weights', () => {
    // Binomial sd at p=0.2, n=1e5 is 0.00126; 5 sd is 0.0063.
    for (const weights of [{ v1: 0.8, v2: 0.2 }, { v1: 0.5, v2: 0.5 }, { a: 0.7, b: 0.2, c: 0.1 }, { v1: 0.99, v2: 0.01 }] as Array<Record<string, number>>) {
      const got = shares({ generation: 1, weights }, 100_000);
      for (const [v, w] of Object.entries(weights)) {
        const sd = Math.sqrt((w * (1 - w)) / 100_000);
        expect(Math.abs((got[v] ?? 0) - w), `${v} of ${JSON.stringify(weights)}`).toBeLessThan(5 * sd + 1e-9);
      }
    }
  });

  it('keyless requests are assigned randomly with the same shares', () => {
    const got = shares({ generation: 1, weights: { v1: 0.7, v2: 0.3 } }, 100_000, false);
    expect(Math.abs((got.v2 ?? 0) - 0.3)).toBeLessThan(0.01);
  });

  it('a key always lands on the same version, and a growing canary keeps the users it had', () => {
    const at = (share: number) => compileGeneration('credit', { generation: 1, weights: { v1: 1 - share, v2: share } });
    const g1 = at(0.01), g5 = at(0.05), g20 = at(0.2);
    const r = rng(2);
    for (let i = 0; i < 20_000; i++) {
      const key = `user-${i}`;
      const a = routeGlobal(g1, { routingKey: key }, r).version;
      expect(routeGlobal(g1, { routingKey: key }, r).version).toBe(a);
      if (a === 'v2') expect(routeGlobal(g5, { routingKey: key }, r).version).toBe('v2');
      if (routeGlobal(g5, { routingKey: key }, r).version === 'v2') expect(routeGlobal(g20, { routingKey: key }, r).version).toBe('v2');
    }
  });

  it('an empty or blank routing key is no key: assigned at random, not all to one bucket', () => {
    const c = compileGeneration('credit', { generation: 1, weights: { v1: 0.5, v2: 0.5 } });
    for (const key of ['', ' ', '\t\n ']) {
      const r = rng(6);
      const counts: Record<string, number> = {};
      for (let i = 0; i < 1000; i++) {
        const d = routeGlobal(c, { routingKey: key }, r);
        counts[d.version] = (counts[d.version] ?? 0) + 1;
      }
      // Binomial sd at n=1000, p=0.5 is 15.8: 5 sd either side of 500.
      expect(counts.v1 ?? 0, JSON.stringify(key)).toBeGreaterThan(420);
      expect(counts.v2 ?? 0, JSON.stringify(key)).toBeGreaterThan(420);
      // Exactly what a keyless request gets from the same random source.
      expect(routeGlobal(c, { routingKey: key }, rng(7))).toEqual(routeGlobal(c, {}, rng(7)));
    }
    expect(effectiveRoutingKey('')).toBeUndefined();
    expect(effectiveRoutingKey('  ')).toBeUndefined();
    expect(effectiveRoutingKey(undefined)).toBeUndefined();
    expect(effectiveRoutingKey(' u1 ')).toBe(' u1 ');
    // A real key is still sticky.
    expect(new Set(Array.from({ length: 50 }, (_, i) => routeGlobal(c, { routingKey: 'user-1' }, rng(i)).bucket)).size).toBe(1);
  });

  it('shares become whole buckets summing to 10,000; zero shares get none', () => {
    const c = compileGeneration('m', { generation: 1, weights: { a: 1 / 3, b: 1 / 3, c: 1 / 3, d: 0 } });
    expect(c.order).toEqual(['a', 'b', 'c']);
    expect(c.upper[c.upper.length - 1]).toBe(10_000);
    expect(versionForBucket(c, 0)).toBe('a');
    expect(versionForBucket(c, 9_999)).toBe('c');
    expect(c.referenced).not.toContain('d');
  });

  it('rejects malformed generations with a message naming the problem', () => {
    const bad = (g: Partial<TrafficGeneration>, msg: RegExp) => expect(() => compileGeneration('m', { generation: 1, weights: { v1: 1 }, ...g } as TrafficGeneration)).toThrow(msg);
    bad({ weights: { v1: 0.5, v2: 0.4 } }, /sum to 0.9/);
    bad({ weights: { v1: 1.5, v2: -0.5 } }, /weight of version v1/);
    bad({ weights: {} }, /empty/);
    bad({ generation: 0 }, /positive integer/);
    bad({ experiment: { id: 'e', salt: 's', arms: { control: 'v9' } } }, /not an arm/);
    bad({ segments: [{ name: 'eu', when: { attribute: 'region' } as never, version: 'v1' }] }, /needs equals, in, notIn or a range/);
    expect(() => compileGeneration('m', { generation: 1, weights: { v1: 0.5, v2: 0.6 } })).toThrow(GenerationError);
  });
});

describe('experiments and targeting', () => {
  const g: TrafficGeneration = {
    generation: 3,
    weights: { v1: 0.5, v2: 0.5 },
    experiment: { id: 'exp-1', salt: 'salt-1', arms: { control: 'v1', treatment: 'v2' }, targeting: { all: [{ attribute: 'country', in: ['DE', 'FR'] }, { attribute: 'age', gte: 18, lt: 65 }] } },
  };
  const c = compileGeneration('credit', g);

  it('eligible traffic is split into arms; ineligible traffic goes to the baseline outside the experiment', () => {
    const r = rng(3);
    const inside = route(c, { routingKey: 'u1', attributes: { country: 'DE', age: 30 } }, r);
    expect(inside.experimentId).toBe('exp-1');
    expect(inside.arm).toBe(inside.version === 'v1' ? 'control' : 'treatment');
    for (const attributes of [{ country: 'US', age: 30 }, { country: 'DE', age: 70 }, { country: 'DE' }, undefined] as Array<Record<string, string | number> | undefined>) {
      const d = route(c, { routingKey: 'u1', attributes }, r);
      expect(d).toMatchObject({ version: 'v1', arm: null, experimentId: null, bucket: -1 });
    }
  });

  it('arms may be given as a record, a list of {name, version}, or a list of versions', () => {
    for (const arms of [{ control: 'v1', treatment: 'v2' }, [{ name: 'control', version: 'v1' }, { name: 'treatment', version: 'v2' }]]) {
      const cc = compileGeneration('credit', { ...g, experiment: { id: 'e', salt: 's', arms } });
      expect([...(cc.experiment?.armByVersion.entries() ?? [])].sort()).toEqual([['v1', 'control'], ['v2', 'treatment']]);
    }
    const byVersion = compileGeneration('credit', { ...g, experiment: { id: 'e', salt: 's', arms: ['v1', 'v2'] } });
    expect(byVersion.experiment?.armByVersion.get('v2')).toBe('v2');
  });

  it('the experiment salt re-randomises assignment independently of the model salt', () => {
    const plain = compileGeneration('credit', { generation: 1, weights: { v1: 0.5, v2: 0.5 } });
    const exp = compileGeneration('credit', { generation: 1, weights: { v1: 0.5, v2: 0.5 }, experiment: { id: 'e', salt: 'other', arms: ['v1', 'v2'] } });
    let same = 0;
    const r = rng(4);
    for (let i = 0; i < 10_000; i++) if (routeGlobal(plain, { routingKey: `k${i}` }, r).version === routeGlobal(exp, { routingKey: `k${i}` }, r).version) same++;
    expect(same / 10_000).toBeGreaterThan(0.45);
    expect(same / 10_000).toBeLessThan(0.55);
  });

  it('predicates: equals, in, notIn, ranges, all/any/not; a missing attribute matches nothing', () => {
    const p = compilePredicate({ any: [{ attribute: 'tier', equals: 'gold' }, { not: { attribute: 'region', notIn: ['eu'] } }] });
    expect(p({ tier: 'gold' })).toBe(true);
    expect(p({ region: 'eu' })).toBe(true);
    expect(p({ region: 'us' })).toBe(false);
    expect(p({})).toBe(false); // not(notIn on a missing attribute) is unknown, and unknown never matches
    const range = compilePredicate({ attribute: 'score', gt: 0.5, lte: 1 });
    expect([range({ score: 0.5 }), range({ score: 0.51 }), range({ score: 1 }), range({ score: '0.7' }), range(undefined)]).toEqual([false, true, true, false, false]);
    expect(compilePredicate({ attribute: 'beta', equals: true })({ beta: true })).toBe(true);
    expect(compilePredicate({ attribute: 'tier', notIn: ['free'] })({})).toBe(false);
  });
});

describe('predicates: one condition each, three-valued', () => {
  it('refuses a predicate with more than one kind of condition, naming it', () => {
    const refused = (p: unknown, msg: RegExp) => {
      expect(() => compilePredicate(p as never, 'targeting')).toThrow(GenerationError);
      expect(() => compilePredicate(p as never, 'targeting')).toThrow(msg);
    };
    refused({ attribute: 'x', equals: 1, gt: 5 }, /targeting \{"attribute":"x","equals":1,"gt":5\} mixes equals and a range/);
    refused({ all: [], any: [] }, /targeting .* mixes all and any/);
    refused({ attribute: 'x', in: [1], notIn: [2] }, /mixes in and notIn/);
    refused({ not: { attribute: 'x', equals: 1 }, attribute: 'y' }, /takes no attribute/);
    refused({ any: [{ attribute: 'x', equals: 'a', lte: 3 }] }, /targeting\.any\[0\] .* mixes equals and a range/);
    refused({ attribute: 'x', equals: 1, eq: 2 }, /targeting .* has unknown key eq/);
    refused({ all: [], foo: 1, bar: 2 }, /has unknown keys foo, bar/);
    refused([], /must be an object/);
    // A range with several bounds is one condition.
    expect(compilePredicate({ attribute: 'x', gt: 1, lte: 3 })({ x: 2 })).toBe(true);
    // Without the check, {x equals 1, gt 5} matched x=1: the range was silently ignored.
    expect(() => compileGeneration('m', { generation: 1, weights: { v1: 1 }, targeting: { attribute: 'x', equals: 1, gt: 5 } as never })).toThrow(/targeting .* mixes equals and a range/);
    expect(() => compileGeneration('m', { generation: 1, weights: { v1: 1 }, segments: [{ name: 's', when: { all: [], any: [] } as never, version: 'v1' }] })).toThrow(/segments\[0\]\.when .* mixes all and any/);
  });

  it('a missing attribute is unknown: not keeps it unknown, and unknown never matches', () => {
    const notUS = compilePredicate({ not: { attribute: 'country', equals: 'US' } });
    expect([notUS({ country: 'DE' }), notUS({ country: 'US' }), notUS({}), notUS(undefined)]).toEqual([true, false, false, false]);
    const notIn = compilePredicate({ not: { attribute: 'tier', in: ['free'] } });
    expect([notIn({ tier: 'gold' }), notIn({ tier: 'free' }), notIn({})]).toEqual([true, false, false]);
    // Kleene logic: a false conjunct or a true disjunct decides despite an unknown part.
    const a = { attribute: 'a', equals: 1 }, b = { attribute: 'b', equals: 1 };
    expect(compilePredicate({ not: { all: [a, b] } })({ b: 0 })).toBe(true); // all(unknown, false) = false
    expect(compilePredicate({ not: { all: [a, b] } })({ b: 1 })).toBe(false); // all(unknown, true) = unknown
    expect(compilePredicate({ any: [a, b] })({ b: 1 })).toBe(true); // any(unknown, true) = true
    expect(compilePredicate({ not: { any: [a, b] } })({ b: 0 })).toBe(false); // not any(unknown, false) = unknown
    expect(compilePredicate({ not: { not: a } })({})).toBe(false);
    expect(compilePredicate({ all: [] })({})).toBe(true);
    expect(compilePredicate({ any: [] })({})).toBe(false);
    // Requests without the attribute stay outside the experiment, at the baseline.
    const c = compileGeneration('credit', { generation: 1, weights: { v1: 0.5, v2: 0.5 }, baseline: 'v1', experiment: { id: 'e', salt: 's', arms: ['v1', 'v2'], targeting: { not: { attribute: 'country', equals: 'US' } } } });
    for (let i = 0; i < 200; i++) expect(route(c, { routingKey: `u${i}` }, Math.random)).toMatchObject({ version: 'v1', experimentId: null });
    expect(route(c, { routingKey: 'u1', attributes: { country: 'DE' } }, Math.random).experimentId).toBe('e');
  });
});

describe('segments, shadow and generation order', () => {
  it('a segment claims matching traffic for its version; others take the global split', () => {
    const c = compileGeneration('credit', {
      generation: 1, weights: { v1: 1 },
      segments: [{ name: 'eu', when: { attribute: 'region', equals: 'eu' }, version: 'v-eu', latencyBudgetMs: 5 }],
    });
    expect(route(c, { attributes: { region: 'eu' } }, Math.random)).toMatchObject({ version: 'v-eu', segment: 'eu' });
    expect(route(c, { attributes: { region: 'us' } }, Math.random)).toMatchObject({ version: 'v1', segment: null });
    expect(c.segments[0]?.latencyBudgetUs).toBe(5000);
    expect(c.referenced.sort()).toEqual(['v-eu', 'v1']);
  });

  it('shadow mirrors its share of requests, never to the version already answering', () => {
    const c = compileGeneration('credit', { generation: 1, weights: { v1: 1 }, shadow: { version: 'v2', share: 0.25 } });
    const r = rng(5);
    let n = 0;
    for (let i = 0; i < 40_000; i++) if (shadowFor(c, 'v1', r) === 'v2') n++;
    expect(Math.abs(n / 40_000 - 0.25)).toBeLessThan(0.01);
    expect(shadowFor(c, 'v2', r)).toBeNull();
    expect(c.referenced).toContain('v2');
  });

  it('only a strictly newer generation supersedes', () => {
    expect(supersedes(null, { generation: 1 })).toBe(true);
    expect(supersedes({ generation: 2 }, { generation: 3 })).toBe(true);
    expect(supersedes({ generation: 3 }, { generation: 3 })).toBe(false);
    expect(supersedes({ generation: 3 }, { generation: 2 })).toBe(false);
  });
});
