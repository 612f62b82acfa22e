import type { FastifyRequest } from 'fastify';
import type { AppError } from '../errors.js';
import { type IdPrefix, isId } from '../ids.js';
import { QUERY_ERROR } from './form.js';

/**
 * Before validation, on every API route: a write sent with no body at all (`curl -X POST`) has
 * no parameters, like an empty form. A query string that could not be parsed is an error only
 * where a query is read (a route with a querystring schema); the other routes ignore their query
 * string, broken or not, as their documents say.
 */
export async function parametersHook(request: FastifyRequest): Promise<void> {
  if (request.body === undefined || request.body === null) request.body = {};
  const queryError = (request.query as Record<symbol, unknown>)[QUERY_ERROR];
  if (queryError && request.routeOptions.schema?.querystring) throw queryError;
}

/**
 * A resource's `preHandler`: a path id that is not one of its ids (`<prefix>_` and a ULID) is
 * its 404 before anything is looked up or stored. An Idempotency-Key is not claimed for it
 * either, since that hook runs later (PostgreSQL cannot even store a path holding NUL).
 */
export function pathIdHook(prefix: IdPrefix, notFound: (id: string) => AppError) {
  return async (request: FastifyRequest): Promise<void> => {
    const id = (request.params as { id?: string } | undefined)?.id;
    if (id !== undefined && !isId(prefix, id)) throw notFound(id);
  };
}
