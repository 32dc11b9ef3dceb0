/**
 * Stable hashing for traffic assignment and for joining logs with feedback.
 *
 * Pure (no Node built-ins, no I/O), so serving workers, the API, activities and workflow code all
 * compute the same numbers. MurmurHash3 x86_32 over the UTF-8 bytes of the input: fast (a few
 * hundred nanoseconds for a short key), well distributed, and identical on every worker, which is
 * what makes assignment sticky across a fleet.
 */

/** The size of the bucket space: assignment works in basis points, so a share of 0.0001 is one bucket. */
export const BUCKETS = 10_000;

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

// UTF-8 scratch space reused between calls: encodeInto writes without allocating. Keys longer than
// this fall back to TextEncoder.encode (an allocation, but correct).
const encoder = new TextEncoder();
let scratch = new Uint8Array(256);

function utf8(key: string): { bytes: Uint8Array; length: number } {
  // Worst case is 3 bytes per UTF-16 code unit.
  if (key.length * 3 > scratch.length) scratch = new Uint8Array(Math.max(key.length * 3, scratch.length * 2));
  const { written } = encoder.encodeInto(key, scratch);
  return { bytes: scratch, length: written };
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function murmur3Bytes(bytes: Uint8Array, length: number, seed: number): number {
  let h = seed >>> 0;
  const blocks = length & ~3;
  for (let i = 0; i < blocks; i += 4) {
    let k = (bytes[i] as number) | ((bytes[i + 1] as number) << 8) | ((bytes[i + 2] as number) << 16) | ((bytes[i + 3] as number) << 24);
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  // The 1-3 trailing bytes (the reference's fall-through switch, unrolled).
  const tail = length & 3;
  if (tail > 0) {
    let k = 0;
    if (tail === 3) k ^= (bytes[blocks + 2] as number) << 16;
    if (tail >= 2) k ^= (bytes[blocks + 1] as number) << 8;
    k ^= bytes[blocks] as number;
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
  }
  h ^= length;
  return fmix32(h);
}

/** MurmurHash3 (x86, 32-bit) of the UTF-8 encoding of `key`, as an unsigned integer. */
export function murmur3(key: string, seed = 0): number {
  const { bytes, length } = utf8(key);
  return murmur3Bytes(bytes, length, seed);
}

/**
 * The bucket in [0, BUCKETS) for a routing key under a salt. The salt (an experiment's, or the
 * model's) makes assignments of different experiments independent of each other; the separator
 * keeps ("ab", "c") and ("a", "bc") apart.
 */
export function routingBucket(salt: string, routingKey: string): number {
  return murmur3(`${salt}\u0000${routingKey}`) % BUCKETS;
}

// Two independent seeds: 64 bits are plenty to join feedback to inference rows without collisions
// in practice (about one expected collision per four billion distinct keys).
const KEY_SEED_HI = 0x5113ce01;
const KEY_SEED_LO = 0x9e3779b9;

/**
 * The routing key as it is stored: in the inference log, in feedback, and wherever the two are
 * joined. 16 lowercase hex digits. Raw user ids never reach the database. This is a stable join
 * key, not a secret: a small id space can be enumerated by anyone who knows the function.
 */
export function routingKeyHash(routingKey: string): string {
  const { bytes, length } = utf8(routingKey);
  return hex32(murmur3Bytes(bytes, length, KEY_SEED_HI)) + hex32(murmur3Bytes(bytes, length, KEY_SEED_LO));
}

// Byte-to-hex table: four lookups beat toString(16) + padStart on the request path.
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function hex32(n: number): string {
  return (HEX[n >>> 24] as string) + (HEX[(n >>> 16) & 0xff] as string) + (HEX[(n >>> 8) & 0xff] as string) + (HEX[n & 0xff] as string);
}
