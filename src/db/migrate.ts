import { type Kysely, type Migration, sql } from 'kysely';
import type { DatabaseConfig } from '../config.js';
import { migrations } from './migrations.js';

/** Any fixed number: the advisory lock that serialises migrations across processes. */
const MIGRATION_LOCK_KEY = 4_242_001;

/**
 * Applies every pending migration in one transaction, so a failed migration leaves nothing
 * half-done; both dialects have transactional DDL. On PostgreSQL an advisory lock makes
 * processes that start together take turns. Table names are unqualified: they resolve through
 * the connection's search_path, so each schema keeps its own bookkeeping. Returns the names
 * applied, and how many had been applied before.
 */
export async function migrateToLatest(
  db: Kysely<unknown>,
  dialect: DatabaseConfig['dialect'],
): Promise<{ applied: string[]; before: number }> {
  const all = migrations(dialect);
  return db.transaction().execute(async (trx) => {
    if (dialect === 'postgres') await sql`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`.execute(trx);
    await trx.schema
      .createTable('lunipay_migrations')
      .ifNotExists()
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('applied', 'bigint', (c) => c.notNull())
      .execute();
    const rows = await sql<{ name: string }>`select name from lunipay_migrations`.execute(trx);
    const done = new Set(rows.rows.map((r) => r.name));
    const applied: string[] = [];
    for (const name of Object.keys(all).sort()) {
      if (done.has(name)) continue;
      await (all[name] as Migration).up(trx);
      await sql`insert into lunipay_migrations (name, applied) values (${name}, ${Math.floor(Date.now() / 1000)})`.execute(
        trx,
      );
      applied.push(name);
    }
    return { applied, before: done.size };
  });
}
