import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ArtifactStore } from '../../../src/registry/artifacts.js';
import { RegistryError } from '../../../src/registry/errors.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('ArtifactStore', () => {
  let root: string;
  let store: ArtifactStore;
  beforeEach(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'sluice-store-'));
    store = new ArtifactStore({ root, maxBytes: 1000 });
  });
  afterEach(async () => { await fs.rm(root, { recursive: true, force: true }); });

  const files = async () => (await fs.readdir(root, { recursive: true })).filter((f) => /\.(onnx|part)$/.test(f)).sort();

  it('stores content at <root>/sha256/ab/<sha>.onnx, idempotently, and reads it back', async () => {
    const bytes = Buffer.from('model bytes');
    const a = await store.putBytes(bytes, { expectedSha256: sha(bytes) });
    expect(a.path).toBe(path.join(root, 'sha256', sha(bytes).slice(0, 2), `${sha(bytes)}.onnx`));
    expect(a.uri).toBe(`file://${a.path}`);
    expect(a).toMatchObject({ sha256: sha(bytes), sizeBytes: bytes.length });
    const b = await store.put(Readable.from([bytes.subarray(0, 3), bytes.subarray(3)]));
    expect(b.path).toBe(a.path);
    expect(await store.read(a.uri)).toEqual(bytes);
    expect(await files()).toEqual([path.join('sha256', sha(bytes).slice(0, 2), `${sha(bytes)}.onnx`)]);
  });

  it('keeps datasets beside models under their own extension and limit, streams them back, and resolves no dataset as a model', async () => {
    const datasets = new ArtifactStore({ root, maxBytes: 10, maxDatasetBytes: 1000 });
    const csv = Buffer.from('a,label\n1,0\n2,1\n');
    const stored = await datasets.putDataset(Readable.from([csv]), 'csv', { expectedSha256: sha(csv) });
    expect(stored.path).toBe(path.join(root, 'sha256', sha(csv).slice(0, 2), `${sha(csv)}.csv`));
    expect(stored.uri).toBe(datasets.uriFor(sha(csv), 'csv'));
    const chunks: Buffer[] = [];
    for await (const c of datasets.stream(stored.uri)) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks)).toEqual(csv);
    expect(await datasets.read(stored.uri)).toEqual(csv);
    // The model limit (10 bytes) does not apply to datasets; the dataset limit does.
    await expect(datasets.putDataset(Readable.from([Buffer.alloc(1001, 0x31)]), 'jsonl')).rejects.toMatchObject({ code: 'too_large', field: 'body' });
    // A dataset file is no model: registering it by URI is refused; other names in the store are not artifacts.
    await expect(datasets.resolve(stored.uri, sha(csv))).rejects.toMatchObject({ code: 'unsupported_uri' });
    expect(() => datasets.localPath(stored.uri.replace(/\.csv$/, '.txt'))).toThrow(RegistryError);
    expect((await fs.readdir(root, { recursive: true })).filter((f) => /\.(csv|jsonl|part)$/.test(f))).toEqual([path.join('sha256', sha(csv).slice(0, 2), `${sha(csv)}.csv`)]);
  });

  it('refuses oversize streams, digest mismatches and empty bodies, leaving nothing behind', async () => {
    const big = Readable.from((function* () { for (let i = 0; i < 20; i++) yield Buffer.alloc(100, i); })());
    await expect(store.put(big)).rejects.toMatchObject({ code: 'too_large' });
    await expect(store.putBytes(Buffer.from('abc'), { expectedSha256: sha(Buffer.from('abd')) })).rejects.toMatchObject({ code: 'sha256_mismatch', field: 'sha256' });
    await expect(store.putBytes(Buffer.alloc(0))).rejects.toMatchObject({ code: 'invalid' });
    await expect(store.putBytes(Buffer.from('x'), { expectedSha256: 'ABC' })).rejects.toBeInstanceOf(RegistryError);
    expect(await files()).toEqual([]);
  });

  it('resolves only URIs inside the store whose name is the digest, and verifies content', async () => {
    const bytes = Buffer.from('abc');
    const s = await store.putBytes(bytes);
    expect((await store.resolve(s.uri, s.sha256)).path).toBe(s.path);
    expect((await store.resolve(`sha256:${s.sha256}`, s.sha256)).path).toBe(s.path);
    const refuse = async (uri: string, digest = s.sha256) => (await store.resolve(uri, digest).then(() => null, (e: RegistryError) => e.code));
    expect(await refuse('file:///etc/passwd')).toBe('unsupported_uri');
    expect(await refuse(`file://${root}/sha256/../../${s.sha256}.onnx`)).toBe('unsupported_uri');
    expect(await refuse(`file://${root}/sha256/ff/${s.sha256}.onnx`)).toBe('unsupported_uri');
    expect(await refuse(`http://example.com/${s.sha256}.onnx`)).toBe('unsupported_uri');
    expect(await refuse(s.uri, sha(Buffer.from('other')))).toBe('sha256_mismatch');
    expect(await refuse(`sha256:${'0'.repeat(64)}`, '0'.repeat(64))).toBe('not_found');
    // A corrupted file is caught by re-hashing.
    await fs.chmod(s.path, 0o644);
    await fs.writeFile(s.path, 'tampered');
    expect(await refuse(s.uri)).toBe('sha256_mismatch');
    expect(() => store.localPath('file:///tmp/x.onnx')).toThrow(RegistryError);
  });
});
