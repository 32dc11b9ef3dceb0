// The artifact store: model files (and evaluation datasets) addressed by their content. A file
// lives at <root>/sha256/<first two hex digits>/<sha256>.<onnx|csv|jsonl> and is named by nothing a client chose, so
// no upload can pick a path; uploads stream to a temporary file while they are hashed and counted,
// and land in place only when the digest matches what the client declared.
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { stateDir } from '../config.js';
import { RegistryError } from './errors.js';

export const SHA256_PATTERN = /^[0-9a-f]{64}$/;
/** 256 MiB unless SLUICE_MAX_ARTIFACT_BYTES says otherwise. */
export const DEFAULT_MAX_ARTIFACT_BYTES = 256 * 1024 * 1024;
/** 64 MiB unless SLUICE_MAX_DATASET_BYTES says otherwise. */
export const DEFAULT_MAX_DATASET_BYTES = 64 * 1024 * 1024;

/** What a stored file is: a model (.onnx) or a dataset in one of its formats. */
export type ArtifactExtension = 'onnx' | 'csv' | 'jsonl';
const STORED_NAME = /^([0-9a-f]{64})\.(onnx|csv|jsonl)$/;

export interface StoredArtifact {
  sha256: string;
  sizeBytes: number;
  uri: string;
  path: string;
}

export interface ArtifactStoreOptions {
  /** Defaults to SLUICE_ARTIFACT_ROOT, else <SLUICE_STATE_DIR or .sluice>/artifacts. */
  root?: string;
  /** Largest artifact accepted, in bytes. */
  maxBytes?: number;
  /** Largest dataset accepted, in bytes (datasets have their own limit: they are not models). */
  maxDatasetBytes?: number;
}

export function defaultArtifactRoot(): string {
  return path.resolve(process.env.SLUICE_ARTIFACT_ROOT ?? path.join(stateDir(), 'artifacts'));
}

function positiveEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  const n = raw ? Number(raw) : NaN;
  return Number.isSafeInteger(n) && n > 0 ? n : fallback;
}

export function defaultMaxArtifactBytes(): number {
  return positiveEnv('SLUICE_MAX_ARTIFACT_BYTES', DEFAULT_MAX_ARTIFACT_BYTES);
}

export function defaultMaxDatasetBytes(): number {
  return positiveEnv('SLUICE_MAX_DATASET_BYTES', DEFAULT_MAX_DATASET_BYTES);
}

function checkSha(sha256: string, field = 'sha256'): string {
  if (!SHA256_PATTERN.test(sha256)) throw new RegistryError('invalid', `${field} must be 64 lowercase hex digits`, field);
  return sha256;
}

export class ArtifactStore {
  readonly root: string;
  readonly maxBytes: number;
  readonly maxDatasetBytes: number;

  constructor(opts: ArtifactStoreOptions = {}) {
    this.root = path.resolve(opts.root ?? defaultArtifactRoot());
    this.maxBytes = opts.maxBytes ?? defaultMaxArtifactBytes();
    this.maxDatasetBytes = opts.maxDatasetBytes ?? defaultMaxDatasetBytes();
  }

  /** The only path an artifact with this digest (and kind) can have. */
  pathFor(sha256: string, extension: ArtifactExtension = 'onnx'): string {
    checkSha(sha256);
    return path.join(this.root, 'sha256', sha256.slice(0, 2), `${sha256}.${extension}`);
  }

  uriFor(sha256: string, extension: ArtifactExtension = 'onnx'): string {
    return pathToFileURL(this.pathFor(sha256, extension)).href;
  }

  /**
   * Streams `source` into the store. Refuses (and deletes what it wrote) when more than `maxBytes`
   * arrive, or when the digest differs from `expectedSha256`. Idempotent for identical content.
   */
  async put(source: Readable | AsyncIterable<Uint8Array>, opts: { expectedSha256?: string; maxBytes?: number } = {}): Promise<StoredArtifact> {
    return await this.store(source, { ...opts, limit: Math.min(opts.maxBytes ?? this.maxBytes, this.maxBytes), extension: 'onnx' });
  }

  /** Streams a dataset file into the store under its format's extension, within the dataset limit. */
  async putDataset(source: Readable | AsyncIterable<Uint8Array>, extension: Exclude<ArtifactExtension, 'onnx'>, opts: { expectedSha256?: string } = {}): Promise<StoredArtifact> {
    return await this.store(source, { ...opts, limit: this.maxDatasetBytes, extension });
  }

