import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { callerOf } from '../http/auth.js';
import { coerceFormFields } from '../http/form-fields.js';
import { BODY_ERRORS, errorResponses, IDEMPOTENT } from '../http/schemas.js';
import {
  beforeCommitOf,
  IdempotencyHeaders,
  idempotentRoute,
  replayable,
} from '../idempotency/idempotency.hooks.js';
import type { IdempotencyDeps } from '../idempotency/idempotency.service.js';
import {
  ListAttemptsQuery,
  RecoverBody,
  Recovery,
  Resend,
  ResendBody,
  WebhookAttemptList,
} from './deliveries.schema.js';
import type { DeliveryDeps } from './deliveries.service.js';
import * as service from './deliveries.service.js';
import { WebhookEndpointIdParams } from './webhooks.schema.js';

// Resend and recover answer the same errors: the body's, its parameters', and the missing object.
const WRITE_ERROR_RESPONSES = errorResponses(
  [...BODY_ERRORS, 'parameter_missing', 'parameter_unknown', 'parameter_invalid', 'resource_missing'],
  IDEMPOTENT,
);
const IdParams = Type.Object(
  { id: Type.String({ maxLength: 64, description: 'The event id, `evt_…`.' }) },
  { additionalProperties: false },
);

/** Thin: parse (Fastify does, from the schemas), call the service, reply. */
export const deliveryRoutes: FastifyPluginAsyncTypebox<{
  deps: DeliveryDeps;
  idempotency: IdempotencyDeps;
}> = async (app, { deps, idempotency }) => {
  const idempotent = idempotentRoute(idempotency);
  app.addHook('preValidation', async (request) => coerceFormFields(request));

  app.get(
    '/v1/webhook_endpoints/:id/attempts',
    {
      schema: {
        operationId: 'listWebhookAttempts',
        summary: "List a webhook endpoint's delivery attempts",
        description: 'Newest first, with cursors and an optional `event` filter. No bodies are kept.',
        tags: ['Webhook endpoints'],
        params: WebhookEndpointIdParams,
        querystring: ListAttemptsQuery,
        response: {
          200: Type.Ref(WebhookAttemptList),
          ...errorResponses([
            'parameter_unknown',
            'parameter_invalid',
            'parameters_exclusive',
            'resource_missing',
          ]),
        },
      },
    },
    async (request) => service.listAttempts(deps, callerOf(request), request.params.id, request.query),
  );

  app.post(
    '/v1/events/:id/resend',
    {
      ...idempotent,
      schema: {
        operationId: 'resendEvent',
        summary: 'Resend an event to an endpoint',
        description:
          'Queues one more delivery of the event to the endpoint, now, whatever happened before. The ' +
          "event's own delivery schedule is not changed.",
        tags: ['Events'],
        headers: IdempotencyHeaders,
        params: IdParams,
        body: ResendBody,
        response: {
          200: replayable(Type.Ref(Resend)),
          ...WRITE_ERROR_RESPONSES,
        },
      },
    },
    async (request) =>
      service.resendEvent(deps, callerOf(request), request.params.id, request.body, beforeCommitOf(request)),
  );

  app.post(
    '/v1/webhook_endpoints/:id/recover',
    {
      ...idempotent,
      schema: {
        operationId: 'recoverWebhookEndpoint',
        summary: 'Queue the events an endpoint missed',
        description:
          'Queues, in sequence order, every event since `since` of the types the endpoint wants that it has not ' +
          'received with a 2xx, including events written before it existed or while it was disabled.',
        tags: ['Webhook endpoints'],
        headers: IdempotencyHeaders,
        params: WebhookEndpointIdParams,
        body: RecoverBody,
        response: {
          200: replayable(Type.Ref(Recovery)),
          ...WRITE_ERROR_RESPONSES,
        },
      },
    },
    async (request) =>
      service.recoverEndpoint(
        deps,
        callerOf(request),
        request.params.id,
        request.body,
        beforeCommitOf(request),
      ),
  );
};
