// A real PostgreSQL 15 for store tests: initdb + pg_ctl in a temporary folder owned by the
// postgres user, listening on 127.0.0.1 only, stopped (and its folder removed) by stop().
// CI (`.ci/start-postgres`) starts one server for the whole run and exports KVCPU_TEST_PG_URL;
// without it each test file starts its own.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

const BIN = '/usr/lib/postgresql/15/bin';

export interface TestPostgres {
  /** URL of a fresh, empty database made for the caller. */
  newDatabase(): Promise<string>;
  stop(): Promise<void>;
}

/** Why PostgreSQL cannot run here, or null when it can (for ctx.skip / describe.skipIf). */
export function postgresUnavailable(): string | null {
  if (process.env.KVCPU_TEST_PG_URL) return null;
  if (!existsSync(path.join(BIN, 'initdb'))) return `PostgreSQL 15 is not installed (${BIN}/initdb missing: apt-get install postgresql)`;
  if (process.getuid?.() !== 0) return 'starting PostgreSQL for tests needs root (to run initdb as the postgres user)';
  if (spawnSync('id', ['postgres']).status !== 0) return 'there is no postgres user';
  return null;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

const asPostgres = (cmd: string, args: string[]) =>
  execFileSync('runuser', ['-u', 'postgres', '--', path.join(BIN, cmd), ...args], { stdio: 'pipe', timeout: 60_000 });

let counter = 0;

/** Use CI's server (KVCPU_TEST_PG_URL) or start one of our own. */
export async function startPostgres(): Promise<TestPostgres> {
  const shared = process.env.KVCPU_TEST_PG_URL;
  const { Client } = (await import('pg')).default;
  const created: string[] = [];
  let adminUrl: string;
  let dir: string | null = null;
  if (shared) {
    adminUrl = shared;
  } else {
    dir = mkdtempSync(path.join(tmpdir(), 'kvcpu-pg-'));
    chmodSync(dir, 0o777);
    execFileSync('chown', ['postgres:postgres', dir]);
    const data = path.join(dir, 'data');
    asPostgres('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
    const port = await freePort();
    asPostgres('pg_ctl', [
      '-D',
      data,
      '-l',
      path.join(dir, 'LOG'),
      '-w',
      '-t',
      '60',
      '-o',
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
      'start',
    ]);
    adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  }
  const admin = async (sql: string) => {
    const c = new Client({ connectionString: adminUrl });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  return {
    async newDatabase() {
      const name = `kvcpu_t${process.pid}_${++counter}_${Date.now() % 100000}`;
      await admin(`CREATE DATABASE ${name}`);
      created.push(name);
      const u = new URL(adminUrl);
      u.pathname = `/${name}`;
      return u.toString();
    },
    async stop() {
      if (shared) {
        for (const n of created) await admin(`DROP DATABASE IF EXISTS ${n} WITH (FORCE)`).catch(() => undefined);
        return;
      }
      if (!dir) return;
      try {
        asPostgres('pg_ctl', ['-D', path.join(dir, 'data'), '-m', 'immediate', '-w', 'stop']);
      } catch (e) {
        const log = existsSync(path.join(dir, 'LOG')) ? readFileSync(path.join(dir, 'LOG'), 'utf8').slice(-2000) : '';
        throw new Error(`pg_ctl stop failed: ${(e as Error).message}\n${log}`, { cause: e });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
