// sluice rollout …, sluice traffic, sluice report: starting, steering and reading rollouts.
import type { Command } from 'commander';
import type { ApiClient } from './api-client.js';
import { CliError, EXIT_CODES } from './api-client.js';
import { action, formatWeights, globals, printFields, printJson, printTable, usage } from './output.js';
import { client, readJsonFile } from './registry-commands.js';

interface RolloutState {
  phase: string; step: { name: string; index: number; of: number } | null; paused: boolean;
  waitingFor: { kind: string; gate: string; deadline: string } | null; generation: number | null;
  weights: Record<string, number>; latestStatistics: Record<string, unknown> | null;
  decisions: Array<{ seq: number; at: string; phase: string; step: string; verdict: string; reason: string }>;
  outcome: { status: string; reason: string } | null;
}
interface RolloutOut {
  id: string; workflowId: string; model: string; candidateVersion: string; baselineVersion: string | null; status: string; phase: string;
  outcomeReason: string | null; startedBy: string; startedAt: string; endedAt: string | null; temporalUiUrl: string | null;
  state?: RolloutState | null; stateError?: string | null; runId?: string;
}
interface ConfidencePoint { look: number; at: string; decision: string; estimate: number | null; lower: number | null; upper: number | null; pValue: number | null }
interface Report {
  rolloutId: string; model: string; looks: number; arms: unknown; confidenceSequence: ConfidencePoint[]; srm: unknown; guardrails: unknown; decision: unknown;
  experiment: { id: string; kind: string; primaryMetric: string; status: string; arms: unknown };
}

const ROLLOUT_ID = /^ro_[0-9a-f]{32}$/;

/** A rollout id, or a model name meaning that model's latest rollout. */
export async function resolveRollout(api: ApiClient, ref: string): Promise<string> {
  if (ROLLOUT_ID.test(ref)) return ref;
  const out = await api.request<{ rollouts: RolloutOut[] }>('GET', '/v1/rollouts', { query: { model: ref, limit: 1 } });
  const latest = out.rollouts[0];
  if (!latest) throw new CliError(`model ${ref} has no rollouts (or no such model in your project)`);
  return latest.id;
}

const num = (x: number | null | undefined, digits = 4) => (x === null || x === undefined ? '-' : (x >= 0 ? '+' : '') + x.toFixed(digits));

function lookLine(p: ConfidencePoint | undefined): string {
  if (!p) return '';
  return `look ${p.look}: effect ${num(p.estimate)} [${num(p.lower)}, ${num(p.upper)}]${p.pValue !== null ? ` p=${p.pValue.toFixed(4)}` : ''} → ${p.decision}`;
}

function progressLine(r: RolloutOut, look: ConfidencePoint | undefined): string {
  const s = r.state;
  const parts = [`${r.status === 'running' ? (s?.phase ?? r.phase) : r.status}`];
  if (s?.step) parts.push(`step ${s.step.name} ${s.step.index}/${s.step.of}`);
  if (s) parts.push(`weights ${formatWeights(s.weights)}${s.generation !== null ? ` (gen ${s.generation})` : ''}`);
  if (s?.paused) parts.push('PAUSED');
  if (s?.waitingFor) parts.push(`waiting for ${s.waitingFor.kind}: ${s.waitingFor.gate} (until ${s.waitingFor.deadline})`);
  if (look) parts.push(lookLine(look));
  if (r.stateError) parts.push(`(state: ${r.stateError})`);
  return parts.join(' | ');
}

function printRollout(r: RolloutOut): void {
  printFields([
    ['rollout', r.id], ['model', r.model], ['candidate', r.candidateVersion], ['baseline', r.baselineVersion], ['status', r.status],
    ['phase', r.state?.phase ?? r.phase], ['step', r.state?.step ? `${r.state.step.name} ${r.state.step.index}/${r.state.step.of}` : null],
    ['weights', r.state ? formatWeights(r.state.weights) : null], ['paused', r.state ? r.state.paused : null],
    ['waiting for', r.state?.waitingFor ? `${r.state.waitingFor.kind}: ${r.state.waitingFor.gate}` : null],
    ['outcome', r.state?.outcome ? `${r.state.outcome.status}: ${r.state.outcome.reason}` : r.outcomeReason],
    ['started', `${r.startedAt} by ${r.startedBy}`], ['ended', r.endedAt], ['workflow', r.workflowId], ['temporal ui', r.temporalUiUrl],
  ]);
  const decisions = r.state?.decisions ?? [];
  if (decisions.length > 0) {
    console.log('\nrecent decisions:');
    for (const d of decisions.slice(-8)) console.log(`  ${d.at}  ${d.phase}/${d.step}  ${d.verdict}  ${d.reason}`);
  }
}

