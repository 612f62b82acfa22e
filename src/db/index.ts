import type { Kysely } from 'kysely';
import type { Config } from '../config.js';
import { type Db, type OpenOptions, openDatabase } from './connect.js';
import { migrateToLatest } from './migrations.js';

/** Opens the configured database and brings its schema up to date. */
export async function openMigrated(database: Config['database'], options: OpenOptions = {}): Promise<Db> {
  const db = await openDatabase(database, options);
  try {
    await migrateToLatest(db.kysely as unknown as Kysely<unknown>, db.dialect);
  } catch (error) {
    await db.close();
    throw error;
  }
  return db;
}

export type { Db } from './connect.js';
