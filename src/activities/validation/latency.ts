// Single-row latency, the serving hot path: every input fed with its type, from the first row of
// the evaluation set when there is one, else a synthetic row (zeros, "" for strings, false for
// bools) shaped by the signature. A few warm-up runs come first.
import { heartbeat } from '@temporalio/activity';
import { feedsFor, type EvaluationSet, type InputFeed, type ModelContract, type StoredSignature } from '../../contracts/index.js';
import { runFeeds, type LoadedModel } from '../../models/onnx-runtime.js';
import { check, type ValidationCheck } from './report.js';

const WARM_UP_RUNS = 5;

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
}

/** One row for every input of the signature: open dimensions after the batch one taken as 1. */
export function syntheticRow(sig: StoredSignature): InputFeed[] {
  return sig.inputs.map((input) => {
    const shape = input.shape.length <= 1 ? [1] : [1, ...input.shape.slice(1).map((d) => (d > 0 ? d : 1))];
    const size = shape.reduce((a, b) => a * b, 1);
    const zero = input.datatype === 'string' ? '' : input.datatype === 'bool' ? false : 0;
    return { name: input.name, elementType: input.datatype as InputFeed['elementType'], shape, values: new Array<number | string | boolean>(size).fill(zero) };
  });
}

export async function latencyCheck(
  loaded: LoadedModel,
  sig: StoredSignature,
  source: { contract: ModelContract; set: EvaluationSet } | null,
  runs: number,
  maxP99LatencyMs: number,
): Promise<ValidationCheck> {
  let feeds: InputFeed[];
  let row: string;
  const real = source && source.set.rows > 0 ? feedsFor(source.contract, sig, source.set, [0]) : null;
  if (real?.ok) {
    feeds = real.feeds;
    row = 'the first row of the evaluation set';
  } else {
    feeds = syntheticRow(sig);
    row = real ? `a synthetic row (the evaluation set's first row does not feed the model: ${real.message})` : 'a synthetic row (no evaluation set)';
  }
  for (let i = 0; i < WARM_UP_RUNS; i++) await runFeeds(loaded, feeds);
  heartbeat({ check: 'latency' });
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await runFeeds(loaded, feeds);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const p99 = percentile(times, 0.99);
  const fast = p99 <= maxP99LatencyMs;
  return check('latency', fast ? 'successful' : 'failed',
    `single-row p99 ${p99.toFixed(3)} ms ${fast ? '≤' : '>'} ${maxP99LatencyMs} ms on ${row}, all ${feeds.length} input${feeds.length === 1 ? '' : 's'} fed`,
    { p50Ms: percentile(times, 0.5), p99Ms: p99, runs: times.length, inputs: feeds.map((f) => f.name) });
}
