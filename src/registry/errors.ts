/**
 * Errors of the registry layer. They carry a machine-readable `code` (and the offending `field`
 * where one is to blame) and no HTTP status: the API maps codes to statuses, the orchestrator's
 * activities and the CLI branch on the code.
 */
export type RegistryErrorCode =
  | 'not_found'
  | 'conflict'
  | 'invalid'
  | 'too_large'
  | 'sha256_mismatch'
  | 'invalid_model'
  | 'invalid_contract'
  | 'unsupported_uri';

export class RegistryError extends Error {
  override readonly name = 'RegistryError';
  constructor(readonly code: RegistryErrorCode, message: string, readonly field?: string, readonly errors?: Array<{ field: string; message: string }>) {
    super(message);
  }
}

/** PostgreSQL unique_violation (23505) on the given constraint or index, if named. */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const e = err as { code?: string; constraint?: string } | null;
  return !!e && e.code === '23505' && (constraint === undefined || e.constraint === constraint);
}

/** PostgreSQL check_violation (23514) or invalid text representation (22P02): bad data the schema refused. */
export function isDataViolation(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === '23514' || code === '22P02' || code === '23502' || code === '22003' || code === '22001';
}
