import type { Writable } from 'node:stream';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import * as accounts from './accounts/accounts.service.js';
import type { Config } from './config.js';
import { customerRoutes } from './customers/customers.routes.js';
import { Customer, CustomerList, DeletedCustomer } from './customers/customers.schema.js';
import type { Db } from './db/connect.js';
import { AppError } from './errors.js';
import { authHook } from './http/auth.js';
import { BODY_LIMIT, parseForm, registerBodyParsers } from './http/body.js';
import { registerErrorHandler, send, toAppError } from './http/error-handler.js';
import { loggerOptions } from './http/logging.js';
import { openapiOptions, operationRoutes } from './http/operations.js';
import { ErrorEnvelope } from './http/schemas.js';
import { validatorCompiler } from './http/validation.js';
import { newId } from './ids.js';
import { provisioningNotices, stripeOutbox } from './jobs/outbox.js';
import { createStripeGateway, type StripeGateway } from './stripe/gateway.js';

export interface AppDeps {
  config: Config;
  db: Db;
  /** Where log lines go; stdout when not given. */
  logStream?: Writable;
  /** Decides which modes provision into Stripe; made from the configuration when not given. */
  gateway?: StripeGateway;
}

/** Every path the API serves and the methods it allows there; any other method is a 405. */
const ROUTES: Record<string, string[]> = {
  '/v1/customers': ['GET', 'POST'],
  '/v1/customers/:id': ['GET', 'POST', 'PATCH', 'DELETE'],
};
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** Builds the whole HTTP application; it never listens (server.ts does). */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    ...loggerOptions(deps.config.logLevel, deps.logStream),
    bodyLimit: BODY_LIMIT,
    // Ids are ours: a client-sent request id is not trusted.
    requestIdHeader: false,
    genReqId: () => newId('req'),
    routerOptions: { querystringParser: parseForm, maxParamLength: 200 },
    frameworkErrors: (error, _request, reply) => {
      send(
        reply,
        toAppError(error) ?? new AppError('url_invalid', 'The request URL could not be understood.'),
      );
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.decorateRequest('auth', null);
  app.addHook('onRequest', async (request, reply) => {
    reply.header('Request-Id', request.id);
  });
  app.setValidatorCompiler(validatorCompiler);
  registerBodyParsers(app);
  registerErrorHandler(app);

  for (const schema of [ErrorEnvelope, Customer, CustomerList, DeletedCustomer]) app.addSchema(schema);
  await app.register(swagger, openapiOptions);

  for (const [url, allowed] of Object.entries(ROUTES)) {
    app.route({
      method: METHODS.filter((m) => !allowed.includes(m)),
      url,
      schema: { hide: true },
      handler: async (request) => {
        throw new AppError('method_not_allowed', `${request.method} is not allowed on ${url}.`, undefined, {
          Allow: allowed.join(', '),
        });
      },
    });
  }

  const gateway = deps.gateway ?? createStripeGateway(deps.config.stripe);
  for (const notice of provisioningNotices(gateway)) app.log.warn(notice);
  // Every customer write queues its Stripe work in its own transaction (the outbox).
  const hooks = [stripeOutbox({ gateway, dialect: deps.db.dialect })];

  await app.register(operationRoutes, { db: deps.db });
  await app.register(async (api) => {
    api.addHook(
      'onRequest',
      authHook((secret) => accounts.authenticate(deps.db, secret)),
    );
    await api.register(customerRoutes, { deps: { db: deps.db, hooks } });
  });

  return app;
}
