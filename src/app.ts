import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { DestinationStream } from 'pino';
import * as accounts from './accounts/accounts.service.js';
import { KeyCache } from './accounts/key-cache.js';
import type { Config } from './config.js';
import { customerRoutes } from './customers/customers.routes.js';
import { CUSTOMER_SCHEMAS } from './customers/customers.schema.js';
import type { Db } from './db/index.js';
import type { CustomerWriteHook } from './db/write-hooks.js';
import { AppError, ErrorEnvelope, unavailable } from './errors.js';
import { eventRoutes } from './events/events.routes.js';
import { EVENT_SCHEMAS } from './events/events.schema.js';
import { startEventSweeper } from './events/events.sweeper.js';
import { authHook } from './http/auth.js';
import { BODY_LIMIT, registerBodyParsers } from './http/body.js';
import { docsRoutes } from './http/docs.js';
import { registerErrorHandler, send, toAppError, unknownUrl } from './http/error-handler.js';
import { parseQuery } from './http/form.js';
import { fastifyLoggerOptions } from './http/logging.js';
import { methodNotAllowed } from './http/method-not-allowed.js';
import { openapiOptions, operationRoutes } from './http/operations.js';
import { registerRateLimit } from './http/rate-limit.js';
import { parametersHook } from './http/route-hooks.js';
import { buildValidator } from './http/validation.js';
import { startSweeper } from './idempotency/idempotency.sweeper.js';
import { newId } from './ids.js';
import { provisioningNotices, stripeOutbox } from './jobs/outbox.js';
import { endPortalOfDeleted } from './portal/portal.hooks.js';
import { portalPages } from './portal/portal.pages.js';
import { portalSessionRoutes } from './portal/portal-sessions.routes.js';
import { PORTAL_SESSION_SCHEMAS } from './portal/portal-sessions.schema.js';
import { searchRoutes } from './search/search.routes.js';
import { SEARCH_SCHEMAS } from './search/search.schema.js';
import { startSearchUpkeep } from './search/search.upkeep.js';
import { ephemeralSecretBox, type SecretBox } from './secret-key.js';
import { createStripeGateway, type StripeGateway } from './stripe/gateway.js';
import { writeEventAndDeliveries } from './webhooks/deliveries.enqueue.js';
import { deliveryRoutes } from './webhooks/deliveries.routes.js';
import { DELIVERY_SCHEMAS } from './webhooks/deliveries.schema.js';
import { pendingCounts } from './webhooks/deliveries.store.js';
import { webhookEndpointRoutes } from './webhooks/webhooks.routes.js';
import { WEBHOOK_SCHEMAS } from './webhooks/webhooks.schema.js';

export interface AppDeps {
  config: Config;
  db: Db;
  /** Shared rate-limit counters (LUNIPAY_REDIS_URL); the caller owns the connection. */
  redis?: Redis;
  /** Where log lines go; stdout when not given. */
  logStream?: DestinationStream;
  /** Decides which modes provision into Stripe; made from the configuration when not given. */
  gateway?: StripeGateway;
  /**
   * Seals stored secrets; the entry points load it (loadSecretBox). When not given, a box with a
   * random key of this app's own: enough for tests and for writing the API document, but
   * nothing it seals can be opened by another process.
   */
  secretBox?: SecretBox;
}

/**
 * On every response: API answers are data for programs, never pages to render, frame or cache.
 * /docs replaces the content security policy with one that lets its own script run.
 */
const SECURITY_HEADERS = {
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'cross-origin-resource-policy': 'same-origin',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=63072000',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
};

/**
 * What every customer write does besides its row, in its transaction, wherever it comes from
 * (the API, the portal, the command line's import): queue its Stripe work (the outbox), end a
 * deleted customer's portal sessions, then write its event and the event's webhook deliveries.
 */
export function customerWriteHooks(gateway: StripeGateway, db: Db): CustomerWriteHook[] {
  return [stripeOutbox({ gateway, locksRows: db.locksRows }), endPortalOfDeleted, writeEventAndDeliveries];
}

