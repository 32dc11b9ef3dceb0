// sluice models …, sluice versions … : the registry over the API.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import type { GoldenDatasetOut, GoldenSetBody, GoldenSetOut, ModelOut, RegisteredVersionOut, RegistrationPreviewOut, VersionOut } from '../api/schemas.js';
import { ApiClient, CliError } from './api-client.js';
import { action, globals, printFields, printJson, printTable, usage } from './output.js';


export function client(cmd: Command): ApiClient {
  return new ApiClient({ baseUrl: globals(cmd).api });
}

async function readJsonArg(value: string, what: string): Promise<unknown> {
  const text = value.startsWith('@') ? await fs.readFile(value.slice(1), 'utf8').catch(() => { throw usage(`${what}: cannot read ${value.slice(1)}`); }) : value;
  try {
    return JSON.parse(text);
  } catch {
    throw usage(`${what} is not valid JSON${value.startsWith('@') ? ` (${value.slice(1)})` : ''}`);
  }
}

async function readJsonFile(file: string, what: string): Promise<unknown> {
  const text = file === '-' ? await readStdin() : await fs.readFile(file, 'utf8').catch(() => { throw usage(`${what}: cannot read ${file}`); });
  try {
    return JSON.parse(text);
  } catch {
    throw usage(`${what}: ${file} is not valid JSON`);
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
export { readJsonFile };

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

export function human(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** A read stream of the file that reports progress on stderr as it is consumed. */
function withProgress(file: string, total: number, quiet: boolean) {
  let sent = 0;
  let lastDraw = 0;
  const tty = process.stderr.isTTY && !quiet;
  const draw = (final: boolean) => {
    const pct = total === 0 ? 100 : Math.floor((sent / total) * 100);
    const width = 24;
    const filled = Math.round((pct / 100) * width);
    process.stderr.write(`\r  uploading [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(pct).padStart(3)}%  ${human(sent)} / ${human(total)}${final ? '\n' : ''}`);
  };
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      sent += chunk.length;
      const now = Date.now();
      if (tty && (now - lastDraw > 100 || sent === total)) { lastDraw = now; draw(false); }
      done(null, chunk);
    },
    flush(done) {
      if (tty) draw(true);
      else if (!quiet) process.stderr.write(`  uploaded ${human(sent)}\n`);
      done();
    },
  });
  return createReadStream(file).pipe(meter);
}

/**
 * The API's body from a golden-set file: its features (or `matrix`, as the project's fixture
 * files name them), labels and segments; other keys (descriptions, column names) are left out.
 */
function goldenSetBody(doc: unknown): GoldenSetBody {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw usage('golden set: the file must hold a JSON object with features and labels');
  const d = doc as Record<string, unknown>;
  const features = d.features ?? d.matrix;
  if (features === undefined || d.labels === undefined) throw usage('golden set: the file needs "features" (or "matrix") and "labels"');
  return { features, labels: d.labels, ...(d.segments !== undefined ? { segments: d.segments } : {}) } as GoldenSetBody;
}

function signatureFields(sig: VersionOut['signature']): Array<[string, string]> {
  const show = (ts: VersionOut['signature']['inputs']) => ts.map((t) => `${t.name}:${t.datatype}[${t.shape.join(',')}]`).join(' ');
  return [['inputs', show(sig.inputs)], ['outputs', show(sig.outputs)]];
}

export async function setGoldenDataset(api: ApiClient, model: string, dataset: string | null): Promise<GoldenDatasetOut> {
  return await api.request<GoldenDatasetOut>('PUT', `/v1/models/${encodeURIComponent(model)}/golden-dataset`, { body: { dataset } });
}

function printVersion(v: VersionOut): void {
  printFields([
    ['model', v.model], ['version', v.version], ['status', v.status], ['sha256', v.sha256], ['size', human(v.sizeBytes)],
    ['artifact', v.artifactUri],
    ...signatureFields(v.signature),
    ['training data', v.trainingDataRef], ['reference profile', v.hasReferenceProfile ? 'yes' : 'no'], ['created', `${v.createdAt} by ${v.createdBy ?? '-'}`],
  ]);
}

