// onShutdown as a real process receives signals: a stop runs once and to its end, however many
// SIGINT/SIGTERM arrive meanwhile (supervisors often signal a process twice, e.g. a process-group
// kill plus a parent's own), and the process then exits 0.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../../src/config.js';

const script = `
import { onShutdown } from ${JSON.stringify(path.join(projectRoot, 'src/shared/lifecycle.ts'))};
let stops = 0;
onShutdown(async () => {
  stops++;
  process.stdout.write('stopping\\n');
  await new Promise((r) => setTimeout(r, 400));
  process.stdout.write('stopped ' + stops + '\\n');
});
process.stdout.write('ready\\n');
setInterval(() => undefined, 1000);
`;

describe('onShutdown', () => {
  it('finishes the stop it began when a second and third signal arrive during it, and exits 0', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { out += c.toString(); });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const waitFor = async (text: string) => { while (!out.includes(text)) await new Promise((r) => setTimeout(r, 10)); };
    await waitFor('ready');
    child.kill('SIGTERM');
    await waitFor('stopping');
    child.kill('SIGTERM');
    child.kill('SIGINT');
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(out).toContain('stopped 1');
  }, 30_000);
});
