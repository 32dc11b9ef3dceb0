/**
 * A synthetic credit-risk population: who applies (numeric and categorical features, with
 * realistic dependencies between them) and who defaults (a known logistic relationship plus
 * noise). Everything is drawn from a seeded source, so a seed names a dataset exactly.
 *
 * A population is plain JSON, and drift (src/models/drift.ts) is a change of population; the
 * same generator draws base and drifted data.
 */
import type { CategoricalFeatureOf, LabelledColumns, LevelOf, NumericFeatureOf, TabularSchema } from './features.js';
import { encodedFeatureNames } from './features.js';
import type { RandomSource } from '../stats/random.js';
import { createRandomSource, seedRandom } from '../stats/random.js';

export const CREDIT_SCHEMA = {
  numeric: [
    'age',
    'income',
    'debt_ratio',
    'credit_history_months',
    'num_open_accounts',
    'late_payments',
    'loan_amount',
    'credit_utilization',
  ],
  categorical: [
    { name: 'region', levels: ['north', 'south', 'east', 'west'] },
    { name: 'employment', levels: ['salaried', 'self_employed', 'unemployed', 'student'] },
    { name: 'home_ownership', levels: ['own', 'mortgage', 'rent'] },
  ],
} as const satisfies TabularSchema;

export type CreditSchema = typeof CREDIT_SCHEMA;
export type CreditNumericFeature = NumericFeatureOf<CreditSchema>;
export type CreditCategoricalFeature = CategoricalFeatureOf<CreditSchema>;
export type CreditLevel<K extends CreditCategoricalFeature> = LevelOf<CreditSchema, K>;

/** The credit model's input column names, in matrix order. */
export const CREDIT_FEATURE_NAMES: readonly string[] = Object.freeze(encodedFeatureNames(CREDIT_SCHEMA));

/** Generated applicants; label 1 means the applicant defaulted. */
export type CreditDataset = LabelledColumns<CreditSchema>;

export type CreditCategoryMix = {
  readonly [K in CreditCategoricalFeature]: Readonly<Record<CreditLevel<K>, number>>;
};

/**
 * How default depends on the features: a logistic model over fixed, interpretable terms
 * (see CREDIT_RISK_TERMS), so "the true relationship" is known and concept drift is a change of
 * these numbers.
 */
export interface CreditLabelRelationship {
  readonly intercept: number;
  /** Weight per standardised term of each numeric feature. */
  readonly numericWeights: Readonly<Record<CreditNumericFeature, number>>;
  /** Additive logit effect per category level. */
  readonly categoryEffects: { readonly [K in CreditCategoricalFeature]: Readonly<Record<CreditLevel<K>, number>> };
  /** Products of two standardised terms; these make the relationship non-linear in the raw inputs. */
  readonly interactions: readonly CreditInteraction[];
  /** Standard deviation of Gaussian noise added to each applicant's logit before the label is drawn. */
  readonly logitNoiseStd: number;
}

export interface CreditInteraction {
  readonly features: readonly [CreditNumericFeature, CreditNumericFeature];
  readonly weight: number;
}

export interface CreditPopulation {
  /** Relative frequency of each level; normalised when drawn. */
  readonly categoryMix: CreditCategoryMix;
  /** Added to each numeric feature after it is drawn, in raw units (how mean drift is applied). */
  readonly numericShift: Readonly<Record<CreditNumericFeature, number>>;
  readonly labelRelationship: CreditLabelRelationship;
}

/**
 * Fixed centring and scaling of each numeric feature inside the label relationship, roughly the
 * base population's mean and spread (income and loan amount enter through their logarithm).
 * Fixed rather than estimated, so a relationship's weights mean the same thing in every sample.
 */
export const CREDIT_RISK_TERMS: Readonly<Record<CreditNumericFeature, { transform: 'identity' | 'log'; center: number; scale: number }>> = {
  age: { transform: 'identity', center: 41, scale: 12 },
  income: { transform: 'log', center: 10.53, scale: 0.62 },
  debt_ratio: { transform: 'identity', center: 0.33, scale: 0.15 },
  credit_history_months: { transform: 'identity', center: 160, scale: 110 },
  num_open_accounts: { transform: 'identity', center: 2.8, scale: 1.9 },
  late_payments: { transform: 'identity', center: 0.4, scale: 0.68 },
  loan_amount: { transform: 'log', center: 9.29, scale: 0.59 },
  credit_utilization: { transform: 'identity', center: 0.355, scale: 0.2 },
};

