// The trainer a retrain policy names, behind the one interface (trainer.ts).
import type { TrainerSpec } from '../policy.js';
import { builtinTrainer } from './builtin.js';
import { commandTrainer } from './command.js';
import type { Trainer } from './trainer.js';
import { webhookTrainer } from './webhook.js';

export { builtinLimitation, BUILTIN_TRAINERS } from './builtin.js';
export { STDERR_TAIL_BYTES } from './command.js';
export { TrainerError, type Trainer, type TrainingJob } from './trainer.js';

export function trainerFor(spec: TrainerSpec, fetchImpl?: typeof fetch): Trainer {
  switch (spec.kind) {
    case 'builtin': return builtinTrainer(spec.name, spec.params);
    case 'command': return commandTrainer(spec.argv, spec.timeoutSeconds, spec.params);
    case 'webhook': return webhookTrainer(spec.url, spec.timeoutSeconds, spec.params, fetchImpl);
  }
}
