// sluice lineage MODEL: where every version came from (its parent and cause, the data it was
// trained on) and how far it got (validation, rollout), with the chain that leads to production.
import type { Command } from 'commander';
import type { LineageOut, LineageVersionOut } from '../api/schemas.js';
import { action, globals, printJson, printTable } from './output.js';
import { client } from './registry-commands.js';

/** The chain of parents that ends at production (or at the newest version when none serves): ['1', '2', '3']. */
export function lineageChain(out: LineageOut): string[] {
  const byVersion = new Map(out.versions.map((v) => [v.version, v]));
  let at = out.productionVersion ? byVersion.get(out.productionVersion) : out.versions[out.versions.length - 1];
  const chain: string[] = [];
  while (at && !chain.includes(at.version)) {
    chain.unshift(at.version);
    at = at.parent ? byVersion.get(at.parent) : undefined;
  }
  return chain;
}

export function describeCause(cause: LineageVersionOut['cause']): string {
  switch (cause.kind) {
    case 'registration': return `registered by ${cause.by ?? 'unknown'}`;
    case 'drift': return `drift (report ${cause.reportId}, ${(cause.shareDrifted * 100).toFixed(0)}% drifted${cause.features.length > 0 ? `: ${cause.features.slice(0, 3).join(', ')}${cause.features.length > 3 ? ', …' : ''}` : ''})`;
    case 'metric_drop': return `${cause.metric} dropped to ${cause.realised.toFixed(4)} (validated ${cause.expected.toFixed(4)})`;
    case 'manual_retrain': return `retrain by ${cause.by}`;
    default: return 'unknown (before lineage)';
  }
}

function describeWindow(v: LineageVersionOut): string | null {
  const w = v.dataWindow;
  if (!w) return null;
  // Minutes are enough to tell windows apart in a table; --json has the exact times.
  const minute = (t: string | undefined) => (t ? t.slice(0, 16).replace('T', ' ') : '?');
  const where = w.source === 'dataset' ? `dataset ${w.dataset ?? '?'}` : `log ${minute(w.from)} → ${minute(w.to)}`;
  return `${where}, ${w.rows} rows, sha256 ${w.sha256.slice(0, 8)}`;
}

function describeValidation(v: LineageVersionOut): string | null {
  const val = v.validation;
  if (!val) return null;
  const failed = val.checks.filter((c) => c.verdict === 'failed' || c.verdict === 'error').map((c) => c.name);
  return `${val.verdict} (${val.checks.length} checks${failed.length > 0 ? `; failed: ${failed.join(', ')}` : ''})`;
}

function describeRollout(v: LineageVersionOut): string | null {
  const r = v.rollout;
  if (!r) return null;
  return r.status === 'running' ? `running (${r.phase})` : `${r.status}${r.reason ? `: ${r.reason}` : ''}`;
}

export function printLineage(out: LineageOut): void {
  const chain = lineageChain(out);
  console.log(`${out.model}: ${chain.length > 0 ? chain.join(' → ') : '(no versions)'}${out.productionVersion ? ` (production: ${out.productionVersion})` : ''}\n`);
  printTable(out.versions, [
    ['version', (v) => v.version], ['status', (v) => v.status], ['parent', (v) => v.parent], ['cause', (v) => describeCause(v.cause)],
    ['data window', describeWindow], ['trainer', (v) => (v.trainer ? `${v.trainer.kind} ${v.trainer.name}` : null)],
    ['retrain', (v) => (v.retrain ? `${v.retrain.id} ${v.retrain.status}` : null)], ['validation', describeValidation], ['rollout', describeRollout],
  ]);
  if (out.retrains.length > 0) {
    console.log('\nretrains (newest first):');
    printTable(out.retrains, [
      ['retrain', (r) => r.id], ['status', (r) => r.status], ['started', (r) => r.startedAt], ['cause', (r) => describeCause(r.cause)],
      ['parent', (r) => r.parentVersion], ['produced', (r) => r.producedVersion], ['reason', (r) => r.reason],
    ]);
  }
}

export function registerLineageCommand(program: Command): void {
  program.command('lineage <model>')
    .description('Show where every version of a model came from (parent, cause, data window) and how far it got (validation, rollout)')
    .action(action(async (model: string, _opts: unknown, cmd: Command) => {
      const out = await client(cmd).request<LineageOut>('GET', `/v1/models/${encodeURIComponent(model)}/lineage`);
      if (globals(cmd).json) return printJson(out);
      printLineage(out);
    }));
}
