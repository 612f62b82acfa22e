import { type Kysely, PostgresAdapter } from 'kysely';

/**
 * Whether a connection or transaction talks to PostgreSQL. Stores ask this only where the two
 * dialects want different statements for the same effect (one round trip on PostgreSQL where
 * SQLite, in-process, is as fast with two).
 */
export const onPostgres = (q: Pick<Kysely<unknown>, 'getExecutor'>): boolean =>
  q.getExecutor().adapter instanceof PostgresAdapter;
