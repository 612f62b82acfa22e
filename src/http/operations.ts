import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import type { FastifyPluginAsync } from 'fastify';
import type { Db } from '../db/index.js';
import { errorResponses } from './schemas.js';

export const openapiOptions: FastifyDynamicSwaggerOptions = {
  openapi: {
    openapi: '3.1.0',
    info: {
      title: 'LuniPay Customers API',
      version: '1.0.0',
      description:
        'The people and businesses a merchant bills, each provisioned as a Stripe Customer on the merchant’s connected account.',
      license: { name: 'Proprietary', identifier: 'LicenseRef-LuniPay' },
    },
    servers: [{ url: 'http://127.0.0.1:4242', description: 'A local server started with `npm start`.' }],
    tags: [
      { name: 'Customers', description: 'The people and businesses you bill.' },
      {
        name: 'Webhook endpoints',
        description: 'URLs that receive your events, signed so you can tell they come from LuniPay.',
      },
      { name: 'Events', description: 'Every change to a customer, as a list and as a feed.' },
      { name: 'Operations', description: 'Health and the API description.' },
    ],
    components: {
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          description: 'A secret key, `sk_test_…` or `sk_live_…`.',
        },
        basicAuth: {
          type: 'http',
          scheme: 'basic',
          description: 'The secret key as the user name, no password.',
        },
      },
    },
    security: [{ bearerAuth: [] }, { basicAuth: [] }],
  },
  // A body whose schema is also registered is documented by reference, under its own name.
  transform: ({ schema, url, ...document }) => {
    const id = (schema?.body as { $id?: unknown } | undefined)?.$id;
    const shared = 'openapiObject' in document ? document.openapiObject.components?.schemas : undefined;
    const named = typeof id === 'string' && shared?.[id] !== undefined;
    return { schema: named ? { ...schema, body: { $ref: id } } : schema, url };
  },
  // Shared schemas keep their own names in components/schemas instead of def-0, def-1, …
  refResolver: { buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`) },
};

/** Routes that need no key: health and the API description. */
export const operationRoutes: FastifyPluginAsync<{ db: Db }> = async (app, { db }) => {
  app.get(
    '/healthz',
    {
      schema: {
        operationId: 'health',
        summary: 'Health check',
        description: 'Answers 200 when the database answers, 503 otherwise. Needs no key.',
        tags: ['Operations'],
        security: [],
        response: {
          200: {
            type: 'object',
            properties: { status: { type: 'string', enum: ['ok'] } },
            required: ['status'],
            additionalProperties: false,
          },
          ...errorResponses(['service_unavailable'], { authenticated: false }),
        },
      },
    },
    async () => {
      await db.ping();
      return { status: 'ok' as const };
    },
  );

  app.get(
    '/v1/openapi.json',
    {
      schema: {
        operationId: 'openapi',
        summary: 'The OpenAPI document',
        description:
          'This API described as OpenAPI 3.1, generated from the schemas that validate requests. Needs no key.',
        tags: ['Operations'],
        security: [],
        response: {
          200: { type: 'object', additionalProperties: true, description: 'An OpenAPI 3.1 document.' },
          ...errorResponses([], { authenticated: false }),
        },
      },
    },
    async () => app.swagger(),
  );
};
