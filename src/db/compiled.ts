import type { CompiledQuery, Kysely } from 'kysely';
import type { Database } from './schema.js';

/**
 * A query built and compiled once per database handle, then run with new parameters: for the
 * few queries on every request's path, where building and compiling the query each time costs
 * more than running it. `build` must put the parameters in the order `run` is given them, and
 * its shape must not depend on their values.
 */
export function compiledOnce<P extends unknown[], R>(
  build: (db: Kysely<Database>, ...params: P) => { compile(): CompiledQuery<R> },
) {
  const cache = new WeakMap<Kysely<Database>, CompiledQuery<R>>();
  return async (db: Kysely<Database>, ...params: P): Promise<R[]> => {
    let compiled = cache.get(db);
    if (!compiled) {
      compiled = build(db, ...params).compile();
      if (compiled.parameters.length !== params.length)
        throw new Error('compiledOnce: parameters out of step');
      cache.set(db, compiled);
    }
    const result = await db.executeQuery<R>({ ...compiled, parameters: params });
    return result.rows;
  };
}
