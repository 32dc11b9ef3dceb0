import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CREDIT_FEATURE_NAMES, CREDIT_SCHEMA } from '../../../src/models/dataset.js';
import { encodeRecords } from '../../../src/models/features.js';
import type { RawRecord } from '../../../src/models/features.js';
import { classificationReport } from '../../../src/models/metrics/index.js';
import { loadModelSession, runFloatMatrix } from '../../../src/models/onnx-runtime.js';

// The committed fixtures other parts of Sluice test against (validation, serving, rollouts).
// Rebuild them with `npx tsx scripts/build-fixtures.ts`; `--check` says whether they are current.
const directory = fileURLToPath(new URL('../../fixtures/models/', import.meta.url));

interface Manifest {
  featureNames: string[];
  golden: { file: string; rows: number; sha256: string };
  models: { file: string; version: string; trainer: string; sha256: string; sizeBytes: number; trainingDataSha256: string; golden: { accuracy: number; auc: number } }[];
}
interface GoldenSet {
  rows: number;
  featureNames: string[];
  columns: Record<string, (number | string)[]>;
  matrix: number[][];
  labels: number[];
}

const manifest = JSON.parse(await readFile(`${directory}manifest.json`, 'utf8')) as Manifest;
const goldenBytes = await readFile(`${directory}${manifest.golden.file}`);
const golden = JSON.parse(goldenBytes.toString('utf8')) as GoldenSet;
const goldenMatrix = Float32Array.from(golden.matrix.flat());
const goldenLabels = Uint8Array.from(golden.labels);
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('model fixtures', () => {
  it('has a golden set whose matrix is the encoding of its raw columns', () => {
    expect(sha256(goldenBytes)).toBe(manifest.golden.sha256);
    expect(golden.rows).toBe(500);
    expect(golden.featureNames).toEqual(CREDIT_FEATURE_NAMES);
    expect(manifest.featureNames).toEqual(CREDIT_FEATURE_NAMES);
    const records: RawRecord[] = Array.from({ length: golden.rows }, (_, r) =>
      Object.fromEntries(Object.entries(golden.columns).map(([name, values]) => [name, values[r]!])));
    expect(encodeRecords(CREDIT_SCHEMA, records)).toEqual(goldenMatrix);
    expect(goldenLabels.length).toBe(golden.rows);
  });

  for (const entry of manifest.models) {
    it(`${entry.file}: matches the manifest and scores its recorded golden accuracy in ONNX Runtime`, async () => {
      const path = `${directory}${entry.file}`;
      const model = await loadModelSession(path, { sessionOptions: { intraOpNumThreads: 1 } });
      try {
        expect(model.sha256).toBe(entry.sha256);
        expect(model.sizeBytes).toBe(entry.sizeBytes);
        expect(model.sizeBytes).toBeLessThan(16 * 1024);
        expect(model.metadata).toMatchObject({
          modelName: 'credit-risk',
          modelVersion: entry.version,
          trainer: entry.trainer,
          featureNames: CREDIT_FEATURE_NAMES,
          trainingDataSha256: entry.trainingDataSha256,
        });
        const report = classificationReport(await runFloatMatrix(model, goldenMatrix, golden.rows), goldenLabels);
        // The manifest comes from the TypeScript forward pass; a row within 1e-5 of the 0.5
        // threshold could flip in the runtime, so allow a row or two.
        expect(Math.abs(report.accuracy - entry.golden.accuracy)).toBeLessThanOrEqual(0.004);
        expect(report.auc).toBeCloseTo(entry.golden.auc, 3);
      } finally {
        await model.session.release();
      }
    });
  }

  it('ranks the versions as their roles say: MLP v2 > logistic v1 > shuffled-label v3', () => {
    const accuracyOf = (version: string) => manifest.models.find((m) => m.version === version)!.golden.accuracy;
    expect(accuracyOf('2')).toBeGreaterThan(accuracyOf('1'));
    expect(accuracyOf('1')).toBeGreaterThan(accuracyOf('3') + 0.1);
    expect(accuracyOf('3')).toBeLessThan(0.6);
  });
});
