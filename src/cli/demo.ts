// `sluice demo`: the whole loop on the local stack. It starts the dev stack, registers the credit
// model's versions built by this project through the API, sends simulated users to the serving
// workers, and rolls out a new version — validate, prewarm, canary, sequential A/B test — showing
// each phase until the statistics promote it. The stack stays up afterwards for the Temporal UI.
import fs from 'node:fs';
import type { Command } from 'commander';
import type { GoldenSetBody, RolloutDetailOut, RolloutStartOut, VersionOut } from '../api/schemas.js';
import { createDb } from '../db/connect.js';
import { startDevStack, type DevStack } from '../dev/stack.js';
import { fixtureGoldenSet, fixtureModel, type FixtureModel } from '../models/fixtures.js';
import { createApiKey } from '../registry/keys.js';
import { TrafficSimulator } from '../simulator/traffic.js';
import { ApiClient, CliError } from './api-client.js';
import { printStackUrls, waitForShutdown } from './dev.js';
import { followRollout, outcomeLine, progressBoard } from './progress.js';

const MODEL = 'credit-demo';

/** Follows a rollout to its end, printing the progress board whenever it changes. */
async function waitForRollout(api: ApiClient, id: string, log: (line: string) => void): Promise<RolloutDetailOut> {
  let last = '';
  return await followRollout(api, id, {
    intervalMs: 1000,
    onProgress: (p) => {
      const line = progressBoard(p);
      if (line !== last) log(line);
      last = line;
    },
  });
}

/** Runs the demo scenario on a started stack; returns the candidate's outcome. */
export async function runDemoScenario(stack: DevStack, log: (line: string) => void = console.log): Promise<{ version: string; status: string; reason: string }> {
  const db = createDb(stack.databaseUrl, { max: 2 });
  let token: string;
  try {
    token = (await createApiKey(db, { projectId: 'default', name: `demo-${Date.now()}`, role: 'admin' })).token;
  } finally {
    await db.destroy();
  }
  const api = new ApiClient({ baseUrl: stack.urls.api, key: token });
  const golden = fixtureGoldenSet();
  const logreg = fixtureModel('logreg');
  const mlp = fixtureModel('mlp');

  log('\nDemo: rolling out a new credit-risk model version');
  try {
    await api.request('POST', '/v1/models', { body: { name: MODEL, description: 'Credit risk (demo)' } });
  } catch (err) {
    // A second run finds the model from the first.
    if (!(err instanceof CliError && (err.body as { status?: number } | undefined)?.status === 409)) throw err;
  }
  // Validation scores every candidate on the model's golden set.
  const goldenSet: GoldenSetBody = { features: golden.matrix, labels: golden.labels };
  await api.request('PUT', `/v1/models/${MODEL}/golden-set`, { body: goldenSet });

  const versions: Array<Pick<VersionOut, 'version' | 'status'>> = (await api.request<{ versions: VersionOut[] }>('GET', `/v1/models/${MODEL}/versions`)).versions;
  const upload = async (version: string, file: FixtureModel) => {
    await api.request('POST', `/v1/models/${MODEL}/versions/upload`, { query: { version, sha256: file.sha256 }, raw: fs.readFileSync(file.path) });
    log(`  registered ${MODEL}/${version} (${file.file}, sha256 ${file.sha256.slice(0, 12)}…)`);
  };
  const policyBase = { validation: { minAccuracy: 0.7, maxP99LatencyMs: 200 } };
  if (!versions.some((v) => v.status === 'production')) {
    const first = `v${versions.length + 1}`;
    await upload(first, logreg);
    const res = await api.request<RolloutStartOut>('POST', '/v1/rollouts', { body: { model: MODEL, version: first, policy: policyBase } });
    const done = await waitForRollout(api, res.id, () => undefined);
    log(`  ${first} is the model's first version: ${done.status}`);
    versions.push({ version: first, status: 'production' });
  }
  const production = versions.find((v) => v.status === 'production')?.version ?? 'v1';
  const candidate = `v${versions.length + 1}`;
  await upload(candidate, versions.length % 2 === 1 ? mlp : logreg);

  // Simulated users: the candidate's answers convert better, so the A/B test should promote it.
  const simulator = new TrafficSimulator({
    servingUrls: stack.urls.serving, model: MODEL, users: 3000, requestsPerSecond: 150, features: golden.featureNames.length, rows: golden.matrix,
    metric: 'converted', outcome: { conversionRate: { [production]: 0.1, [candidate]: 0.2 }, defaultRate: 0.1 }, seed: Date.now() % 100000,
  });
  simulator.start();
  try {
    const started = await api.request<RolloutStartOut>('POST', '/v1/rollouts', { body: {
      model: MODEL, version: candidate,
      policy: {
        ...policyBase,
        canary: { steps: [{ weight: 0.1, bakeSeconds: 4 }, { weight: 0.3, bakeSeconds: 4 }], analysisIntervalSeconds: 2, gates: { minRequests: 10, maxPredictionPsi: 0.5, maxP99LatencyRatio: 20 } },
        experiment: { primaryMetric: { name: 'converted' }, treatmentShare: 0.5, lookIntervalSeconds: 2, minSamplePerArm: 200, maxSamplePerArm: 20000, maxDurationSeconds: 300 },
      },
    } });
    log(`  rollout ${started.id}: ${production} → ${candidate}`);
    if (started.temporalUiUrl) log(`  watch it in the Temporal UI: ${started.temporalUiUrl}`);
    const done = await waitForRollout(api, started.id, log);
    const report = await simulator.stop();
    log(`\n  ${outcomeLine(done)}`);
    log(`  simulated traffic: ${report.requests} requests, ${report.errors} errors; by version: ${Object.entries(report.byVersion).map(([v, t]) => `${v} ${t.requests}`).join(', ')}`);
    return { version: candidate, status: done.status, reason: done.outcomeReason ?? '' };
  } finally {
    await simulator.stop();
  }
}

export function registerDemoCommand(program: Command): void {
  program.command('demo')
    .description('Start the dev stack and roll out a new model version with simulated users (Ctrl-C stops everything)')
    .option('--exit', 'stop the stack once the rollout ends (exit 0 only when it was promoted)')
    .action(async (opts: { exit?: boolean }) => {
      const stack = await startDevStack({ servingWorkers: 2, onProgress: (line) => console.log(`  · ${line}`) });
      const stopped = waitForShutdown(stack);
      let outcome: { status: string };
      try {
        printStackUrls(stack);
        outcome = await runDemoScenario(stack);
      } catch (err) {
        await stack.stop();
        throw err;
      }
      if (opts.exit) {
        await stack.stop();
        process.exitCode = outcome.status === 'promoted' ? 0 : 1;
        return;
      }
      console.log('\nThe stack stays up: explore the Temporal UI and the API docs. Press Ctrl-C to stop everything.');
      await stopped;
    });
}