  private async store(source: Readable | AsyncIterable<Uint8Array>, opts: { expectedSha256?: string; limit: number; extension: ArtifactExtension }): Promise<StoredArtifact> {
    if (opts.expectedSha256 !== undefined) checkSha(opts.expectedSha256);
    const limit = opts.limit;
    const tmpDir = path.join(this.root, 'tmp');
    await fs.mkdir(tmpDir, { recursive: true });
    const tmp = path.join(tmpDir, `${randomUUID()}.part`);
    const hash = createHash('sha256');
    let size = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        size += chunk.length;
        if (size > limit) {
          done(new RegistryError('too_large', `artifact exceeds the limit of ${limit} bytes`, 'body'));
          return;
        }
        hash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(source, meter, createWriteStream(tmp, { flags: 'wx', mode: 0o644 }));
    } catch (err) {
      await fs.rm(tmp, { force: true });
      if (err instanceof RegistryError) throw err;
      throw new RegistryError('invalid', `artifact upload did not complete: ${(err as Error).message}`, 'body');
    }
    const sha256 = hash.digest('hex');
    try {
      if (size === 0) throw new RegistryError('invalid', 'artifact is empty', 'body');
      if (opts.expectedSha256 !== undefined && opts.expectedSha256 !== sha256) {
        throw new RegistryError('sha256_mismatch', `sha256 mismatch: declared ${opts.expectedSha256}, received content hashes to ${sha256}`, 'sha256');
      }
      const final = this.pathFor(sha256, opts.extension);
      await fs.mkdir(path.dirname(final), { recursive: true });
      await fs.rename(tmp, final);
      return { sha256, sizeBytes: size, uri: pathToFileURL(final).href, path: final };
    } finally {
      await fs.rm(tmp, { force: true });
    }
  }

  async putBytes(bytes: Uint8Array, opts: { expectedSha256?: string } = {}): Promise<StoredArtifact> {
    return await this.put((async function* () { yield bytes; })(), opts);
  }

  /**
   * Resolves a URI that points into this store (`file://<root>/sha256/..`, or `sha256:<hex>`) to
   * its file, and checks the file's content against `expectedSha256`. Anything outside the store,
   * any other scheme, and any name that is not the digest itself is refused.
   */
  async resolve(uri: string, expectedSha256: string): Promise<StoredArtifact> {
    checkSha(expectedSha256);
    let sha: string;
    if (uri.startsWith('sha256:')) {
      sha = checkSha(uri.slice('sha256:'.length), 'artifactUri');
    } else if (uri.startsWith('file://')) {
      let file: string;
      try {
        file = path.resolve(fileURLToPath(uri));
      } catch {
        throw new RegistryError('unsupported_uri', 'artifactUri is not a valid file:// URI', 'artifactUri');
      }
      const match = /^([0-9a-f]{64})\.onnx$/.exec(path.basename(file));
      if (!match?.[1] || file !== this.pathFor(match[1])) {
        throw new RegistryError('unsupported_uri', `artifactUri must name a file of the artifact store (${pathToFileURL(this.root).href}/sha256/<ab>/<sha256>.onnx)`, 'artifactUri');
      }
      sha = match[1];
    } else {
      throw new RegistryError('unsupported_uri', 'artifactUri must be a file:// URI inside the artifact store or sha256:<hex>', 'artifactUri');
    }
    if (sha !== expectedSha256) {
      throw new RegistryError('sha256_mismatch', `sha256 mismatch: declared ${expectedSha256}, artifactUri names ${sha}`, 'sha256');
    }
    const file = this.pathFor(sha);
    let stat;
    try {
      stat = await fs.lstat(file);
    } catch {
      throw new RegistryError('not_found', `no artifact with sha256 ${sha} in the artifact store`, 'artifactUri');
    }
    if (!stat.isFile()) throw new RegistryError('unsupported_uri', 'artifactUri does not name a regular file', 'artifactUri');
    const actual = await hashFile(file);
    if (actual !== sha) {
      throw new RegistryError('sha256_mismatch', `stored artifact is corrupt: its content hashes to ${actual}, not ${sha}`, 'sha256');
    }
    return { sha256: sha, sizeBytes: stat.size, uri: pathToFileURL(file).href, path: file };
  }

  /** Streams an artifact this store holds, by URI; refuses anything outside the store. */
  stream(uri: string): Readable {
    return createReadStream(this.localPath(uri));
  }

  /** Reads an artifact this store holds, by URI; refuses anything outside the store. */
  async read(uri: string): Promise<Buffer> {
    const file = this.localPath(uri);
    return await fs.readFile(file);
  }

  /** The local path of a `file://` URI inside the store. */
  localPath(uri: string): string {
    let file: string;
    try {
      file = path.resolve(fileURLToPath(uri));
    } catch {
      throw new RegistryError('unsupported_uri', `not a file:// URI: ${uri}`, 'artifactUri');
    }
    const [, sha, extension] = STORED_NAME.exec(path.basename(file)) ?? [];
    if (!sha || file !== this.pathFor(sha, extension as ArtifactExtension)) throw new RegistryError('unsupported_uri', `not an artifact of this store: ${uri}`, 'artifactUri');
    return file;
  }
}

export async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}
