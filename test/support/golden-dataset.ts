// An exporter fixture's evaluation CSV made a model's golden dataset the way the datasets API does
// it: the bytes into the artifact store, read against the contract, recorded, attached.
import fs from 'node:fs';
import { Readable } from 'node:stream';
import type { Kysely } from 'kysely';
import type { ModelContract } from '../../src/contracts/index.js';
import { parseDataset } from '../../src/datasets/index.js';
import type { Database } from '../../src/db/schema.js';
import { exporterFixtureModel, type ExporterFixtureKind } from '../../src/models/fixtures.js';
import type { ArtifactStore } from '../../src/registry/artifacts.js';
import { createDataset, setGoldenDataset } from '../../src/registry/datasets.js';

/** Attaches the fixture's CSV (each label rewritten by `relabel` when given) as the model's golden dataset; returns its id. */
export async function attachGoldenDataset(db: Kysely<Database>, store: ArtifactStore, opts: {
  modelId: string; kind: ExporterFixtureKind; contract: ModelContract; relabel?: (label: number, row: number) => number;
}): Promise<string> {
  const fixture = exporterFixtureModel(opts.kind);
  const [header = '', ...lines] = fs.readFileSync(fixture.datasetPath, 'utf8').trimEnd().split('\n');
  const labelAt = header.split(',').indexOf(fixture.entry.dataset.label);
  const relabel = opts.relabel;
  const body = relabel ? lines.map((line, i) => line.split(',').map((cell, j) => (j === labelAt ? String(relabel(Number(cell), i)) : cell)).join(',')) : lines;
  const file = await store.putDataset(Readable.from([Buffer.from(`${[header, ...body].join('\n')}\n`)]), 'csv');
  const parsed = await parseDataset(store.stream(file.uri), { format: 'csv', contract: opts.contract });
  if (!parsed.ok) throw new Error(`${parsed.field}: ${parsed.message}`);
  const { dataset } = await createDataset(db, {
    projectId: 'default', modelId: opts.modelId, name: `${opts.kind}-eval`, sha256: file.sha256, format: 'csv', sizeBytes: file.sizeBytes,
    rows: parsed.dataset.rows, columns: parsed.dataset.columns, label: parsed.dataset.label, segment: parsed.dataset.segment,
    artifactUri: file.uri, createdBy: 'test',
  });
  await setGoldenDataset(db, opts.modelId, dataset.id);
  return dataset.id;
}
