/**
 * Writing model artifacts to disk: the one place the exporters' bytes meet the file system.
 */
import { createHash } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface WrittenModelFile {
  readonly path: string;
  readonly sha256: string;
  readonly sizeBytes: number;
}

/**
 * Writes `bytes` to `path` (creating its directory) and returns their sha256. The bytes go to a
 * temporary file that is then renamed, so a reader never sees a half-written model.
 */
export async function writeModelFile(path: string, bytes: Uint8Array): Promise<WrittenModelFile> {
  const directory = dirname(path);
  await mkdir(directory, { recursive: true });
  const temporary = join(directory, `.${basename(path)}.${process.pid}.tmp`);
  try {
    await writeFile(temporary, bytes);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  return { path, sha256: createHash('sha256').update(bytes).digest('hex'), sizeBytes: bytes.length };
}