/** `--features input=a,b,c` (repeatable) as the API's featureNames; a bare `a,b,c` names the columns of the model's only input. */
function featureNamesOption(values: readonly string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const value of values) {
    const eq = value.indexOf('=');
    const input = eq > 0 ? value.slice(0, eq) : '';
    const names = (eq > 0 ? value.slice(eq + 1) : value).split(',').map((n) => n.trim()).filter((n) => n !== '');
    if (!input) throw usage(`--features ${value}: write input=name1,name2,... (the input tensor's name, then its column names in order)`);
    if (names.length === 0) throw usage(`--features ${value}: no feature names after ${input}=`);
    if (out[input]) throw usage(`--features: input ${input} is named twice`);
    out[input] = names;
  }
  return out;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

function printModel(m: ModelOut): void {
  printFields([['name', m.name], ['project', m.project], ['task', m.task ?? 'inferred from the first version'], ['description', m.description || '-'],
    ['production', m.productionVersion], ['versions', m.versionCount], ['running rollout', m.runningRolloutId], ['created', m.createdAt]]);
  console.log(`contract: ${m.contractDescription ?? 'none yet: inferred from the first version registered (or declare one with sluice models set-contract)'}`);
}

function printContract(r: { contractSource: string; contractDescription: string }): void {
  const source: Record<string, string> = {
    inferred: 'inferred from this version (stored with it)', declared: 'declared at creation, fits this version', kept: 'the model\'s contract, which this version keeps', none: 'none',
  };
  console.log(`contract (${source[r.contractSource] ?? r.contractSource}): ${r.contractDescription}`);
}

