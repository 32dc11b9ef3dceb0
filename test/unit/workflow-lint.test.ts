import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

// The lint rules are what keeps workflow code replay-safe; prove they fire.
const eslint = new ESLint();
async function ruleIds(code: string, filePath = 'src/workflows/example.ts'): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).map((m) => m.ruleId ?? m.message);
}

describe('workflow lint', () => {
  it('bans Node built-ins and I/O libraries in workflow code', async () => {
    expect(await ruleIds("import fs from 'node:fs';\nexport const x = fs;\n")).toContain('@typescript-eslint/no-restricted-imports');
    expect(await ruleIds("import { Pool } from 'pg';\nexport const x = Pool;\n")).toContain('@typescript-eslint/no-restricted-imports');
  });
  it('allows activities as types only', async () => {
    expect(await ruleIds("import type { Activities } from '../activities/index.js';\nexport type A = Activities;\n")).toEqual([]);
    expect(await ruleIds("import { createActivities } from '../activities/index.js';\nexport const a = createActivities;\n")).toContain('@typescript-eslint/no-restricted-imports');
  });
  it('bans timers, Math.random and Map/Set state', async () => {
    expect(await ruleIds('export const r = Math.random();\n')).toContain('no-restricted-properties');
    expect(await ruleIds('setTimeout(() => undefined, 1);\n')).toContain('no-restricted-globals');
    expect(await ruleIds('export const m = new Map<string, number>();\n')).toContain('no-restricted-syntax');
  });
  it('allows the same code outside workflows', async () => {
    expect(await ruleIds("import fs from 'node:fs';\nexport const x = fs;\n", 'src/activities/example.ts')).toEqual([]);
  });
});