/** Builds the whole HTTP application; it never listens (server.ts does). */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    ...fastifyLoggerOptions(deps.config.logLevel, deps.logStream),
    bodyLimit: BODY_LIMIT,
    // A slow client cannot hold a connection: the whole request must arrive within the request
    // timeout and its headers within 10 s of it (Node checks once a second rather than every 30 s).
    // Idle kept-alive connections close after Fastify's 72 s; headers are limited to Node's 16 KiB.
    requestTimeout: deps.config.requestTimeoutMs,
    http: {
      headersTimeout: Math.min(10_000, deps.config.requestTimeoutMs),
      connectionsCheckingInterval: 1000,
    },
    // Ids are ours: a client-sent request id is not trusted.
    requestIdHeader: false,
    genReqId: () => newId('req'),
    routerOptions: { querystringParser: parseQuery, maxParamLength: 200 },
    schemaController: { compilersFactory: { buildValidator } },
    // Fastify's own 503 while closing is not the error envelope: the hooks below answer instead.
    return503OnClosing: false,
    // Raised before any hook runs (a path that is not valid URL encoding, a parameter over
    // maxParamLength): the headers every response carries are set here too.
    frameworkErrors: (error, request, reply) => {
      reply.header('Request-Id', request.id).headers(SECURITY_HEADERS);
      send(
        reply,
        toAppError(error) ?? new AppError('url_invalid', 'The request URL could not be understood.'),
      );
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Before any route: the 405 table is read off the routes as they are added.
  const wrongMethods = methodNotAllowed(app);
  app.decorateRequest('auth', null);
  // Shutting down (app.close(), on SIGTERM): a request already in flight is finished and its
  // connection closed after it; one that arrives on a kept-alive connection gets a 503 and a closed
  // connection. Otherwise connections kept alive would hold the process for the keep-alive timeout.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  // These two run on every request: callback hooks, which cost no promise each.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('Request-Id', request.id).headers(SECURITY_HEADERS);
    // An unknown path is a 404 as the request arrives, before any body is read (a QUERY request
    // without a Content-Type was otherwise refused by Fastify's parser with an error that became a 500).
    if (request.is404) return done(unknownUrl(request));
    if (closing) {
      return done(
        unavailable('The server is shutting down. Please retry shortly.', {
          Connection: 'close',
          'Retry-After': '1',
        }),
      );
    }
    done();
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('Connection', 'close');
    done(null, payload);
  });
  registerBodyParsers(app);
  registerErrorHandler(app);

  // Each resource's named schemas, at the root: one resource's objects may hold another's.
  for (const schema of [
    ErrorEnvelope,
    ...CUSTOMER_SCHEMAS,
    ...EVENT_SCHEMAS,
    ...WEBHOOK_SCHEMAS,
    ...DELIVERY_SCHEMAS,
    ...SEARCH_SCHEMAS,
    ...PORTAL_SESSION_SCHEMAS,
  ])
    app.addSchema(schema);
  await app.register(swagger, openapiOptions);

  const gateway = deps.gateway ?? createStripeGateway(deps.config.stripe);
  for (const notice of provisioningNotices(gateway)) app.log.warn(notice);

  await app.register(operationRoutes, { db: deps.db });
  await app.register(docsRoutes);
  const secretBox = deps.secretBox ?? ephemeralSecretBox();
  const portal = { db: deps.db, publicUrl: deps.config.publicUrl, secretBox };
  const keyCache = new KeyCache(deps.db);
  app.addHook('onClose', async () => keyCache.close());
  await app.register(async (api) => {
    api.addHook(
      'onRequest',
      authHook((secret) => accounts.authenticate(deps.db, secret, keyCache)),
    );
    await registerRateLimit(api, { perSecond: deps.config.rateLimit, redis: deps.redis });
    api.addHook('preValidation', parametersHook);
    await api.register(customerRoutes, {
      deps: { db: deps.db, hooks: customerWriteHooks(gateway, deps.db) },
      idempotency: { db: deps.db, leaseMs: deps.config.idempotency.leaseMs },
    });
    await api.register(searchRoutes, { deps: { db: deps.db, secretBox } });
    await api.register(webhookEndpointRoutes, {
      deps: {
        db: deps.db,
        secretBox,
        allowPrivate: deps.config.webhooks.allowPrivate,
      },
      idempotency: { db: deps.db, leaseMs: deps.config.idempotency.leaseMs },
    });
    await api.register(deliveryRoutes, {
      deps: { db: deps.db, retentionDays: deps.config.events.retentionDays },
      idempotency: { db: deps.db, leaseMs: deps.config.idempotency.leaseMs },
    });
    await api.register(portalSessionRoutes, {
      deps: portal,
      idempotency: { db: deps.db, leaseMs: deps.config.idempotency.leaseMs },
    });
    await api.register(eventRoutes, {
      deps: { db: deps.db, pendingWebhooks: (db, ids) => pendingCounts(db.reader, ids) },
    });
  });

  // The customer portal's pages: no API key; a browser session of its own. Its edits take the
  // API's write path, hooks and all, so they are events and Stripe updates like any other.
  await app.register(portalPages, {
    deps: { ...portal, customers: { db: deps.db, hooks: customerWriteHooks(gateway, deps.db) } },
  });

  wrongMethods.register();

  const sweeper = startSweeper(deps.db, deps.config.idempotency, app.log);
  app.addHook('onClose', () => sweeper.stop());
  const eventSweeper = startEventSweeper(deps.db, deps.config.events, app.log);
  app.addHook('onClose', () => eventSweeper.stop());
  const searchUpkeep = startSearchUpkeep(deps.db, deps.config.search, app.log);
  app.addHook('onClose', () => searchUpkeep.stop());

  return app;
}
