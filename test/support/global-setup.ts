// One real PostgreSQL and one real Temporal dev server for the whole integration run. Test files
// get their own database (createTestDatabase) and task queues, so they cannot see each other.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../../src/dev/postgres.js';
import { ensureTemporalCli, startTemporalDevServer, type TemporalDevServer } from '../../src/dev/temporal.js';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    temporalAddress: string;
    temporalCli: string;
  }
}

export default async function setup(project: TestProject) {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'sluice-test-'));
  await fs.chmod(root, 0o755);
  let postgres: EmbeddedPostgresHandle | undefined;
  let temporal: TemporalDevServer | undefined;

  const cli = await ensureTemporalCli();
  const databaseUrl = process.env.DATABASE_URL ?? (postgres = await startEmbeddedPostgres({
    dataDir: path.join(root, 'pg'), port: 0, // any free port, another if it is taken before use
  })).url;
  const temporalAddress = process.env.TEMPORAL_ADDRESS ?? (temporal = await startTemporalDevServer({
    cli, dbFile: path.join(root, 'temporal.db'), port: 0, uiPort: 0,
  })).address;

  project.provide('databaseUrl', databaseUrl);
  project.provide('temporalAddress', temporalAddress);
  project.provide('temporalCli', cli);

  return async () => {
    await temporal?.stop();
    await postgres?.stop();
    await fs.rm(root, { recursive: true, force: true });
  };
}
