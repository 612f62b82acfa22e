import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { callerOf } from '../http/auth.js';
import { coerceFormFields } from '../http/form-fields.js';
import { pathIdHook } from '../http/route-hooks.js';
import { BODY_ERRORS, errorResponses, IDEMPOTENT } from '../http/schemas.js';
import { updateMethods } from '../http/update-methods.js';
import {
  beforeCommitOf,
  IdempotencyHeaders,
  idempotentRoute,
  replayable,
} from '../idempotency/idempotency.hooks.js';
import type { IdempotencyDeps } from '../idempotency/idempotency.service.js';
import {
  CreateWebhookEndpointBody,
  DeletedWebhookEndpoint,
  ListWebhookEndpointsQuery,
  RollSecretBody,
  UpdateWebhookEndpointBody,
  WebhookEndpoint,
  WebhookEndpointIdParams,
  WebhookEndpointList,
  WebhookEndpointWithSecret,
} from './webhooks.schema.js';
import { openReplay } from './webhooks.secrets.js';
import type { WebhookDeps } from './webhooks.service.js';
import * as service from './webhooks.service.js';

const tags = ['Webhook endpoints'];
const BASE = '/v1/webhook_endpoints';

/** Thin: parse (Fastify does, from the schemas), call the service, reply. */
export const webhookEndpointRoutes: FastifyPluginAsyncTypebox<{
  deps: WebhookDeps;
  idempotency: IdempotencyDeps;
}> = async (app, { deps, idempotency }) => {
  const idempotent = idempotentRoute(idempotency);
  // Form fields that are booleans, integers or lists take those types before validation.
  app.addHook('preValidation', async (request) => coerceFormFields(request));
  app.addHook('preHandler', pathIdHook('we', service.notFound));
  // A replayed create or roll shows the secret it showed the first time; it is stored sealed.
  app.addHook('onSend', async (_request, reply, payload) =>
    reply.getHeader('Idempotent-Replayed') === 'true' && typeof payload === 'string'
      ? openReplay(deps.secretBox, payload)
      : payload,
  );

  app.post(
    BASE,
    {
      ...idempotent,
      schema: {
        operationId: 'createWebhookEndpoint',
        summary: 'Create a webhook endpoint',
        description:
          'Registers a URL to receive events of this mode. The answer holds the signing `secret`, shown only here ' +
          'and in roll_secret. At most 16 endpoints per account and mode.',
        tags,
        headers: IdempotencyHeaders,
        body: CreateWebhookEndpointBody,
        response: {
          200: replayable(Type.Ref(WebhookEndpointWithSecret)),
          ...errorResponses(
            [...BODY_ERRORS, 'parameter_missing', 'parameter_unknown', 'parameter_invalid', 'limit_exceeded'],
            IDEMPOTENT,
          ),
        },
      },
    },
    async (request) => service.createEndpoint(deps, callerOf(request), request.body, beforeCommitOf(request)),
  );

  app.get(
    `${BASE}/:id`,
    {
      schema: {
        operationId: 'retrieveWebhookEndpoint',
        summary: 'Retrieve a webhook endpoint',
        description: 'Fetches a webhook endpoint by id. Its secret is never shown again.',
        tags,
        params: WebhookEndpointIdParams,
        response: { 200: Type.Ref(WebhookEndpoint), ...errorResponses(['resource_missing']) },
      },
    },
    async (request) => service.retrieveEndpoint(deps, callerOf(request), request.params.id),
  );

  const update = {
    ...idempotent,
    schema: {
      summary: 'Update a webhook endpoint',
      description:
        'Changes any subset of `url`, `enabled_events`, `description` and `metadata` (merged key by key), ' +
        'or disables and enables the endpoint. An empty body changes nothing.',
      tags,
      headers: IdempotencyHeaders,
      params: WebhookEndpointIdParams,
      body: UpdateWebhookEndpointBody,
      response: {
        200: replayable(Type.Ref(WebhookEndpoint)),
        ...errorResponses(
          [...BODY_ERRORS, 'parameter_unknown', 'parameter_invalid', 'resource_missing'],
          IDEMPOTENT,
        ),
      },
    },
  };
  for (const { method, ...names } of updateMethods('updateWebhookEndpoint', update.schema.summary)) {
    app.route({
      method,
      url: `${BASE}/:id`,
      ...update,
      schema: { ...update.schema, ...names },
      handler: async (request) =>
        service.updateEndpoint(
          deps,
          callerOf(request),
          request.params.id,
          request.body,
          beforeCommitOf(request),
        ),
    });
  }

  app.delete(
    `${BASE}/:id`,
    {
      ...idempotent,
      schema: {
        operationId: 'deleteWebhookEndpoint',
        summary: 'Delete a webhook endpoint',
        description: 'Permanently deletes a webhook endpoint and its secrets; it receives nothing more.',
        tags,
        headers: IdempotencyHeaders,
        params: WebhookEndpointIdParams,
        response: {
          200: replayable(Type.Ref(DeletedWebhookEndpoint)),
          ...errorResponses([...BODY_ERRORS, 'resource_missing'], IDEMPOTENT),
        },
      },
    },
    async (request) =>
      service.deleteEndpoint(deps, callerOf(request), request.params.id, beforeCommitOf(request)),
  );

  app.post(
    `${BASE}/:id/roll_secret`,
    {
      ...idempotent,
      schema: {
        operationId: 'rollWebhookEndpointSecret',
        summary: 'Roll a webhook endpoint’s secret',
        description:
          'Makes a new signing secret, shown in this answer only. The secrets signing until now keep signing ' +
          'beside it for `expires_in` seconds at most (default 86400; 0 stops them at once).',
        tags,
        headers: IdempotencyHeaders,
        params: WebhookEndpointIdParams,
        body: RollSecretBody,
        response: {
          200: replayable(Type.Ref(WebhookEndpointWithSecret)),
          ...errorResponses(
            [...BODY_ERRORS, 'parameter_unknown', 'parameter_invalid', 'resource_missing'],
            IDEMPOTENT,
          ),
        },
      },
    },
    async (request) =>
      service.rollSecret(deps, callerOf(request), request.params.id, request.body, beforeCommitOf(request)),
  );

  app.get(
    BASE,
    {
      schema: {
        operationId: 'listWebhookEndpoints',
        summary: 'List webhook endpoints',
        description: 'Returns a cursor-paginated list of webhook endpoints, newest first.',
        tags,
        querystring: ListWebhookEndpointsQuery,
        response: {
          200: Type.Ref(WebhookEndpointList),
          ...errorResponses(['parameter_unknown', 'parameter_invalid', 'parameters_exclusive']),
        },
      },
    },
    async (request) => service.listEndpoints(deps, callerOf(request), request.query),
  );
};
