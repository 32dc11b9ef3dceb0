import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Sha256, sha256Hex } from '../../../src/models/sha256.js';

describe('sha256', () => {
  it('agrees with node:crypto across block boundaries and chunkings', () => {
    for (const length of [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000, 70_001]) {
      const bytes = Uint8Array.from({ length }, (_, i) => (i * 31 + 7) & 255);
      const expected = createHash('sha256').update(bytes).digest('hex');
      expect(sha256Hex(bytes)).toBe(expected);
      const split = Math.floor(length / 3);
      expect(sha256Hex(bytes.subarray(0, split), bytes.subarray(split))).toBe(expected);
    }
  });

  it('refuses to be used after its digest', () => {
    const hasher = new Sha256().update(new Uint8Array([1]));
    hasher.digestHex();
    expect(() => hasher.update(new Uint8Array([2]))).toThrow();
  });
});