async function latestLook(api: ApiClient, id: string): Promise<ConfidencePoint | undefined> {
  try {
    const report = await api.request<Report>('GET', `/v1/rollouts/${id}/report`);
    return report.confidenceSequence[report.confidenceSequence.length - 1];
  } catch (err) {
    if (err instanceof CliError && (err.body as { status?: number } | undefined)?.status === 404) return undefined;
    throw err;
  }
}

/**
 * Polls the rollout until it ends, printing a line whenever its phase, step, weights or latest
 * look change. Exit code: 0 when the candidate was promoted, 1 for any other outcome.
 */
export async function watchRollout(api: ApiClient, id: string, opts: { intervalMs: number; json: boolean }): Promise<number> {
  let last = '';
  let failures = 0;
  for (;;) {
    let r: RolloutOut;
    let look: ConfidencePoint | undefined;
    try {
      r = await api.request<RolloutOut>('GET', `/v1/rollouts/${id}`);
      look = (r.state?.phase ?? r.phase) === 'experiment' || r.status !== 'running' ? await latestLook(api, id) : undefined;
      failures = 0;
    } catch (err) {
      // A restarting API is not the end of a rollout: retry a while before giving up.
      if (!(err instanceof CliError) || err.body !== undefined || ++failures > 10) throw err;
      await new Promise((resolve) => setTimeout(resolve, opts.intervalMs));
      continue;
    }
    const line = progressLine(r, look);
    if (line !== last) {
      last = line;
      if (opts.json) process.stdout.write(JSON.stringify({ at: new Date().toISOString(), rollout: r.id, status: r.status, phase: r.state?.phase ?? r.phase, step: r.state?.step ?? null, weights: r.state?.weights ?? null, paused: r.state?.paused ?? null, look: look ?? null }) + '\n');
      else console.log(`${new Date().toISOString().slice(11, 19)}  ${line}`);
    }
    if (r.status !== 'running') {
      const outcome = { rollout: r.id, outcome: r.status, reason: r.outcomeReason };
      if (opts.json) process.stdout.write(JSON.stringify(outcome) + '\n');
      else console.log(`\noutcome: ${r.status}${r.outcomeReason ? ` — ${r.outcomeReason}` : ''}`);
      return r.status === 'promoted' ? EXIT_CODES.ok : EXIT_CODES.refused;
    }
    await new Promise((resolve) => setTimeout(resolve, opts.intervalMs));
  }
}

function parseInterval(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || n > 3600) throw usage(`--interval ${v} must be seconds between 0 and 3600`);
  return Math.round(n * 1000);
}

