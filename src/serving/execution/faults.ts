// Fault injection per model version (in the spirit of Istio's and Seldon's): an operator or a
// benchmark makes a version fail a share of its requests, or answer late, to rehearse what the
// canary gates and the roll-back do. Off by default; the hot path pays one boolean check.
import type { Random } from '../../traffic/routing.js';

export interface FaultSpec {
  /** Share of requests to this version that fail with 503. */
  errorRate: number;
  /** Delay added before the version runs a request. */
  latencyMs: number;
}

export class FaultInjector {
  private readonly specs = new Map<string, FaultSpec>();

  get active(): boolean {
    return this.specs.size > 0;
  }

  set(model: string, version: string, spec: FaultSpec | null): void {
    const key = `${model}\u0000${version}`;
    if (spec === null || (spec.errorRate <= 0 && spec.latencyMs <= 0)) this.specs.delete(key);
    else this.specs.set(key, spec);
  }

  get(model: string, version: string): FaultSpec | null {
    return this.specs.get(`${model}\u0000${version}`) ?? null;
  }

  /** Resolves after the injected delay; throws when the request is chosen to fail. */
  async apply(model: string, version: string, random: Random): Promise<void> {
    const spec = this.get(model, version);
    if (spec === null) return;
    if (spec.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, spec.latencyMs));
    if (spec.errorRate > 0 && random() < spec.errorRate) throw new InjectedFault(`injected fault on ${model}/${version}`);
  }
}

export class InjectedFault extends Error {
  override readonly name = 'InjectedFault';
}
