// The registry's repository functions: each takes the database or a transaction first, knows
// nothing of HTTP, and is shared by the API, the CLI and the orchestrator's activities.
export * from './artifacts.js';
export * from './audit.js';
export * from './db.js';
export * from './errors.js';
export * from './keys.js';
export * from './models.js';
export * from './profiles.js';
export * from './projects.js';
export * from './replay.js';
export * from './rollouts.js';
export * from './traffic.js';
export * from './versions.js';