export const BASE_CREDIT_POPULATION: CreditPopulation = {
  categoryMix: {
    region: { north: 0.28, south: 0.24, east: 0.26, west: 0.22 },
    employment: { salaried: 0.62, self_employed: 0.14, unemployed: 0.1, student: 0.14 },
    home_ownership: { own: 0.22, mortgage: 0.38, rent: 0.4 },
  },
  numericShift: {
    age: 0, income: 0, debt_ratio: 0, credit_history_months: 0,
    num_open_accounts: 0, late_payments: 0, loan_amount: 0, credit_utilization: 0,
  },
  labelRelationship: {
    intercept: -0.9,
    numericWeights: {
      age: -0.25,
      income: -0.9,
      debt_ratio: 0.9,
      credit_history_months: -0.4,
      num_open_accounts: 0.15,
      late_payments: 0.7,
      loan_amount: 0.5,
      credit_utilization: 0.6,
    },
    categoryEffects: {
      region: { north: 0, south: 0.15, east: -0.1, west: 0.05 },
      employment: { salaried: 0, self_employed: 0.3, unemployed: 0.8, student: 0.4 },
      home_ownership: { own: -0.3, mortgage: -0.1, rent: 0.25 },
    },
    interactions: [
      { features: ['debt_ratio', 'credit_utilization'], weight: 0.5 },
      { features: ['income', 'late_payments'], weight: -0.4 },
      // Risk is U-shaped in age: the youngest and the oldest applicants default more.
      { features: ['age', 'age'], weight: 0.8 },
    ],
    logitNoiseStd: 0.3,
  },
};

/** Log-income offset by employment: the unemployed and students earn far less. */
const EMPLOYMENT_LOG_INCOME = [0, 0.05, -1.0, -0.9] as const;

/**
 * Draws `rows` applicants and their default labels from `population`. Each column comes from its
 * own named stream of `seed`, so two populations that differ in one respect give, for the same
 * seed, the same values everywhere else (paired samples make drift tests sharp).
 */
export function generateCreditData(rows: number, seed: number, population: CreditPopulation = BASE_CREDIT_POPULATION): CreditDataset {
  if (!Number.isInteger(rows) || rows < 0) throw new RangeError(`rows must be a non-negative integer, got ${rows}`);
  const stream = (name: string) => creditRandomStream(seed, name);
  const mix = (feature: CreditCategoricalFeature) => categoryProbabilities(feature, population.categoryMix[feature]);

  const ageRandom = stream('age');
  const incomeRandom = stream('income');
  const historyRandom = stream('credit_history_months');
  const accountsRandom = stream('num_open_accounts');
  const debtRandom = stream('debt_ratio');
  const utilizationRandom = stream('credit_utilization');
  const lateRandom = stream('late_payments');
  const loanRandom = stream('loan_amount');
  const regionRandom = stream('region');
  const employmentRandom = stream('employment');
  const homeRandom = stream('home_ownership');
  const regionMix = mix('region');
  const employmentMix = mix('employment');
  const homeMix = mix('home_ownership');

  const age = new Float64Array(rows);
  const income = new Float64Array(rows);
  const debtRatio = new Float64Array(rows);
  const history = new Float64Array(rows);
  const accounts = new Float64Array(rows);
  const latePayments = new Float64Array(rows);
  const loanAmount = new Float64Array(rows);
  const utilization = new Float64Array(rows);
  const region = new Uint8Array(rows);
  const employment = new Uint8Array(rows);
  const home = new Uint8Array(rows);

  for (let r = 0; r < rows; r++) {
    const a = clamp(Math.round(41 + 12 * ageRandom.normal()), 18, 80);
    const e = drawCategory(employmentRandom, employmentMix);
    const logIncome = 10.75 + 0.012 * (a - 41) + (EMPLOYMENT_LOG_INCOME[e as 0 | 1 | 2 | 3]) + 0.45 * incomeRandom.normal();
    const h = Math.round((a - 18) * 12 * (0.15 + 0.85 * historyRandom.uniform()));
    const d = roundToThousandths(clamp(0.33 + 0.15 * debtRandom.normal(), 0, 1.5));
    const u = roundToThousandths(clamp(0.35 + 0.5 * (d - 0.33) + 0.2 * utilizationRandom.normal(), 0, 1));
    age[r] = a;
    employment[r] = e;
    income[r] = Math.round(Math.exp(logIncome));
    history[r] = h;
    accounts[r] = drawPoisson(accountsRandom, 1.5 + Math.min(h, 360) / 120);
    debtRatio[r] = d;
    utilization[r] = u;
    latePayments[r] = drawPoisson(lateRandom, 0.15 + 1.5 * u * u);
    loanAmount[r] = Math.round(Math.exp(9.4 + 0.5 * (logIncome - 10.75) + 0.5 * loanRandom.normal()));
    region[r] = drawCategory(regionRandom, regionMix);
    home[r] = drawCategory(homeRandom, homeMix);
  }

  const numeric: Record<CreditNumericFeature, Float64Array> = {
    age, income, debt_ratio: debtRatio, credit_history_months: history, num_open_accounts: accounts,
    late_payments: latePayments, loan_amount: loanAmount, credit_utilization: utilization,
  };
  for (const name of CREDIT_SCHEMA.numeric) {
    const shift = population.numericShift[name];
    if (shift !== 0) {
      const values = numeric[name];
      for (let r = 0; r < rows; r++) values[r] = (values[r] as number) + shift;
    }
  }
  const categorical = { region, employment, home_ownership: home };
  const features = { rows, numeric, categorical };
  const labels = drawCreditLabels(features, population.labelRelationship, stream('label'));
  return { ...features, labels };
}