export function registerRegistryCommands(program: Command): void {
  const models = program.command('models').description('List, create and show models');
  models.command('list', { isDefault: true })
    .description('List your project\'s models')
    .action(action(async (_opts: unknown, cmd: Command) => {
      const out = await client(cmd).request<{ models: ModelOut[] }>('GET', '/v1/models');
      if (globals(cmd).json) return printJson(out);
      printTable(out.models, [['name', (m) => m.name], ['task', (m) => m.task], ['production', (m) => m.productionVersion], ['versions', (m) => m.versionCount], ['rollout', (m) => m.runningRolloutId]]);
    }));
  models.command('create <name>')
    .description('Create a model. Without --contract, the first version registered gives it the contract inferred from its signature (--task and --features steer that)')
    .option('--description <text>', 'what the model does')
    .option('--task <task>', 'binary_classification, multiclass_classification or regression')
    .option('--features <input=names>', 'the column names of an input tensor, in order: input=a,b,c (repeat per input)', collect)
    .option('--contract <file>', 'the model contract as JSON ("-" for stdin), checked against the first version registered')
    .action(action(async (name: string, opts: { description?: string; task?: string; features?: string[]; contract?: string }, cmd: Command) => {
      if (opts.contract && (opts.task || opts.features)) throw usage('give --contract, or --task/--features to steer the inferred one, not both');
      const contract = opts.contract ? await readJsonFile(opts.contract, '--contract') : undefined;
      const body = {
        name, ...(opts.description ? { description: opts.description } : {}), ...(opts.task ? { task: opts.task } : {}),
        ...(opts.features ? { featureNames: featureNamesOption(opts.features) } : {}), ...(contract !== undefined ? { contract } : {}),
      };
      const out = await client(cmd).request<ModelOut>('POST', '/v1/models', { body });
      if (globals(cmd).json) return printJson(out);
      console.log(`created model ${out.name} in project ${out.project}`);
      console.log(out.contractDescription ? `contract (declared; checked against the first version registered): ${out.contractDescription}`
        : 'contract: inferred from the first version registered (sluice versions register --dry-run shows it first)');
    }));
  models.command('get <name>').alias('show')
    .description('Show a model and its contract')
    .action(action(async (name: string, _opts: unknown, cmd: Command) => {
      const out = await client(cmd).request<ModelOut>('GET', `/v1/models/${encodeURIComponent(name)}`);
      if (globals(cmd).json) return printJson(out);
      printModel(out);
    }));
  models.command('set-contract <model> <file>')
    .description('Declare or replace the model\'s contract from a JSON file ("-" for stdin); refused when a version of the model does not keep it')
    .option('--reason <text>', 'why, for the audit log')
    .action(action(async (model: string, file: string, opts: { reason?: string }, cmd: Command) => {
      const contract = await readJsonFile(file, 'contract');
      const out = await client(cmd).request<ModelOut>('PUT', `/v1/models/${encodeURIComponent(model)}/contract`, { body: { contract, ...(opts.reason ? { reason: opts.reason } : {}) } });
      if (globals(cmd).json) return printJson(out);
      console.log(`contract of ${out.name} set: ${out.contractDescription}`);
    }));

  models.command('golden-set <model> <file>')
    .description('Set the rows every candidate is scored on in validation, from a JSON file ("-" for stdin): '
      + '{"features": [[...], ...], "labels": [...], "segments"?: [...]} ("matrix" is read as features)')
    .action(action(async (model: string, file: string, _opts: unknown, cmd: Command) => {
      const out = await client(cmd).request<GoldenSetOut>('PUT', `/v1/models/${encodeURIComponent(model)}/golden-set`, { body: goldenSetBody(await readJsonFile(file, 'golden set')) });
      if (globals(cmd).json) return printJson(out);
      console.log(`golden set of ${out.model}: ${out.rows} rows of ${out.width} values${out.segments.length ? `; segments ${out.segments.join(', ')}` : ''}`);
    }));

  models.command('set-golden <model> <dataset-id>')
    .description('Make one of the model\'s datasets (sluice datasets upload) its golden set; "none" detaches it')
    .action(action(async (model: string, datasetId: string, _opts: unknown, cmd: Command) => {
      const out = await setGoldenDataset(client(cmd), model, datasetId === 'none' ? null : datasetId);
      if (globals(cmd).json) return printJson(out);
      console.log(out.dataset ? `golden set of ${out.model}: dataset ${out.dataset.id} (${out.dataset.name}, ${out.dataset.rows} rows)` : `golden set of ${out.model}: no dataset attached`);
    }));

  const versions = program.command('versions').description('Register, list, show and retire model versions');
  versions.command('register <model> [file]')
    .description('Register a version: upload an ONNX file (with progress), or point at an artifact already in the store (--uri)')
    .requiredOption('--version <version>', 'version label, e.g. v3')
    .option('--uri <uri>', 'file:// URI inside the artifact store (or sha256:<hex>) instead of uploading a file')
    .option('--sha256 <hex>', 'expected SHA-256 (computed from the file when uploading; required with --uri)')
    .option('--metadata <json>', 'version metadata: a JSON object, or @file.json')
    .option('--training-data <ref>', 'where the training data lives (a URI, a dataset id)')
    .option('--profile <file>', 'reference profile JSON to store with the version')
    .option('--create-model', 'create the model first when it does not exist')
    .option('--dry-run', 'check the artifact and show the contract that would be stored, storing nothing')
    .action(action(async (model: string, file: string | undefined, opts: { version: string; uri?: string; sha256?: string; metadata?: string; trainingData?: string; profile?: string; createModel?: boolean; dryRun?: boolean }, cmd: Command) => {
      if (!file && !opts.uri) throw usage('give an ONNX file to upload, or --uri of an artifact in the store');
      if (file && opts.uri) throw usage('give a file or --uri, not both');
      if (opts.uri && !opts.sha256) throw usage('--uri needs --sha256');
      const api = client(cmd);
      const json = globals(cmd).json;
      const metadata = opts.metadata ? await readJsonArg(opts.metadata, '--metadata') : undefined;
      if (metadata !== undefined && (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))) throw usage('--metadata must be a JSON object');
      const profile = opts.profile ? await readJsonFile(opts.profile, '--profile') : undefined;
      if (opts.dryRun && opts.profile) throw usage('--dry-run stores nothing, so it takes no --profile');
      if (opts.createModel && !opts.dryRun) {
        try {
          await api.request('GET', `/v1/models/${encodeURIComponent(model)}`);
        } catch (err) {
          if (!(err instanceof CliError) || (err.body as { status?: number } | undefined)?.status !== 404) throw err;
          await api.request('POST', '/v1/models', { body: { name: model } });
          if (!json) console.error(`  created model ${model}`);
        }
      }
      let out: RegisteredVersionOut | RegistrationPreviewOut;
      const dryRun = opts.dryRun ? { dryRun: 'true' } : {};
      if (file) {
        const stat = await fs.stat(file).catch(() => { throw usage(`cannot read ${file}`); });
        if (!stat.isFile()) throw usage(`${file} is not a file`);
        const sha256 = opts.sha256 ?? await sha256File(file);
        out = await api.request<RegisteredVersionOut | RegistrationPreviewOut>('POST', `/v1/models/${encodeURIComponent(model)}/versions/upload`, {
          query: { version: opts.version, sha256, ...(opts.trainingData ? { trainingDataRef: opts.trainingData } : {}), ...dryRun },
          raw: withProgress(file, stat.size, Boolean(json)),
          headers: { 'content-length': String(stat.size), ...(metadata ? { 'x-sluice-metadata': JSON.stringify(metadata) } : {}) },
        });
        if (profile !== undefined) {
          const withProfile = await api.request<VersionOut>('PUT', `/v1/models/${encodeURIComponent(model)}/versions/${encodeURIComponent(opts.version)}/reference-profile`, { body: profile });
          out = { ...out, ...withProfile } as RegisteredVersionOut;
        }
      } else {
        out = await api.request<RegisteredVersionOut | RegistrationPreviewOut>('POST', `/v1/models/${encodeURIComponent(model)}/versions`, {
          query: dryRun,
          body: {
            version: opts.version, artifactUri: opts.uri, sha256: opts.sha256,
            ...(metadata ? { metadata } : {}), ...(opts.trainingData ? { trainingDataRef: opts.trainingData } : {}), ...(profile !== undefined ? { referenceProfile: profile } : {}),
          },
        });
      }
      if (json) return printJson(out);
      if ('dryRun' in out) {
        console.log(`dry run: ${out.model} ${out.version} would register (nothing stored)`);
        printFields([['sha256', out.sha256], ['size', human(out.sizeBytes)], ...signatureFields(out.signature)]);
      } else {
        console.log(`registered ${out.model} ${out.version}`);
        printVersion(out);
      }
      printContract(out);
    }));
  versions.command('list <model>')
    .description('List a model\'s versions, newest first')
    .option('--status <status>', 'only versions with this status')
    .action(action(async (model: string, opts: { status?: string }, cmd: Command) => {
      const out = await client(cmd).request<{ versions: VersionOut[] }>('GET', `/v1/models/${encodeURIComponent(model)}/versions`, { query: { status: opts.status } });
      if (globals(cmd).json) return printJson(out);
      printTable(out.versions, [['version', (v) => v.version], ['status', (v) => v.status], ['sha256', (v) => v.sha256.slice(0, 12)], ['size', (v) => human(v.sizeBytes)], ['profile', (v) => (v.hasReferenceProfile ? 'yes' : 'no')], ['created', (v) => v.createdAt]]);
    }));
  versions.command('get <model> <version>')
    .description('Show a version')
    .action(action(async (model: string, version: string, _opts: unknown, cmd: Command) => {
      const out = await client(cmd).request<VersionOut>('GET', `/v1/models/${encodeURIComponent(model)}/versions/${encodeURIComponent(version)}`);
      if (globals(cmd).json) return printJson(out);
      printVersion(out);
    }));
  versions.command('profile <model> <version>')
    .description('Set a version\'s reference profile: computed by the API from reference data (--data), or uploaded as built (--file)')
    .option('--data <file>', 'reference data as JSON: {"columns": {"feature": [values...]}, "categorical"?: [...], "bins"?: n} or just the columns object')
    .option('--file <file>', 'a reference profile as src/stats builds it')
    .action(action(async (model: string, version: string, opts: { data?: string; file?: string }, cmd: Command) => {
      if (!opts.data === !opts.file) throw usage('give --data (reference data to profile) or --file (a built profile)');
      const base = `/v1/models/${encodeURIComponent(model)}/versions/${encodeURIComponent(version)}/reference-profile`;
      let out: VersionOut & { predicted?: boolean };
      if (opts.data) {
        const data = await readJsonFile(opts.data, '--data') as Record<string, unknown>;
        const body = data && typeof data === 'object' && 'columns' in data ? data : { columns: data };
        out = await client(cmd).request('POST', `${base}/compute`, { body });
      } else {
        out = await client(cmd).request('PUT', base, { body: await readJsonFile(opts.file as string, '--file') });
      }
      if (globals(cmd).json) return printJson(out);
      console.log(`reference profile stored for ${out.model} ${out.version}${out.predicted === undefined ? '' : out.predicted ? ' (with the model\'s prediction distribution)' : ' (inputs only: the columns do not cover the model\'s features)'}`);
    }));
  versions.command('retire <model> <version>')
    .description('Retire a version (admin)')
    .option('--reason <text>', 'why, for the audit log')
    .action(action(async (model: string, version: string, opts: { reason?: string }, cmd: Command) => {
      const out = await client(cmd).request<VersionOut>('POST', `/v1/models/${encodeURIComponent(model)}/versions/${encodeURIComponent(version)}/retire`, { body: opts.reason ? { reason: opts.reason } : {} });
      if (globals(cmd).json) return printJson(out);
      console.log(`retired ${out.model} ${out.version}`);
    }));
}
