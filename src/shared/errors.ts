/**
 * An error meant for a person at a terminal: one clear message naming the problem and what to do.
 * CLI entry points print `message` alone (no stack) for these; anything else is a bug and keeps
 * its stack.
 */
export class SetupError extends Error {
  override readonly name = 'SetupError';
  constructor(message: string, readonly hint?: string) {
    super(hint ? `${message}\n  ${hint}` : message);
  }
}
