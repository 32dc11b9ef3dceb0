// The workflow bundle's entry: every workflow the orchestrator worker runs is exported here.
export { stackProbe } from './probe.js';
export { modelLifecycle } from './lifecycle.js';
export { modelRetrain } from './retrain.js';
export { driftMonitor } from './monitor.js';
