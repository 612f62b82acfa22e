import { rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { type Seeded, seed } from './seed.js';

/** A seeded database for one dialect: where it is, as the server's LUNIPAY_DATABASE_URL, and how to drop it. */
export interface Prepared {
  seeded: Seeded;
  url: string;
  drop(): Promise<void>;
}

export interface PrepareOptions {
  customers: number;
  workDir: string;
  idsFile: string;
  /** PostgreSQL: the database to make a fresh schema in. */
  pgUrl: string;
  /** Unique per run: names the PostgreSQL schema. */
  runId: string;
}

const SAMPLE_IDS = 10_000;

export async function prepare(dialect: 'sqlite' | 'postgres', options: PrepareOptions): Promise<Prepared> {
  if (dialect === 'sqlite') {
    const path = join(options.workDir, 'bench.sqlite');
    const seeded = await seed(
      { dialect: 'sqlite', path },
      { count: options.customers, sampleSize: SAMPLE_IDS, idsFile: options.idsFile },
    );
    return {
      seeded,
      url: `sqlite:${path}`,
      async drop() {
        for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
      },
    };
  }
  const schema = `bench_${options.runId}`;
  const seeded = await seed(
    { dialect: 'postgres', url: options.pgUrl },
    { count: options.customers, pgSchema: schema, sampleSize: SAMPLE_IDS, idsFile: options.idsFile },
  );
  const separator = options.pgUrl.includes('?') ? '&' : '?';
  return {
    seeded,
    url: `${options.pgUrl}${separator}options=${encodeURIComponent(`-c search_path=${schema}`)}`,
    async drop() {
      const client = new pg.Client({ connectionString: options.pgUrl });
      await client.connect();
      try {
        await client.query(`drop schema if exists ${schema} cascade`);
      } finally {
        await client.end();
      }
    },
  };
}

/** PostgreSQL backends connected to the bench database: their CPU is the server's database time. */
export async function backendPids(pgUrl: string): Promise<number[]> {
  const client = new pg.Client({ connectionString: pgUrl });
  await client.connect();
  try {
    const rows = await client.query<{ pid: number }>(
      'select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
    );
    return rows.rows.map((r) => r.pid);
  } finally {
    await client.end();
  }
}
