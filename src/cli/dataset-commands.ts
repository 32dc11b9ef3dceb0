// sluice datasets … : a model's evaluation datasets (golden sets, holdouts) over the API.
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import type { DatasetOut } from '../api/schemas.js';
import { action, globals, printFields, printJson, printTable, usage } from './output.js';
import { client, human, setGoldenDataset, sha256File } from './registry-commands.js';

/** The format a file's extension names, and the content type it is sent with. */
const FORMATS: Record<string, { format: 'csv' | 'jsonl'; contentType: string }> = {
  '.csv': { format: 'csv', contentType: 'text/csv' },
  '.jsonl': { format: 'jsonl', contentType: 'application/x-ndjson' },
  '.ndjson': { format: 'jsonl', contentType: 'application/x-ndjson' },
};

function printDataset(d: DatasetOut): void {
  printFields([
    ['id', d.id], ['model', d.model], ['name', d.name], ['format', d.format], ['sha256', d.sha256], ['size', human(d.sizeBytes)], ['rows', d.rows],
    ['label', d.label], ['segment', d.segment], ['features', d.columns.filter((c) => c.role === 'feature').map((c) => c.name).join(' ')],
    ['golden', d.golden ? 'yes' : 'no'], ['created', `${d.createdAt} by ${d.createdBy ?? '-'}`],
  ]);
}

export function registerDatasetCommands(program: Command): void {
  const datasets = program.command('datasets').description('Upload and list a model\'s evaluation datasets (golden sets, holdouts)');
  datasets.command('upload <model> <file>')
    .description('Upload a CSV (header row) or JSON lines file (.csv, .jsonl, .ndjson): the features the model\'s contract reads, a label column and optionally a segment column')
    .option('--name <name>', 'what to call it (default: the file\'s name)')
    .option('--label <column>', 'the label column (default label)')
    .option('--segment <column>', 'the segment column (default segment, when the file has one)')
    .option('--golden', 'make it the model\'s golden set once uploaded')
    .action(action(async (model: string, file: string, opts: { name?: string; label?: string; segment?: string; golden?: boolean }, cmd: Command) => {
      const kind = FORMATS[path.extname(file).toLowerCase()];
      if (!kind) throw usage(`${file}: the format comes from the extension: ${Object.keys(FORMATS).join(', ')}`);
      const stat = await fs.stat(file).catch(() => { throw usage(`cannot read ${file}`); });
      if (!stat.isFile()) throw usage(`${file} is not a file`);
      const api = client(cmd);
      const out = await api.request<DatasetOut>('POST', `/v1/models/${encodeURIComponent(model)}/datasets`, {
        query: { name: opts.name ?? path.basename(file), format: kind.format, label: opts.label, segment: opts.segment, sha256: await sha256File(file) },
        raw: createReadStream(file),
        headers: { 'content-type': kind.contentType, 'content-length': String(stat.size) },
      });
      const golden = opts.golden ? (await setGoldenDataset(api, model, out.id)).dataset ?? out : out;
      if (globals(cmd).json) return printJson(golden);
      console.log(`dataset ${golden.id} of ${golden.model}: ${golden.rows} rows, sha256 ${golden.sha256}${golden.golden ? ' (the golden set)' : ''}`);
      printDataset(golden);
    }));
  datasets.command('list <model>')
    .description('List a model\'s datasets, newest first')
    .action(action(async (model: string, _opts: unknown, cmd: Command) => {
      const out = await client(cmd).request<{ datasets: DatasetOut[] }>('GET', `/v1/models/${encodeURIComponent(model)}/datasets`);
      if (globals(cmd).json) return printJson(out);
      printTable(out.datasets, [['id', (d) => d.id], ['name', (d) => d.name], ['format', (d) => d.format], ['rows', (d) => d.rows], ['sha256', (d) => d.sha256.slice(0, 12)], ['golden', (d) => (d.golden ? 'yes' : '')], ['created', (d) => d.createdAt]]);
    }));
  datasets.command('get <model> <dataset-id>')
    .description('Show a dataset')
    .action(action(async (model: string, id: string, _opts: unknown, cmd: Command) => {
      const out = await client(cmd).request<DatasetOut>('GET', `/v1/models/${encodeURIComponent(model)}/datasets/${encodeURIComponent(id)}`);
      if (globals(cmd).json) return printJson(out);
      printDataset(out);
    }));
}
