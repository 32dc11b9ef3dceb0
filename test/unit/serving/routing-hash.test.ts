import { describe, expect, it } from 'vitest';
import { BUCKETS, murmur3, routingBucket, routingKeyHash } from '../../../src/shared/routing-hash.js';

describe('murmur3 (x86, 32-bit)', () => {
  it('matches the reference implementation', () => {
    expect(murmur3('', 0)).toBe(0);
    expect(murmur3('', 1)).toBe(0x514e28b7);
    expect(murmur3('hello', 0)).toBe(0x248bfa47);
    expect(murmur3('Hello, world!', 0)).toBe(0xc0363e43);
    expect(murmur3('The quick brown fox jumps over the lazy dog', 0)).toBe(0x2e4ff723);
  });

  it('hashes the UTF-8 bytes, including characters outside the BMP, and very long keys', () => {
    expect(murmur3('ü€😀')).toBe(murmur3('ü€😀'));
    expect(murmur3('ü')).not.toBe(murmur3('u'));
    const long = 'x'.repeat(5000);
    expect(murmur3(long)).toBe(murmur3(long));
    expect(murmur3(long)).not.toBe(murmur3(long + 'y'));
  });
});

describe('routingBucket and routingKeyHash', () => {
  it('buckets are in [0, BUCKETS) and depend on the salt', () => {
    const salts = new Set<number>();
    for (let i = 0; i < 1000; i++) {
      const b = routingBucket('s', `user-${i}`);
      expect(b).toBeGreaterThanOrEqual(0);
      expect(b).toBeLessThan(BUCKETS);
      salts.add(routingBucket('a', `user-${i}`) - routingBucket('b', `user-${i}`));
    }
    expect(salts.size).toBeGreaterThan(900);
    // The separator keeps (salt, key) pairs apart.
    expect(routingBucket('ab', 'c')).not.toBe(routingBucket('a', 'bc'));
  });

  it('routingKeyHash is 16 stable lowercase hex digits and never the raw key', () => {
    const h = routingKeyHash('user-42');
    expect(h).toMatch(/^[0-9a-f]{16}$/);
    expect(routingKeyHash('user-42')).toBe(h);
    expect(routingKeyHash('user-43')).not.toBe(h);
    const seen = new Set<string>();
    for (let i = 0; i < 100_000; i++) seen.add(routingKeyHash(`user-${i}`));
    expect(seen.size).toBe(100_000);
  });
});