/** The noise-free default logit of each applicant under `relationship`. */
export function creditLogits(columns: Omit<CreditDataset, 'labels'>, relationship: CreditLabelRelationship): Float64Array {
  const { rows } = columns;
  const logits = new Float64Array(rows).fill(relationship.intercept);
  const terms = new Map<CreditNumericFeature, Float64Array>();
  const termOf = (name: CreditNumericFeature) => {
    let values = terms.get(name);
    if (!values) terms.set(name, (values = standardisedTerm(name, columns.numeric[name])));
    return values;
  };
  for (const name of CREDIT_SCHEMA.numeric) {
    const weight = relationship.numericWeights[name];
    if (weight === 0) continue;
    const values = termOf(name);
    for (let r = 0; r < rows; r++) logits[r] = (logits[r] as number) + weight * (values[r] as number);
  }
  for (const { features: [first, second], weight } of relationship.interactions) {
    const a = termOf(first);
    const b = termOf(second);
    for (let r = 0; r < rows; r++) logits[r] = (logits[r] as number) + weight * (a[r] as number) * (b[r] as number);
  }
  for (const { name, levels } of CREDIT_SCHEMA.categorical) {
    const effects = relationship.categoryEffects[name] as Readonly<Record<string, number>>;
    const byLevel = Float64Array.from(levels, (level) => effects[level] ?? 0);
    const indices = columns.categorical[name];
    for (let r = 0; r < rows; r++) logits[r] = (logits[r] as number) + (byLevel[indices[r] as number] as number);
  }
  return logits;
}

function drawCreditLabels(columns: Omit<CreditDataset, 'labels'>, relationship: CreditLabelRelationship, random: RandomSource): Uint8Array {
  const logits = creditLogits(columns, relationship);
  const labels = new Uint8Array(columns.rows);
  for (let r = 0; r < columns.rows; r++) {
    // The same draws per row whatever the relationship, so a concept drift keeps rows paired.
    const noise = random.normal() * relationship.logitNoiseStd;
    const probability = 1 / (1 + Math.exp(-((logits[r] as number) + noise)));
    labels[r] = random.uniform() < probability ? 1 : 0;
  }
  return labels;
}

function standardisedTerm(name: CreditNumericFeature, values: Float64Array): Float64Array {
  const { transform, center, scale } = CREDIT_RISK_TERMS[name];
  const out = new Float64Array(values.length);
  for (let r = 0; r < values.length; r++) {
    const raw = values[r] as number;
    // A drifted population can push a positive quantity to zero or below; log stays defined.
    const x = transform === 'log' ? Math.log(Math.max(raw, 1)) : raw;
    out[r] = (x - center) / scale;
  }
  return out;
}

/** A category mix as probabilities in the schema's level order; refuses unusable weights. */
export function categoryProbabilities(feature: CreditCategoricalFeature, mix: Readonly<Record<string, number>>): Float64Array {
  const spec = CREDIT_SCHEMA.categorical.find((c) => c.name === feature);
  if (!spec) throw new RangeError(`unknown categorical feature ${feature}`);
  for (const level of Object.keys(mix)) {
    if (!(spec.levels as readonly string[]).includes(level)) throw new RangeError(`${feature} has no level ${level}`);
  }
  const probabilities = Float64Array.from(spec.levels, (level) => mix[level] ?? 0);
  let total = 0;
  for (const p of probabilities) {
    if (!(p >= 0) || !Number.isFinite(p)) throw new RangeError(`${feature} mix weights must be finite and non-negative`);
    total += p;
  }
  if (!(total > 0)) throw new RangeError(`${feature} mix must give some level a positive weight`);
  for (let i = 0; i < probabilities.length; i++) probabilities[i] = (probabilities[i] as number) / total;
  return probabilities;
}

/**
 * One independent stream per drawn quantity. Giving each column its own stream keeps draws paired
 * across populations: changing how one column is drawn leaves every other column unchanged.
 */
function creditRandomStream(seed: number, quantity: string): RandomSource {
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  return createRandomSource(seedRandom(`credit/${quantity}/${seed}`));
}

/** Knuth's multiplication method: exact, and fast for the small rates these counts have. */
function drawPoisson(random: RandomSource, rate: number): number {
  const limit = Math.exp(-rate);
  let k = 0;
  let product = random.uniform();
  while (product > limit) {
    k++;
    product *= random.uniform();
  }
  return k;
}

/** A level index drawn with `probabilities` (summing to 1); always exactly one draw. */
function drawCategory(random: RandomSource, probabilities: Float64Array): number {
  const u = random.uniform();
  let cumulative = 0;
  const last = probabilities.length - 1;
  for (let i = 0; i < last; i++) {
    cumulative += probabilities[i] as number;
    if (u < cumulative) return i;
  }
  return last;
}

function clamp(x: number, low: number, high: number): number {
  return x < low ? low : x > high ? high : x;
}

/** Ratios are reported to three decimals, as a bureau would; it also keeps fixtures short. */
function roundToThousandths(x: number): number {
  return Math.round(x * 1000) / 1000;
}
