import { type TSchema, Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { BeforeCommit, Origin } from '../db/write-hooks.js';
import { callerOf } from '../http/auth.js';
import type { IdempotencyDeps, Lease } from './idempotency.service.js';
import * as service from './idempotency.service.js';

/**
 * Route hooks that make a write idempotent. Where each runs decides what is recorded:
 * - `onRequest`, after the auth hook: a malformed key is a 400 (after a 401, before any body
 *   error), and nothing is looked up.
 * - `preHandler`, after parsing and validation: only a request that passed both claims the key,
 *   so a request refused for its key, its body or its parameters can be retried with that key.
 * - `onSend`, before the response leaves: a request that ended without storing its response
 *   (any error) releases the key, so a retry can run it at once.
 */

interface State {
  key: string;
  lease?: Lease;
  serialize?: (status: number, body: unknown) => string;
  recorded: boolean;
}

// Per-request state, private to these hooks.
const states = new WeakMap<FastifyRequest, State>();

/** Documents the header in the OpenAPI document; other headers stay allowed. */
export const IdempotencyHeaders = Type.Object({
  [service.KEY_HEADER]: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 255,
      pattern: service.KEY_PATTERN,
      description:
        'Makes the write idempotent: retries with the same key and parameters within 24 hours get the ' +
        'first response back (with `Idempotent-Replayed: true`) and have no further effect. ' +
        '1–255 printable ASCII characters, scoped to the API key’s account and mode.',
    }),
  ),
});

/**
 * A success response of an idempotent route, documented with the header a replay carries. Only
 * the OpenAPI document reads `headers`; serialization ignores it.
 */
export function replayable(schema: TSchema): TSchema {
  return {
    ...schema,
    headers: {
      'Idempotent-Replayed': {
        type: 'string',
        enum: ['true'],
        description:
          'Present on a replay: this is the stored response of the first request with the same `Idempotency-Key`.',
      },
    },
  };
}

/** The path with its parameters filled in, e.g. `/v1/customers/cus_…`, whatever the raw URL. */
function routedPath(request: FastifyRequest): string {
  const params = (request.params ?? {}) as Record<string, string>;
  return (request.routeOptions.url ?? '').replace(/:(\w+)/g, (_, name: string) => params[name] ?? '');
}

/** The validated body; a route without a body schema (DELETE) takes no parameters. */
function paramsOf(request: FastifyRequest): unknown {
  return request.routeOptions.schema?.body ? request.body : {};
}

function responseSerializer(reply: FastifyReply) {
  // The route's own serializer: the stored body is byte for byte what the first response sent.
  return (status: number, body: unknown): string => {
    const serialize = reply.getSerializationFunction(String(status));
    return serialize ? serialize(body as Record<string, unknown>) : JSON.stringify(body);
  };
}

export function idempotentRoute(deps: IdempotencyDeps) {
  return {
    async onRequest(request: FastifyRequest): Promise<void> {
      const key = service.parseKey(request.headers['idempotency-key']);
      if (key !== undefined) states.set(request, { key, recorded: false });
    },

    async preHandler(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
      const state = states.get(request);
      if (!state) return undefined;
      const claim = await service.claim(deps, {
        auth: callerOf(request),
        key: state.key,
        method: request.method,
        path: routedPath(request),
        params: paramsOf(request),
      });
      if (claim.kind === 'replay') {
        return reply
          .code(claim.status)
          .header('Idempotent-Replayed', 'true')
          .type('application/json; charset=utf-8')
          .send(claim.body);
      }
      state.lease = claim.lease;
      state.serialize = responseSerializer(reply);
      return undefined;
    },

    async onSend(request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
      const state = states.get(request);
      if (!state?.lease) return payload;
      if (state.recorded && reply.statusCode < 400) return payload;
      if (reply.statusCode < 400) {
        request.log.error('an idempotent route answered without recording its response');
      }
      try {
        await service.release(deps, state.lease);
      } catch (error) {
        // The lease still runs out, and then a retry takes the key over.
        request.log.warn({ err: error }, 'could not release an idempotency key');
      }
      return payload;
    },
  };
}

/**
 * What a route passes to the service as `beforeCommit`: stores the response with the write's
 * effect. Undefined when the request carries no key.
 */
export function beforeCommitOf(request: FastifyRequest): BeforeCommit | undefined {
  const state = states.get(request);
  if (!state?.lease || !state.serialize) return undefined;
  const record = service.recordResponse(state.lease, state.serialize);
  return async (trx, response) => {
    await record(trx, response);
    // Only a success that follows counts as committed; an error after this still releases.
    state.recorded = true;
  };
}

/** The origin of a write an API request makes: the request's id, the key it was sent with, if any. */
export function originOf(request: FastifyRequest): Origin {
  return { requestId: request.id, idempotencyKey: states.get(request)?.key ?? null, source: 'api' };
}
