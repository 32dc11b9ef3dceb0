import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Role } from '../../../src/db/schema.js';
import { hashSecret, isRole, parseToken, roleAllows, ROLES } from '../../../src/registry/keys.js';

describe('API keys', () => {
  it('parses sk_<id>_<secret> tokens, secrets may contain _ and -', () => {
    const secret = 'a_b-c'.padEnd(43, 'Z');
    expect(parseToken(`sk_0123456789abcdef_${secret}`)).toEqual({ id: '0123456789abcdef', secret });
    for (const bad of ['', 'sk_', 'sk_0123456789abcdef', `pk_0123456789abcdef_${secret}`, `sk_0123456789ABCDEF_${secret}`, `sk_0123456789abcdef_${secret}x`, `sk_0123456789abcdef_${secret.slice(1)}`, ` sk_0123456789abcdef_${secret}`]) {
      expect(parseToken(bad), bad).toBeNull();
    }
  });

  it('stores the sha256 of the secret', () => {
    expect(hashSecret('s3cret')).toBe(createHash('sha256').update('s3cret').digest('hex'));
  });

  it('grants: viewer reads; deployer and approver are separate; admin implies every role', () => {
    const table: Record<Role, Role[]> = {
      viewer: ['viewer'],
      deployer: ['viewer', 'deployer'],
      approver: ['viewer', 'approver'],
      admin: ['viewer', 'deployer', 'approver', 'admin'],
    };
    for (const held of ROLES) for (const needed of ROLES) expect(roleAllows(held, needed), `${held} → ${needed}`).toBe(table[held].includes(needed));
    expect(isRole('admin')).toBe(true);
    expect(isRole('root')).toBe(false);
    expect(isRole(undefined)).toBe(false);
  });
});
