// sluice keys …, sluice audit, sluice whoami, sluice replay.
import type { Command } from 'commander';
import type { AuditOut, KeyCreatedOut, KeyOut, ReplayOut } from '../api/schemas.js';
import { createDb } from '../db/connect.js';
import { recordAudit } from '../registry/audit.js';
import { createApiKey, isRole, ROLES } from '../registry/keys.js';
import { ensureProject } from '../registry/projects.js';
import { RegistryError } from '../registry/errors.js';
import { CliError } from './api-client.js';
import { action, globals, printFields, printJson, printTable, usage } from './output.js';
import { client } from './registry-commands.js';
import { resolveRollout } from './rollout-commands.js';


function parseTime(value: string, flag: string): string {
  const relative = /^(\d+)([smhd])$/.exec(value);
  if (relative) {
    const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[relative[2] as 's' | 'm' | 'h' | 'd'];
    return new Date(Date.now() - Number(relative[1]) * unit).toISOString();
  }
  if (value === 'now') return new Date().toISOString();
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw usage(`${flag} ${value} is not a time (ISO 8601, "now", or an age such as 30m, 2h, 1d)`);
  return new Date(t).toISOString();
}

export function registerAdminCommands(program: Command): void {
  const keys = program.command('keys').description('API keys: create (shown once), list, disable');
  keys.command('create')
    .description('Create an API key. With --database-url or DATABASE_URL it writes to the database directly (bootstrap); otherwise it asks the API with an admin key')
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`)
    .option('--name <name>', 'what the key is for', 'cli')
    .option('--project <id>', 'the project (tenant) the key belongs to; database mode only (the API uses your key\'s project)', 'default')
    .option('--database-url <url>', 'PostgreSQL URL (default DATABASE_URL)')
    .action(action(async (opts: { role: string; name: string; project: string; databaseUrl?: string }, cmd: Command) => {
      if (!isRole(opts.role)) throw usage(`--role ${opts.role} is not one of ${ROLES.join(', ')}`);
      const json = globals(cmd).json;
      const databaseUrl = opts.databaseUrl ?? process.env.DATABASE_URL;
      let out: KeyCreatedOut;
      if (databaseUrl) {
        const db = createDb(databaseUrl, { max: 1 });
        try {
          out = await db.transaction().execute(async (trx) => {
            await ensureProject(trx, opts.project);
            const { key, token } = await createApiKey(trx, { projectId: opts.project, name: opts.name, role: opts.role as never });
            await recordAudit(trx, { projectId: opts.project, actor: 'system:cli', action: 'key.create', targetType: 'api_key', targetId: key.id, after: { id: key.id, name: key.name, role: key.role } });
            return { id: key.id, project: key.project_id, name: key.name, role: key.role, createdAt: key.created_at.toISOString(), disabledAt: null, lastUsedAt: null, token };
          });
        } catch (err) {
          if (err instanceof RegistryError) throw usage(err.message);
          throw new CliError(`cannot create the key in the database: ${(err as Error).message}`);
        } finally {
          await db.destroy();
        }
      } else {
        if (opts.project !== 'default') throw usage('--project needs --database-url: through the API a key is made in your own key\'s project');
        out = await client(cmd).request<KeyCreatedOut>('POST', '/v1/keys', { body: { name: opts.name, role: opts.role } });
      }
      if (json) return printJson(out);
      console.log(`created ${out.role} key ${out.id} (${out.name}) in project ${out.project}`);
      console.log('The key is shown this once; only its hash is stored:');
      console.log(`  ${out.token}`);
    }));
  keys.command('list')
    .description('List your project\'s keys (admin)')
    .action(action(async (_opts: unknown, cmd: Command) => {
      const out = await client(cmd).request<{ keys: KeyOut[] }>('GET', '/v1/keys');
      if (globals(cmd).json) return printJson(out);
      printTable(out.keys, [['id', (k) => k.id], ['name', (k) => k.name], ['role', (k) => k.role], ['created', (k) => k.createdAt], ['last used', (k) => k.lastUsedAt], ['disabled', (k) => k.disabledAt]]);
    }));
  keys.command('disable <id>')
    .description('Disable a key; it fails from its next request on (admin)')
    .option('--reason <text>', 'why, for the audit log')
    .action(action(async (id: string, opts: { reason?: string }, cmd: Command) => {
      const out = await client(cmd).request<KeyOut>('POST', `/v1/keys/${encodeURIComponent(id)}/disable`, { body: opts.reason ? { reason: opts.reason } : {} });
      if (globals(cmd).json) return printJson(out);
      console.log(`disabled key ${out.id} (${out.name}) at ${out.disabledAt}`);
    }));

  program.command('whoami')
    .description('The key in SLUICE_API_KEY: its project and role')
    .action(action(async (_opts: unknown, cmd: Command) => {
      const out = await client(cmd).request<{ keyId: string; project: string; role: string; name: string }>('GET', '/v1/whoami');
      if (globals(cmd).json) return printJson(out);
      printFields([['key', out.keyId], ['name', out.name], ['project', out.project], ['role', out.role], ['api', client(cmd).baseUrl]]);
    }));

  program.command('audit')
    .description('Your project\'s audit log, newest first')
    .option('--target-type <type>', 'model, version, rollout or api_key')
    .option('--target-id <id>', 'e.g. a rollout id or model/version')
    .option('--action <action>', 'e.g. rollout.start')
    .option('--limit <n>', 'at most this many', '50')
    .action(action(async (opts: { targetType?: string; targetId?: string; action?: string; limit: string }, cmd: Command) => {
      const out = await client(cmd).request<{ entries: AuditOut[] }>('GET', '/v1/audit', { query: { targetType: opts.targetType, targetId: opts.targetId, action: opts.action, limit: opts.limit } });
      if (globals(cmd).json) return printJson(out);
      printTable(out.entries, [['at', (e) => e.at], ['actor', (e) => e.actor], ['action', (e) => e.action], ['target', (e) => `${e.targetType}:${e.targetId}`], ['request', (e) => e.requestId]]);
    }));

  program.command('replay')
    .description('Re-run logged requests against a version (in the API process, with ONNX Runtime) and report how outputs differ')
    .option('--rollout <id>', 'the requests logged during a rollout (id, or model name for its latest); the version defaults to its candidate')
    .option('--model <model>', 'with --from/--to: the model whose log to replay')
    .option('--from <time>', 'window start: ISO 8601, or an age such as 2h')
    .option('--to <time>', 'window end: ISO 8601, "now", or an age', 'now')
    .option('--version <version>', 'the version to run (model/version also names the model)')
    .option('--tolerance <x>', 'outputs differ when an element differs by more than this', '0.00001')
    .option('--limit <n>', 'at most this many logged requests', '10000')
    .action(action(async (opts: { rollout?: string; model?: string; from?: string; to: string; version?: string; tolerance: string; limit: string }, cmd: Command) => {
      const api = client(cmd);
      let model = opts.model;
      let version = opts.version;
      if (version?.includes('/') && !model) [model, version] = version.split('/', 2) as [string, string];
      const tolerance = Number(opts.tolerance);
      const limit = Number(opts.limit);
      if (!Number.isFinite(tolerance) || tolerance < 0) throw usage(`--tolerance ${opts.tolerance} must be a number ≥ 0`);
      if (!Number.isInteger(limit) || limit < 1 || limit > 100_000) throw usage(`--limit ${opts.limit} must be an integer in 1..100000`);
      let body: Record<string, unknown>;
      if (opts.rollout) {
        if (opts.from) throw usage('give --rollout or --from/--to, not both');
        body = { rolloutId: await resolveRollout(api, opts.rollout), ...(version ? { version } : {}) };
      } else {
        if (!opts.from || !model || !version) throw usage('give --rollout <id>, or --from <time> --to <time> --version <model/version> (or --model and --version)');
        body = { model, version, from: parseTime(opts.from, '--from'), to: parseTime(opts.to, '--to') };
      }
      const out = await api.request<ReplayOut>('POST', '/v1/replays', { body: { ...body, tolerance, limit } });
      if (globals(cmd).json) return printJson(out);
      if (out.unreplayable) {
        printFields([['model', out.model], ['version', out.version], ['not replayable', out.unreplayable], ['logged requests', out.skipped]]);
        return;
      }
      const pct = (n: number) => (out.requests ? ` (${((n / out.requests) * 100).toFixed(1)}%)` : '');
      printFields([
        ['model', out.model], ['version', out.version], ['window', `${out.window.from ?? '-'} → ${out.window.to ?? 'now'}`],
        ['replayed', out.requests], ['skipped', out.skipped], ['differing', `${out.differing}${pct(out.differing)} beyond ${out.tolerance}`],
        ['class changes', `${out.classChanges}${pct(out.classChanges)}`], ['max |diff|', out.maxAbsDiff.toPrecision(4)], ['mean |diff|', out.meanAbsDiff.toPrecision(4)],
        ...(out.score ? [['score', `${out.score.task}: max |diff| ${out.score.maxAbsDiff.toPrecision(4)}${out.score.classChangeShare === null ? '' : `, class changed in ${(out.score.classChangeShare * 100).toFixed(1)}% of ${out.score.rows} rows`}`] as [string, string]] : []),
      ]);
      for (const note of out.notes) console.log(`note: ${note}`);
      if (out.outputs.length > 0) {
        console.log('\nby output:');
        printTable(out.outputs, [['output', (o) => o.name], ['rows', (o) => o.rows], ['differing rows', (o) => o.differingRows], ['max |diff|', (o) => o.maxAbsDiff.toPrecision(4)], ['mean |diff|', (o) => o.meanAbsDiff.toPrecision(4)]]);
      }
      const by = Object.entries(out.byLoggedVersion);
      if (by.length > 0) {
        console.log('\nby the version that answered:');
        printTable(by, [['logged version', ([v]) => v], ['requests', ([, s]) => s.requests], ['differing', ([, s]) => s.differing], ['max |diff|', ([, s]) => s.maxAbsDiff.toPrecision(4)]]);
      }
    }));
}
