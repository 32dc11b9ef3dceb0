// The simulated users of the credit model as request rows: applicants drawn from the synthetic
// credit population (src/models/dataset.ts), shifted or not (src/models/drift.ts), encoded exactly
// as the fixture models read them (the same encoder scripts/build-fixtures.ts uses), each row with
// its true label so the simulator can report it as feedback.
import { CREDIT_SCHEMA, BASE_CREDIT_POPULATION, generateCreditData } from '../models/dataset.js';
import { generateDriftedCreditData, type CreditDrift } from '../models/drift.js';
import { encodeColumns, encodedWidth } from '../models/features.js';

export interface CreditTrafficRows { rows: number[][]; labels: number[] }

export function creditTrafficRows(count: number, seed: number, drift?: CreditDrift): CreditTrafficRows {
  const data = drift ? generateDriftedCreditData(count, seed, drift) : generateCreditData(count, seed);
  const matrix = encodeColumns(CREDIT_SCHEMA, data);
  const width = encodedWidth(CREDIT_SCHEMA);
  return {
    rows: Array.from({ length: count }, (_, r) => Array.from(matrix.subarray(r * width, (r + 1) * width))),
    labels: Array.from(data.labels),
  };
}

/**
 * The demo's shift: poorer, more indebted applicants who use more of their credit (covariate
 * drift the monitor sees in the features), and income and late payments now pointing (weakly)
 * the other way (concept drift, so a model fitted before the shift is out of date and one retrained on
 * the new rows beats it on them). Mild enough that the retrained model still beats chance on the
 * old population's golden set.
 */
export const DEMO_CREDIT_SHIFT: CreditDrift = {
  meanShiftStd: { income: -1, debt_ratio: 1, credit_utilization: 0.8 },
  labelRelationship: { numericWeights: { ...BASE_CREDIT_POPULATION.labelRelationship.numericWeights, income: 0.3, late_payments: -0.3 } },
};
