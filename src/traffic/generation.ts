/**
 * The traffic generation: how one model's requests are split across its versions. One home for
 * its shape: the TypeBox schema below is the admin route's contract, the `Static` types are what
 * routing compiles, and `traffic_generations` stores `weights` plus everything else as `spec`
 * (src/registry/traffic.ts maps between the two).
 *
 * Pure: no I/O, so the orchestrator, the API and tests may import it.
 */
import { Type, type Static } from '@sinclair/typebox';

/** Attribute values a request may carry in `parameters.attributes`. */
export type AttributeValue = string | number | boolean;
export type Attributes = Readonly<Record<string, AttributeValue>>;

/**
 * A targeting predicate over request attributes. Leaves compare one attribute; `all`, `any` and
 * `not` combine. Each predicate has exactly one condition (unknown keys, or e.g. `equals` beside
 * `gt`, or `all` beside `any`, are refused).
 *
 * Evaluation is three-valued: a leaf on an attribute the request does not carry is unknown, not
 * false, and so is `notIn`. `not` leaves unknown unknown; `all` is false when any part is false,
 * else unknown when any part is unknown; `any` is true when any part is true, else unknown when
 * any part is unknown. A request matches (is eligible, is claimed by a segment) only when the
 * predicate is true, so unknown traffic is never eligible, not even through `not`:
 * `{not: {attribute: 'country', equals: 'US'}}` does not match a request without a country.
 */
// Other keys are refused, not dropped. `additionalProperties: false` would do under a plain
// validator, but Fastify's Ajv runs with `removeAdditional: true`, which deletes the extra keys
// while it tries each branch of the union: {attribute, equals, gt} would pass as {attribute,
// equals}. A schema (never valid) for additional properties is checked, never removed.
const Closed = { additionalProperties: Type.Never() };
export const Predicate = Type.Recursive((This) => Type.Union([
  Type.Object({ all: Type.Array(This) }, Closed),
  Type.Object({ any: Type.Array(This) }, Closed),
  Type.Object({ not: This }, Closed),
  Type.Object({ attribute: Type.String({ minLength: 1 }), equals: Type.Union([Type.String(), Type.Number(), Type.Boolean()]) }, Closed),
  Type.Object({ attribute: Type.String({ minLength: 1 }), in: Type.Array(Type.Union([Type.String(), Type.Number()])) }, Closed),
  Type.Object({ attribute: Type.String({ minLength: 1 }), notIn: Type.Array(Type.Union([Type.String(), Type.Number()])) }, Closed),
  // A numeric range; every bound given must hold. At least one bound.
  Type.Object({
    attribute: Type.String({ minLength: 1 }),
    gt: Type.Optional(Type.Number()), gte: Type.Optional(Type.Number()),
    lt: Type.Optional(Type.Number()), lte: Type.Optional(Type.Number()),
  }, { ...Closed, minProperties: 2 }),
]), { $id: 'SluicePredicate' });
export type Predicate = Static<typeof Predicate>;
/**
 * Where a predicate is used: a reference to the one schema above, so validators (Fastify's Ajv)
 * hold it once; register `Predicate` with the validator (`app.addSchema(Predicate)`).
 */
const PredicateRef = Type.Ref(Predicate);

const VersionName = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' });

/** Experiment arms: `{arm: version}`, `[{name, version}]`, or `[version]` (the arm is named after its version). */
export const ExperimentArms = Type.Union([
  Type.Record(Type.String({ minLength: 1 }), VersionName),
  Type.Array(Type.Object({ name: Type.String({ minLength: 1 }), version: VersionName }), { minItems: 1 }),
  Type.Array(VersionName, { minItems: 1 }),
]);

export const Experiment = Type.Object({
  id: Type.String({ minLength: 1 }),
  /** Assignment salt: a new experiment re-randomises users independently of earlier splits. */
  salt: Type.String({ minLength: 1 }),
  arms: ExperimentArms,
  /** Who may enter the experiment; everyone else goes to the baseline, outside the experiment. */
  targeting: Type.Optional(PredicateRef),
});
export type Experiment = Static<typeof Experiment>;

export const Shadow = Type.Object({
  version: VersionName,
  /** Share of primary requests mirrored to the shadow version, in [0, 1]. */
  share: Type.Number({ minimum: 0, maximum: 1 }),
});

export const Segment = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 128 }),
  when: PredicateRef,
  version: VersionName,
  /**
   * Queueing budget for the segment version: when its estimated wait (queued rows × measured
   * batch cost) would exceed this, the request goes to the global split instead (counted).
   */
  latencyBudgetMs: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
});
export type Segment = Static<typeof Segment>;

export const InputCheckPolicy = Type.Union([Type.Literal('off'), Type.Literal('count'), Type.Literal('reject')]);
export type InputCheckPolicy = Static<typeof InputCheckPolicy>;

/** Everything in a generation beyond its weights: stored as `traffic_generations.spec`. */
export const GenerationSpec = Type.Object({
  experiment: Type.Optional(Experiment),
  /** Eligibility for the weighted split when there is no experiment (e.g. a canary for staff only). */
  targeting: Type.Optional(PredicateRef),
  /** Where ineligible traffic goes; defaults to the version with the largest weight (ties: by name). */
  baseline: Type.Optional(VersionName),
  /** Salt for sticky assignment outside experiments; defaults to the model name. */
  salt: Type.Optional(Type.String({ minLength: 1 })),
  shadow: Type.Optional(Shadow),
  segments: Type.Optional(Type.Array(Segment)),
  /** What to do with inputs outside a version's reference profile. Default: count. */
  inputChecks: Type.Optional(InputCheckPolicy),
});
export type GenerationSpec = Static<typeof GenerationSpec>;

export const Weights = Type.Record(VersionName, Type.Number({ minimum: 0, maximum: 1 }));

/** A generation as the admin route takes it and a worker holds it. */
export const TrafficGeneration = Type.Composite([
  Type.Object({
    generation: Type.Integer({ minimum: 1 }),
    weights: Weights,
  }),
  GenerationSpec,
]);
export type TrafficGeneration = Static<typeof TrafficGeneration>;
