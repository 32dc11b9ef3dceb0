// Every migration, by name, in order. A static list (not a folder scan) so the same migrations run
// under tsx, vitest and any bundler. Add new files here; never edit or reorder an existing entry.
import type { Migration } from 'kysely';
import * as initial from './2026_11_23_0001_initial.js';
import * as lifecycle from './2026_11_23_0002_lifecycle.js';
import * as inferenceLogInputsBytea from './2026_12_04_0003_inference_log_inputs_bytea.js';
import * as inferenceLogOneModelIndex from './2026_12_04_0004_inference_log_one_model_index.js';
import * as inferenceLogBrin from './2026_12_04_0005_inference_log_brin.js';
import * as inferenceLogInlineRows from './2026_12_04_0006_inference_log_inline_rows.js';
import * as modelContract from './2026_12_07_0007_model_contract.js';
import * as datasets from './2026_12_08_0008_datasets.js';
import * as inferenceLogScores from './2026_12_08_0009_inference_log_scores.js';
import * as lineageAndRetrains from './2026_12_08_0011_lineage_and_retrains.js';
import * as modelContractHints from './2026_12_08_0012_model_contract_hints.js';
import * as driftMonitor from './2026_12_08_0013_drift_monitor.js';

export const migrations: Record<string, Migration> = {
  '2026_11_23_0001_initial': initial,
  '2026_11_23_0002_lifecycle': lifecycle,
  '2026_12_04_0003_inference_log_inputs_bytea': inferenceLogInputsBytea,
  '2026_12_04_0004_inference_log_one_model_index': inferenceLogOneModelIndex,
  '2026_12_04_0005_inference_log_brin': inferenceLogBrin,
  '2026_12_04_0006_inference_log_inline_rows': inferenceLogInlineRows,
  '2026_12_07_0007_model_contract': modelContract,
  '2026_12_08_0008_datasets': datasets,
  '2026_12_08_0009_inference_log_scores': inferenceLogScores,
  '2026_12_08_0011_lineage_and_retrains': lineageAndRetrains,
  '2026_12_08_0012_model_contract_hints': modelContractHints,
  '2026_12_08_0013_drift_monitor': driftMonitor,
};
