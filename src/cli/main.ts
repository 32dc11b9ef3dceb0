import { Command, CommanderError } from 'commander';
import { SetupError } from '../shared/errors.js';
import { registerApiCommands } from './api-commands.js';
import { registerDemoCommand } from './demo.js';
import { registerDevCommands } from './dev.js';

/** Exit codes mean something: 0 ok, 1 refused or failed, 2 usage. */
export const EXIT = { ok: 0, refused: 1, usage: 2 } as const;

const program = new Command()
  .name('sluice')
  .description('Sluice: durable model rollouts on Temporal, driving an ONNX serving fleet')
  .exitOverride()
  .showHelpAfterError();

registerDevCommands(program);
registerDemoCommand(program);
registerApiCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage);
  }
  if (err instanceof SetupError) {
    console.error(`sluice: ${err.message}`);
    process.exit(EXIT.refused);
  }
  throw err;
}
