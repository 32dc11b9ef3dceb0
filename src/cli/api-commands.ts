// Every command that talks to the control-plane API (or, for `keys create`, to the database).
import type { Command } from 'commander';
import { registerAdminCommands } from './admin-commands.js';
import { DEFAULT_API_URL } from './api-client.js';
import { registerDatasetCommands } from './dataset-commands.js';
import { registerLineageCommand } from './lineage-commands.js';
import { registerRegistryCommands } from './registry-commands.js';
import { registerRolloutCommands } from './rollout-commands.js';

export function registerApiCommands(program: Command): void {
  program
    .option('--api <url>', `control-plane API URL (default SLUICE_API_URL or ${DEFAULT_API_URL}); the key comes from SLUICE_API_KEY`)
    .option('--json', 'print machine-readable JSON instead of tables');
  registerRegistryCommands(program);
  registerDatasetCommands(program);
  registerRolloutCommands(program);
  registerLineageCommand(program);
  registerAdminCommands(program);
  program.addHelpText('after', '\nExit codes: 0 ok, 1 refused or failed, 2 usage.');
}
