// A fleet that acks every generation at once and a validator that passes every candidate: for
// workflow tests whose subject is elsewhere (the canary's gates, the drift monitor).
import type { AppliedGeneration, FleetClient } from '../../src/activities/fleet.js';
import type { CandidateValidator } from '../../src/activities/validation.js';

export const ackingFleet: FleetClient = {
  async applyGeneration(args): Promise<AppliedGeneration> {
    return { generation: args.generation, workers: 1, acked: 1, allAcked: true, acks: [{ worker: 'w1', ok: true, ms: 1 }] };
  },
  async prewarm() { return { workers: 1, ready: 1, allReady: true, results: [] }; },
  async unload() { /* nothing loaded */ },
};

export const passingValidator: CandidateValidator = {
  async validate() { return { passed: true, checks: [{ name: 'stub', verdict: 'successful', reason: 'validation is not under test here', numbers: {} }] }; },
};
