// The command trainer on its own: a real child process (Node, so no Python), its stderr bounded,
// its params and heartbeats.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { inferContract } from '../../../src/contracts/index.js';
import { STDERR_TAIL_BYTES, TrainerError, trainerFor, type TrainingJob } from '../../../src/loop/trainers/index.js';
import { fixtureSignature } from '../../support/seed.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-command-trainer-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function job(beats: unknown[]): TrainingJob {
  const inferred = inferContract(fixtureSignature());
  if (!inferred.ok) throw new Error(inferred.message);
  const file = (name: string) => path.join(tmp, name);
  fs.writeFileSync(file('train.csv'), 'a,label\n1,0\n');
  fs.writeFileSync(file('holdout.csv'), 'a,label\n2,1\n');
  return {
    retrainId: 'rt_test', model: 'm', contract: inferred.contract, trainFile: file('train.csv'), holdoutFile: file('holdout.csv'), outFile: file('out.onnx'),
    data: { train: { uri: 'file:///train', sha256: 'a'.repeat(64) }, holdout: { uri: 'file:///holdout', sha256: 'b'.repeat(64) } },
    params: {}, readTrainingSet: () => Promise.reject(new Error('not for command trainers')),
    heartbeat: (d) => beats.push(d), signal: new AbortController().signal,
  };
}

function script(name: string, body: string): string[] {
  const file = path.join(tmp, `${name}.mjs`);
  fs.writeFileSync(file, body);
  return [process.execPath, file];
}

describe('command trainer', () => {
  it('keeps only the last 64 KiB of a long stderr in the reason', async () => {
    const argv = script('noisy', "process.stderr.write('x'.repeat(200 * 1024)); process.stderr.write('\\nTHE END\\n', () => process.exit(2));\n");
    const trainer = trainerFor({ kind: 'command', argv, timeoutSeconds: 60, params: {} });
    const err = await trainer.train(job([])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrainerError);
    const message = (err as Error).message;
    expect(message).toMatch(/exited with code 2; its stderr ends:\nx+\nTHE END$/);
    expect(message.length).toBeLessThan(STDERR_TAIL_BYTES + 500);
    expect(message.length).toBeGreaterThan(STDERR_TAIL_BYTES - 100);
  });

  it('passes its params as --params and in the environment, and heartbeats while it runs', async () => {
    const argv = script('params', `const arg = (n) => process.argv[process.argv.indexOf('--' + n) + 1];
import fs from 'node:fs';
// It finishes once Sluice has heartbeated (the test's heartbeat leaves a file).
const timer = setInterval(() => {
  if (!fs.existsSync(${JSON.stringify(path.join(tmp, 'beaten'))})) return;
  clearInterval(timer);
  fs.writeFileSync(arg('out'), JSON.stringify({ flag: JSON.parse(arg('params')), env: process.env.SLUICE_TRAINER_PARAMS, train: arg('train') }));
}, 50);
`);
    const beats: unknown[] = [];
    const j = { ...job(beats), heartbeat: (d: Record<string, unknown>) => { beats.push(d); fs.writeFileSync(path.join(tmp, 'beaten'), ''); } };
    await trainerFor({ kind: 'command', argv, timeoutSeconds: 60, params: { lr: 0.1 } }).train(j);
    expect(JSON.parse(fs.readFileSync(j.outFile, 'utf8'))).toEqual({ flag: { lr: 0.1 }, env: '{"lr":0.1}', train: j.trainFile });
    expect(beats.length).toBeGreaterThanOrEqual(1);
    expect(beats[0]).toMatchObject({ trainer: process.execPath, pid: expect.any(Number) });
  });

  it('stops and kills the trainer when the retrain is cancelled', async () => {
    const argv = script('forever', "setTimeout(() => {}, 600000);\n");
    const controller = new AbortController();
    const running = trainerFor({ kind: 'command', argv, timeoutSeconds: 600, params: {} }).train({ ...job([]), signal: controller.signal });
    controller.abort();
    await expect(running).rejects.toThrow(/was cancelled and killed/);
  });
});