export function registerRolloutCommands(program: Command): void {
  const rollout = program.command('rollout').description('Start, watch and steer rollouts');

  rollout.command('start <model> <version>')
    .description('Start a rollout of a version (its lifecycle workflow); prints the workflow id and its Temporal UI link')
    .option('--policy <file>', 'rollout policy JSON (- for stdin); defaults fill what is missing')
    .option('--watch', 'then watch it to the end (exit 0 only when promoted)')
    .option('--interval <seconds>', 'how often --watch polls', '2')
    .action(action(async (model: string, version: string, opts: { policy?: string; watch?: boolean; interval: string }, cmd: Command) => {
      const api = client(cmd);
      const json = Boolean(globals(cmd).json);
      const intervalMs = parseInterval(opts.interval);
      const policy = opts.policy ? await readJsonFile(opts.policy, '--policy') : undefined;
      const out = await api.request<RolloutOut>('POST', '/v1/rollouts', { body: { model, version, ...(policy !== undefined ? { policy } : {}) } });
      if (json) process.stdout.write(JSON.stringify(out) + '\n');
      else {
        console.log(`started rollout ${out.id}: ${out.model} ${out.baselineVersion ?? '(none)'} → ${out.candidateVersion}`);
        console.log(`  workflow     ${out.workflowId} (run ${out.runId})`);
        if (out.temporalUiUrl) console.log(`  temporal ui  ${out.temporalUiUrl}`);
      }
      if (opts.watch) return await watchRollout(api, out.id, { intervalMs, json });
    }));

  rollout.command('status <rollout>')
    .description('Show a rollout (id, or a model name for its latest rollout) with its live state')
    .action(action(async (ref: string, _opts: unknown, cmd: Command) => {
      const api = client(cmd);
      const out = await api.request<RolloutOut>('GET', `/v1/rollouts/${await resolveRollout(api, ref)}`);
      if (globals(cmd).json) return printJson(out);
      printRollout(out);
    }));

  rollout.command('list')
    .description('List rollouts, newest first')
    .option('--model <model>', 'only this model\'s')
    .option('--status <status>', 'running, promoted, rolled_back, rejected, aborted, kept_baseline or failed')
    .option('--phase <phase>', 'only rollouts in this phase')
    .option('--limit <n>', 'at most this many', '20')
    .action(action(async (opts: { model?: string; status?: string; phase?: string; limit: string }, cmd: Command) => {
      const out = await client(cmd).request<{ rollouts: RolloutOut[] }>('GET', '/v1/rollouts', { query: { model: opts.model, status: opts.status, phase: opts.phase, limit: opts.limit } });
      if (globals(cmd).json) return printJson(out);
      printTable(out.rollouts, [['id', (r) => r.id], ['model', (r) => r.model], ['candidate', (r) => r.candidateVersion], ['baseline', (r) => r.baselineVersion], ['status', (r) => r.status], ['phase', (r) => r.phase], ['started', (r) => r.startedAt]]);
    }));

  rollout.command('watch <rollout>')
    .description('Follow a rollout live (phase, step, weights, latest look) until it ends; exit 0 only when promoted')
    .option('--interval <seconds>', 'how often to poll', '2')
    .action(action(async (ref: string, opts: { interval: string }, cmd: Command) => {
      const api = client(cmd);
      return await watchRollout(api, await resolveRollout(api, ref), { intervalMs: parseInterval(opts.interval), json: Boolean(globals(cmd).json) });
    }));

  const steer: Array<{ name: 'pause' | 'resume' | 'abort' | 'approve'; help: string }> = [
    { name: 'pause', help: 'Pause a rollout where it stands' },
    { name: 'resume', help: 'Resume a paused rollout' },
    { name: 'abort', help: 'Abort a rollout: traffic goes back to the baseline' },
    { name: 'approve', help: 'Approve the step a rollout waits on (approver role)' },
  ];
  for (const { name, help } of steer) {
    rollout.command(`${name} <rollout>`)
      .description(help)
      .option('--reason <text>', 'why, for the audit log and the workflow history')
      .action(action(async (ref: string, opts: { reason?: string }, cmd: Command) => {
        const api = client(cmd);
        const id = await resolveRollout(api, ref);
        const state = await api.request<RolloutState>('POST', `/v1/rollouts/${id}/${name}`, { body: opts.reason ? { reason: opts.reason } : {} });
        if (globals(cmd).json) return printJson(state);
        console.log(`${name}: ok — ${state.phase}${state.paused ? ' (paused)' : ''}, weights ${formatWeights(state.weights)}${state.outcome ? `, outcome ${state.outcome.status}` : ''}`);
      }));
  }

  rollout.command('weights <rollout> <weights...>')
    .description('Override a running rollout\'s weights (admin), e.g. sluice rollout weights credit-risk 1=0.9 2=0.1')
    .option('--reason <text>', 'why, for the audit log')
    .action(action(async (ref: string, pairs: string[], opts: { reason?: string }, cmd: Command) => {
      const weights: Record<string, number> = {};
      for (const pair of pairs) {
        const m = /^([^=]+)=([0-9.]+)(%?)$/.exec(pair);
        if (!m) throw usage(`weight ${pair} is not version=share (e.g. v2=0.1 or v2=10%)`);
        weights[m[1] as string] = Number(m[2]) / (m[3] ? 100 : 1);
      }
      const api = client(cmd);
      const id = await resolveRollout(api, ref);
      const state = await api.request<RolloutState>('PUT', `/v1/rollouts/${id}/weights`, { body: { weights, ...(opts.reason ? { reason: opts.reason } : {}) } });
      if (globals(cmd).json) return printJson(state);
      console.log(`weights now ${formatWeights(state.weights)} (generation ${state.generation ?? '-'})`);
    }));

  rollout.command('history <rollout>')
    .description('The recorded steps of a rollout and its experiment looks')
    .action(action(async (ref: string, _opts: unknown, cmd: Command) => {
      const api = client(cmd);
      const out = await api.request<{ steps: Array<{ seq: number; at: string; phase: string; step: string; verdict: string; reason: string }>; experiments: Array<{ id: string; looks: unknown[] }> }>('GET', `/v1/rollouts/${await resolveRollout(api, ref)}/history`);
      if (globals(cmd).json) return printJson(out);
      printTable(out.steps, [['seq', (s) => s.seq], ['at', (s) => s.at], ['phase', (s) => s.phase], ['step', (s) => s.step], ['verdict', (s) => s.verdict], ['reason', (s) => s.reason]]);
      for (const e of out.experiments) console.log(`\nexperiment ${e.id}: ${e.looks.length} looks (sluice report ${ref} for the statistics)`);
    }));

  program.command('traffic <model>')
    .description('The traffic generation serving a model now (weights), or its history')
    .option('--history', 'list past generations')
    .option('--limit <n>', 'with --history, at most this many', '20')
    .action(action(async (model: string, opts: { history?: boolean; limit: string }, cmd: Command) => {
      const api = client(cmd);
      type Gen = { generation: number; weights: Record<string, number>; reason: string; createdBy: string; createdAt: string; spec: Record<string, unknown> };
      if (opts.history) {
        const out = await api.request<{ generations: Gen[] }>('GET', `/v1/models/${encodeURIComponent(model)}/traffic/history`, { query: { limit: opts.limit } });
        if (globals(cmd).json) return printJson(out);
        printTable(out.generations, [['gen', (g) => g.generation], ['weights', (g) => formatWeights(g.weights)], ['reason', (g) => g.reason], ['by', (g) => g.createdBy], ['at', (g) => g.createdAt]]);
        return;
      }
      type Fleet = { liveWorkers: number; serving: number; workers: Array<{ worker: string; address: string; device: string; status: string; heartbeatAt: string; generation: number | null; versions: Array<{ version: string; state: string }> }> };
      const out = await api.request<{ model: string; current: Gen | null; fleet: Fleet }>('GET', `/v1/models/${encodeURIComponent(model)}/traffic`);
      if (globals(cmd).json) return printJson(out);
      if (!out.current) console.log(`${model}: no traffic generation yet`);
      else printFields([['model', out.model], ['generation', out.current.generation], ['weights', formatWeights(out.current.weights)], ['spec', Object.keys(out.current.spec).length ? out.current.spec : null], ['reason', out.current.reason], ['since', `${out.current.createdAt} by ${out.current.createdBy}`]]);
      // Which live workers serve it, as of their last heartbeats.
      console.log(`\nserved by ${out.fleet.serving} of ${out.fleet.liveWorkers} live workers${out.current ? ` at generation ${out.current.generation} or newer` : ''}`);
      if (out.fleet.workers.length > 0) {
        printTable(out.fleet.workers, [['worker', (w) => w.worker], ['status', (w) => w.status], ['device', (w) => w.device], ['generation', (w) => w.generation ?? '-'], ['versions', (w) => w.versions.map((v) => `${v.version} (${v.state})`).join(', ')], ['address', (w) => w.address]]);
      }
    }));

  program.command('report <rollout>')
    .description('The A/B test report of a rollout: per-arm statistics, the confidence sequence, SRM, guardrails, decision')
    .action(action(async (ref: string, _opts: unknown, cmd: Command) => {
      const api = client(cmd);
      const out = await api.request<Report>('GET', `/v1/rollouts/${await resolveRollout(api, ref)}/report`);
      if (globals(cmd).json) return printJson(out);
      console.log(`experiment ${out.experiment.id} (${out.experiment.kind}, primary metric ${out.experiment.primaryMetric}, ${out.experiment.status}) — ${out.looks} looks\n`);
      if (out.arms && typeof out.arms === 'object') {
        const arms = Object.entries(out.arms as Record<string, Record<string, unknown>>);
        const keys = [...new Set(arms.flatMap(([, s]) => (s && typeof s === 'object' ? Object.keys(s) : [])))].slice(0, 6);
        printTable(arms, [['arm', ([a]) => a], ...keys.map((k): [string, (row: [string, Record<string, unknown>]) => unknown] => [k, ([, s]) => (s && typeof s === 'object' ? s[k] : null)])]);
        console.log('');
      }
      printTable(out.confidenceSequence, [['look', (p) => p.look], ['at', (p) => p.at], ['effect', (p) => num(p.estimate)], ['lower', (p) => num(p.lower)], ['upper', (p) => num(p.upper)], ['p', (p) => (p.pValue === null ? '-' : p.pValue.toFixed(4))], ['decision', (p) => p.decision]]);
      console.log('');
      printFields([['srm', out.srm], ['guardrails', out.guardrails], ['decision', out.decision]]);
    }));
}
