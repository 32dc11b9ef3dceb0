// sluice rollout …, sluice traffic, sluice report: starting, steering and reading rollouts.
import type { Command } from 'commander';
import type {
  ExperimentReportOut, GenerationOut, HistoryOut, ModelFleetOut, RolloutDetailOut, RolloutOut, RolloutStartOut, RolloutStateOut,
} from '../api/schemas.js';
import { formatPValue } from '../api/services/report.js';
import type { ApiClient } from './api-client.js';
import { CliError, EXIT_CODES } from './api-client.js';
import { action, formatSigned, formatWeights, globals, printFields, printJson, printTable, usage } from './output.js';
import { followRollout, outcomeLine, progressLine } from './progress.js';
import { client, readJsonFile } from './registry-commands.js';

const ROLLOUT_ID = /^ro_[0-9a-f]{32}$/;

/** A rollout id, or a model name meaning that model's latest rollout. */
export async function resolveRollout(api: ApiClient, ref: string): Promise<string> {
  if (ROLLOUT_ID.test(ref)) return ref;
  const out = await api.request<{ rollouts: RolloutOut[] }>('GET', '/v1/rollouts', { query: { model: ref, limit: 1 } });
  const latest = out.rollouts[0];
  if (!latest) throw new CliError(`model ${ref} has no rollouts (or no such model in your project)`);
  return latest.id;
}

function printRollout(r: RolloutDetailOut): void {
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

/**
 * Follows the rollout until it ends, printing a line whenever its phase, step, weights or latest
 * look change. Exit code: 0 when the candidate was promoted, 1 for any other outcome.
 */
export async function watchRollout(api: ApiClient, id: string, opts: { intervalMs: number; json: boolean }): Promise<number> {
  let last = '';
  const r = await followRollout(api, id, {
    intervalMs: opts.intervalMs,
    onProgress: (p) => {
      const line = progressLine(p);
      if (line === last) return;
      last = line;
      if (opts.json) process.stdout.write(JSON.stringify({ at: new Date().toISOString(), rollout: p.rollout, status: p.status, phase: p.phase, step: p.step, weights: p.weights, paused: p.paused, look: p.look }) + '\n');
      else console.log(`${new Date().toISOString().slice(11, 19)}  ${line}`);
    },
  });
  if (opts.json) process.stdout.write(JSON.stringify({ rollout: r.id, outcome: r.status, reason: r.outcomeReason }) + '\n');
  else console.log(`\n${outcomeLine(r)}`);
  return r.status === 'promoted' ? EXIT_CODES.ok : EXIT_CODES.refused;
}

/** The report as tables of numbers and sentences: per arm, the effect, the looks, SRM, guardrails, decision. */
export function printReport(out: ExperimentReportOut): void {
  const s = out.summary;
  console.log(`experiment ${out.experiment.id} (${out.experiment.kind}, primary metric ${out.experiment.primaryMetric}, ${out.experiment.status}) — ${out.looks} looks\n`);
  const meanHeader = s.metricType === 'binary' ? 'rate' : 'mean';
  printTable(s.arms, [['arm', (a) => a.arm], ['version', (a) => a.version], ['units', (a) => a.units], ['n', (a) => a.n], [meanHeader, (a) => (a.mean === null ? null : a.mean.toFixed(4))]]);
  const e = s.effect;
  const level = e.level !== null ? `${(e.level * 100).toFixed(0)}% ` : '';
  console.log(`\neffect (treatment − control): ${formatSigned(e.estimate)}, always-valid ${level}interval [${formatSigned(e.lower)}, ${formatSigned(e.upper)}], p = ${e.pValue === null ? '-' : formatPValue(e.pValue)}${e.look !== null ? ` (look ${e.look})` : ''}\n`);
  printTable(out.confidenceSequence, [['look', (p) => p.look], ['at', (p) => p.at], ['effect', (p) => formatSigned(p.estimate)], ['lower', (p) => formatSigned(p.lower)], ['upper', (p) => formatSigned(p.upper)], ['p', (p) => (p.pValue === null ? '-' : formatPValue(p.pValue))], ['decision', (p) => p.decision]]);
  console.log(`\nSRM: ${s.srm.verdict}`);
  if (s.guardrails.length > 0) {
    console.log('');
    printTable(s.guardrails, [['guardrail', (g) => g.name], ['effect', (g) => formatSigned(g.effect)], ['bound', (g) => formatSigned(g.bound)], ['verdict', (g) => g.verdict]]);
  }
  const d = s.decision;
  console.log(`\ndecision: ${d.action}${d.look !== null ? ` at look ${d.look}` : ''}${d.final ? '' : ' (still running)'}${d.reason ? ` — ${d.reason}` : ''}`);
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
      const out = await api.request<RolloutStartOut>('POST', '/v1/rollouts', { body: { model, version, ...(policy !== undefined ? { policy } : {}) } });
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
      const out = await api.request<RolloutDetailOut>('GET', `/v1/rollouts/${await resolveRollout(api, ref)}`);
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
        const state = await api.request<RolloutStateOut>('POST', `/v1/rollouts/${id}/${name}`, { body: opts.reason ? { reason: opts.reason } : {} });
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
      const state = await api.request<RolloutStateOut>('PUT', `/v1/rollouts/${id}/weights`, { body: { weights, ...(opts.reason ? { reason: opts.reason } : {}) } });
      if (globals(cmd).json) return printJson(state);
      console.log(`weights now ${formatWeights(state.weights)} (generation ${state.generation ?? '-'})`);
    }));

  rollout.command('history <rollout>')
    .description('The recorded steps of a rollout and its experiment looks')
    .action(action(async (ref: string, _opts: unknown, cmd: Command) => {
      const api = client(cmd);
      const out = await api.request<HistoryOut>('GET', `/v1/rollouts/${await resolveRollout(api, ref)}/history`);
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
      if (opts.history) {
        const out = await api.request<{ generations: GenerationOut[] }>('GET', `/v1/models/${encodeURIComponent(model)}/traffic/history`, { query: { limit: opts.limit } });
        if (globals(cmd).json) return printJson(out);
        printTable(out.generations, [['gen', (g) => g.generation], ['weights', (g) => formatWeights(g.weights)], ['reason', (g) => g.reason], ['by', (g) => g.createdBy], ['at', (g) => g.createdAt]]);
        return;
      }
      const out = await api.request<{ model: string; current: GenerationOut | null; fleet: ModelFleetOut }>('GET', `/v1/models/${encodeURIComponent(model)}/traffic`);
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
      const out = await api.request<ExperimentReportOut>('GET', `/v1/rollouts/${await resolveRollout(api, ref)}/report`);
      if (globals(cmd).json) return printJson(out);
      printReport(out);
    }));
}
