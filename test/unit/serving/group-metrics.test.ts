// The primary's sum over a process group, with processes faked as message channels: a process
// that answers a scrape and then exits counts once, and the sum never goes back.
import { EventEmitter } from 'node:events';
import type { Worker } from 'node:cluster';
import { describe, expect, it } from 'vitest';
import { GroupMetrics } from '../../../src/serving/membership/group-metrics.js';

class FakeProcess extends EventEmitter {
  dead = false;
  readonly sent: unknown[] = [];
  constructor(readonly id: number) { super(); }
  isDead(): boolean { return this.dead; }
  isConnected(): boolean { return !this.dead; }
  send(m: unknown): boolean { this.sent.push(m); return true; }
  /** Answers the latest collect request with a requests counter of `value`. */
  answer(value: number): void {
    const collect = this.sent.filter((m) => (m as { type: string }).type === 'sluice-metrics-collect').pop() as { id: number };
    this.emit('message', {
      type: 'sluice-metrics-collected', id: collect.id,
      metrics: [{ name: 'sluice_inference_requests_total', help: 'h', type: 'counter', aggregator: 'sum', values: [{ labels: { model: 'm' }, value }] }],
    });
  }
}

const asWorker = (p: FakeProcess) => p as unknown as Worker;

/** Asks `group` for a sum from `asker`; resolves with the summed requests counter. */
async function scrape(group: GroupMetrics, asker: FakeProcess, answer: () => void, id: number): Promise<number> {
  const before = asker.sent.length;
  expect(group.handle(asWorker(asker), { type: 'sluice-metrics-scrape', id })).toBe(true);
  answer();
  for (let i = 0; i < 50 && asker.sent.slice(before).every((m) => (m as { type: string }).type !== 'sluice-metrics-scraped'); i++) await new Promise((r) => setTimeout(r, 5));
  const reply = asker.sent.slice(before).find((m) => (m as { type: string }).type === 'sluice-metrics-scraped') as { text: string };
  const line = reply.text.split('\n').find((l) => l.startsWith('sluice_inference_requests_total{'));
  return Number(line?.split(' ').pop());
}

describe('GroupMetrics', () => {
  it('counts a process that answered and then exited once, and keeps its count after it is gone', async () => {
    const [a, b] = [new FakeProcess(1), new FakeProcess(2)];
    let live = [a, b];
    const group = new GroupMetrics(() => live.map(asWorker));
    expect(await scrape(group, b, () => { a.answer(3); b.answer(4); }, 1)).toBe(7);
    // a answers, dies before b answers; the reply still counts its 5 once.
    expect(await scrape(group, b, () => {
      a.answer(5);
      a.dead = true;
      group.processExited(asWorker(a));
      b.answer(6);
    }, 2)).toBe(11);
    // a's replacement starts from zero; a's 5 stays in the sum.
    const a2 = new FakeProcess(3);
    live = [a2, b];
    expect(await scrape(group, b, () => { a2.answer(1); b.answer(6); }, 3)).toBe(12);
  });
});
