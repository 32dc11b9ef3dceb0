// The shape of src/ the code review asked for, checked: no import cycles, the activities and the
// fleet client do not import each other (the orchestrator wires them), and queries live in the
// repositories (a lint rule; proved here to fire).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src');

/** Every .ts file under src/ with the src/ files it imports or re-exports (type-only imports too). */
function importGraph(): Map<string, string[]> {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (p.endsWith('.ts')) files.push(p);
    }
  };
  walk(src);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const text = fs.readFileSync(file, 'utf8');
    const deps: string[] = [];
    for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'(\.[^']+)'/g)) {
      const target = path.resolve(path.dirname(file), (m[1] as string).replace(/\.js$/, '.ts'));
      if (fs.existsSync(target)) deps.push(target);
    }
    graph.set(file, deps);
  }
  return graph;
}

const rel = (file: string) => path.relative(src, file);

describe('src/ structure', () => {
  const graph = importGraph();

  it('sees the imports (the scan is not vacuous)', () => {
    expect(graph.size).toBeGreaterThan(100);
    expect(graph.get(path.join(src, 'orchestrator/fleet-client.ts'))?.map(rel)).toEqual(expect.arrayContaining(['activities/fleet.ts', 'fleet/index.ts', 'registry/traffic.ts']));
  });

  it('has no import cycle', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (file: string, trail: string[]) => {
      state.set(file, 'open');
      for (const dep of graph.get(file) ?? []) {
        if (state.get(dep) === 'open') cycles.push([...trail.slice(trail.indexOf(dep)), dep].map(rel).join(' → '));
        else if (!state.has(dep)) visit(dep, [...trail, dep]);
      }
      state.set(file, 'done');
    };
    for (const file of graph.keys()) if (!state.has(file)) visit(file, [file]);
    expect(cycles).toEqual([]);
  });

  it('has no import loop between the folders of src/', () => {
    // Folder to folder (activities → fleet → activities was one before the orchestrator wired them).
    const top = (file: string) => rel(file).split(path.sep)[0]!.replace(/\.ts$/, '');
    const edges = new Map<string, Set<string>>();
    for (const [file, deps] of graph) {
      const set = edges.get(top(file)) ?? new Set<string>();
      for (const dep of deps) if (top(dep) !== top(file)) set.add(top(dep));
      edges.set(top(file), set);
    }
    const loops: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (folder: string, trail: string[]) => {
      state.set(folder, 'open');
      for (const next of edges.get(folder) ?? []) {
        if (state.get(next) === 'open') loops.push([...trail.slice(trail.indexOf(next)), next].join(' → '));
        else if (!state.has(next)) visit(next, [...trail, next]);
      }
      state.set(folder, 'done');
    };
    for (const folder of edges.keys()) if (!state.has(folder)) visit(folder, [folder]);
    expect(edges.get('orchestrator')).toEqual(expect.any(Set));
    expect(loops).toEqual([]);
  });

  it('has no source file over 600 lines', () => {
    const long = [...graph.keys()].map((file) => ({ file: rel(file), lines: fs.readFileSync(file, 'utf8').split('\n').length }))
      .filter((f) => f.lines > 600);
    expect(long).toEqual([]);
  });

  it('keeps activities/ and fleet/ apart', () => {
    const crossing: string[] = [];
    for (const [file, deps] of graph) {
      const from = rel(file).split(path.sep)[0];
      for (const dep of deps) {
        const to = rel(dep).split(path.sep)[0];
        if ((from === 'activities' && to === 'fleet') || (from === 'fleet' && to === 'activities')) crossing.push(`${rel(file)} → ${rel(dep)}`);
      }
    }
    expect(crossing).toEqual([]);
  });
});

describe('queries live in src/registry/', () => {
  const eslint = new ESLint();
  const problems = async (code: string, filePath: string) => {
    const [result] = await eslint.lintText(code, { filePath });
    return (result?.messages ?? []).map((m) => m.message);
  };

  it('refuses a query, or the query builder as a value, outside the repositories', async () => {
    const query = "import type { Db } from '../registry/db.js';\nexport const q = (db: Db) => db.selectFrom('models').selectAll().execute();\n";
    expect(await problems(query, 'src/activities/example.ts')).toEqual([expect.stringMatching(/src\/registry\/ repository functions/)]);
    expect(await problems(query.replace('selectFrom', 'insertInto'), 'src/api/routes/example.ts')).toHaveLength(1);
    expect(await problems("import { sql } from 'kysely';\nexport const s = sql`SELECT 1`;\n", 'src/serving/membership/example.ts')).toEqual([expect.stringMatching(/import Kysely as a type only/)]);
    expect(await problems("import pg from 'pg';\nexport const c = pg.Client;\n", 'src/fleet/example.ts')).toEqual([expect.stringMatching(/repository function/)]);
  });

  it('allows them in the repositories, and Kysely as a type anywhere', async () => {
    expect(await problems("import { sql } from 'kysely';\nimport type { Db } from './db.js';\nexport const q = (db: Db) => db.selectFrom('models').select(sql<number>`1`.as('one')).execute();\n", 'src/registry/example.ts')).toEqual([]);
    expect(await problems("import type { Kysely } from 'kysely';\nexport type K = Kysely<object>;\n", 'src/activities/example.ts')).toEqual([]);
  });
});
