import type { Kysely } from 'kysely';
import type { Config, DatabaseConfig } from '../config.js';
import type { Db, OpenOptions } from './db.js';
import { migrateToLatest } from './migrate.js';
import { openSqlite } from './sqlite.js';

export type { Db, OpenOptions } from './db.js';
export { NOTIFY_CHANNEL_KEYS } from './db.js';
export type { Coalesced, Coalescer, WriteBatch, WriteFn, WriteOptions } from './group-commit.js';

/**
 * Told to operators wherever a process has migrated a database already in use. PostgreSQL keeps
 * each connection's prepared statements (postgres.ts), and a `select *` prepared before a table's
 * columns changed is refused afterwards ("cached plan must not change result type") until its
 * connection goes.
 */
export const RESTART_AFTER_MIGRATION =
  "After a migration that changes a table's columns, restart the servers and workers already running on this database: until then PostgreSQL refuses some of their queries.";

/** PostgreSQL's client is loaded only by a process that uses it: on SQLite it is memory for nothing. */
export async function openDatabase(config: DatabaseConfig, options: OpenOptions = {}): Promise<Db> {
  if (config.dialect === 'sqlite') return openSqlite(config.path);
  const { openPostgres } = await import('./postgres.js');
  return openPostgres(config.url, options);
}

/** What opening takes from the configuration; a test may leave the query timeout out. */
export type DbConfig = Pick<Config, 'database'> & Partial<Pick<Config, 'dbQueryTimeoutMs'>>;

export interface OpenMigratedOptions extends Omit<OpenOptions, 'queryTimeoutMs'> {
  /**
   * Called with the names of the migrations applied when this opening changed the schema of a
   * database already in use (other processes may be running on the schema as it was).
   */
  onUpgraded?: (applied: string[]) => void;
}

/**
 * Opens the configured database and brings its schema up to date. Every process opens its
 * database here, so each gets the configured query timeout.
 */
export async function openMigrated(config: DbConfig, options: OpenMigratedOptions = {}): Promise<Db> {
  const { onUpgraded, ...open } = options;
  const db = await openDatabase(config.database, { ...open, queryTimeoutMs: config.dbQueryTimeoutMs });
  let migrated: { applied: string[]; before: number };
  try {
    migrated = await migrateToLatest(db.kysely as unknown as Kysely<unknown>, db.dialect);
  } catch (error) {
    await db.close();
    throw error;
  }
  if (migrated.applied.length > 0 && migrated.before > 0) onUpgraded?.(migrated.applied);
  return db;
}
