import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { callerOf } from '../http/auth.js';
import { coerceFormFields } from '../http/form-fields.js';
import { pathIdHook } from '../http/route-hooks.js';
import { BODY_ERRORS, errorResponses, IDEMPOTENT } from '../http/schemas.js';
import {
  beforeCommitOf,
  IdempotencyHeaders,
  idempotentRoute,
  replayable,
} from '../idempotency/idempotency.hooks.js';
import type { IdempotencyDeps } from '../idempotency/idempotency.service.js';
import {
  CreatePortalSessionBody,
  ListPortalSessionsQuery,
  PortalSession,
  PortalSessionIdParams,
  PortalSessionList,
  PortalSessionWithUrl,
} from './portal-sessions.schema.js';
import type { PortalDeps } from './sessions.service.js';
import * as service from './sessions.service.js';

const tags = ['Portal sessions'];
const BASE = '/v1/portal_sessions';

/** Thin: parse (Fastify does, from the schemas), call the service, reply. */
export const portalSessionRoutes: FastifyPluginAsyncTypebox<{
  deps: PortalDeps;
  idempotency: IdempotencyDeps;
}> = async (app, { deps, idempotency }) => {
  const idempotent = idempotentRoute(idempotency);
  app.addHook('preValidation', async (request) => coerceFormFields(request));
  app.addHook('preHandler', pathIdHook('ps', service.notFound));
  // A replayed create shows the URL it showed the first time; it is stored sealed.
  app.addHook('onSend', async (_request, reply, payload) =>
    reply.getHeader('Idempotent-Replayed') === 'true' && typeof payload === 'string'
      ? service.openReplay(deps.secretBox, payload)
      : payload,
  );

  app.post(
    BASE,
    {
      ...idempotent,
      schema: {
        operationId: 'createPortalSession',
        summary: 'Create a portal session',
        description:
          'Makes a link that signs one customer into the customer portal. Redirect the customer’s browser to ' +
          '`url` (shown only in this answer); it opens once, before `expires_at`.',
        tags,
        headers: IdempotencyHeaders,
        body: CreatePortalSessionBody,
        response: {
          200: replayable(Type.Ref(PortalSessionWithUrl)),
          ...errorResponses(
            [
              ...BODY_ERRORS,
              'parameter_missing',
              'parameter_unknown',
              'parameter_invalid',
              'resource_missing',
            ],
            IDEMPOTENT,
          ),
        },
      },
    },
    async (request) =>
      service.createPortalSession(deps, callerOf(request), request.body, beforeCommitOf(request)),
  );

  app.get(
    `${BASE}/:id`,
    {
      schema: {
        operationId: 'retrievePortalSession',
        summary: 'Retrieve a portal session',
        description: 'Fetches a portal session by id, with its status. Its `url` is never shown again.',
        tags,
        params: PortalSessionIdParams,
        response: { 200: Type.Ref(PortalSession), ...errorResponses(['resource_missing']) },
      },
    },
    async (request) => service.retrievePortalSession(deps, callerOf(request), request.params.id),
  );

  app.get(
    BASE,
    {
      schema: {
        operationId: 'listPortalSessions',
        summary: 'List a customer’s portal sessions',
        description:
          'Returns a cursor-paginated list of one customer’s portal sessions, newest first: those made with ' +
          'this API and those the customer started by signing in with their email.',
        tags,
        querystring: ListPortalSessionsQuery,
        response: {
          200: Type.Ref(PortalSessionList),
          ...errorResponses([
            'parameter_missing',
            'parameter_unknown',
            'parameter_invalid',
            'parameters_exclusive',
            'resource_missing',
          ]),
        },
      },
    },
    async (request) => service.listPortalSessions(deps, callerOf(request), request.query),
  );

  app.post(
    `${BASE}/:id/revoke`,
    {
      ...idempotent,
      schema: {
        operationId: 'revokePortalSession',
        summary: 'Revoke a portal session',
        description:
          'Ends the session: its link no longer opens, and the browser session it started ends at its next ' +
          'request. Revoking a revoked session changes nothing.',
        tags,
        headers: IdempotencyHeaders,
        params: PortalSessionIdParams,
        response: {
          200: replayable(Type.Ref(PortalSession)),
          ...errorResponses([...BODY_ERRORS, 'resource_missing'], IDEMPOTENT),
        },
      },
    },
    async (request) =>
      service.revokePortalSession(deps, callerOf(request), request.params.id, beforeCommitOf(request)),
  );
};
