import { readFileSync } from 'node:fs';
import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyView from '@fastify/view';
import { Eta } from 'eta';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { AppError } from '../errors.js';
import { accountPages } from './pages.account.js';
import { signInPages } from './pages.sign-in.js';
import { binding, COOKIES, cookieOptions, ensureDevice, messagePage, type PagesDeps } from './render.js';
import { en as t } from './texts.js';
import { STYLESHEET, VIEWS } from './views.js';

/**
 * Pages for people: no script at all, styles from this origin only, forms posted only here, never
 * framed, never cached.
 */
const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'cache-control': 'no-store',
  // Not `no-referrer` as for the API: with it Chromium sends `Origin: null` on a form post, and
  // the origin check could not tell this site's forms from a sandboxed frame's. Other origins
  // still get no referrer, so a link's token never leaves this site.
  'referrer-policy': 'same-origin',
};

/** Everything under /portal: the customer portal, server-rendered in this app. */
export const portalPages: FastifyPluginAsync<{ deps: Omit<PagesDeps, 'secure'> }> = async (app, options) => {
  const deps: PagesDeps = { ...options.deps, secure: options.deps.publicUrl.startsWith('https:') };
  // Pages, not API operations: none of them is in the OpenAPI document.
  app.addHook('onRoute', (route) => {
    route.schema = { ...route.schema, hide: true };
  });
  await app.register(fastifyCookie);
  await app.register(fastifyCsrf, {
    sessionPlugin: '@fastify/cookie',
    cookieKey: COOKIES.csrf,
    cookieOpts: cookieOptions(deps.secure),
    getUserInfo: binding,
    csrfOpts: { hmacKey: deps.secretBox.derive('portal csrf'), userInfo: true },
    logLevel: 'info',
  });
  await app.register(fastifyView, {
    engine: { eta: new Eta() },
    templates: VIEWS,
    production: true,
    defaultContext: {},
  });

  app.addHook('onRequest', async (request, reply) => {
    reply.headers(PAGE_HEADERS);
    if (request.method === 'GET' && request.cookies[COOKIES.session] === undefined) {
      ensureDevice(request, reply, deps.secure);
    }
  });
  app.addHook('preHandler', async (request) => {
    if (request.method !== 'POST') return;
    // A form posted from another origin is refused whatever token it carries.
    const origin = request.headers.origin;
    if (origin !== undefined && origin !== deps.publicUrl) throw new ForbiddenForm();
  });
  app.addHook('preHandler', (request, reply, done) => {
    if (request.method !== 'POST') return done();
    app.csrfProtection(request, reply, done);
  });
  app.setErrorHandler(async (error, request, reply) => {
    const status =
      error instanceof AppError ? error.status : ((error as { statusCode?: number }).statusCode ?? 500);
    if (error instanceof ForbiddenForm || status === 403) {
      return messagePage(reply, 403, t.messages.forbiddenTitle, t.messages.forbidden);
    }
    if (status >= 400 && status < 500) {
      return messagePage(reply, status, t.messages.requestTitle, t.messages.request);
    }
    request.log.error({ err: error }, 'portal page failed');
    return messagePage(reply, Math.max(status, 500), t.messages.errorTitle, t.messages.error);
  });

  const css = readFileSync(STYLESHEET, 'utf8');
  app.get('/portal/assets/portal.css', async (_request, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(css),
  );

  signInPages(app as unknown as FastifyInstance, deps);
  accountPages(app as unknown as FastifyInstance, deps);

  // Any other page under /portal is a page too: a 404 a person can read.
  app.get('/portal/*', async (_request, reply) =>
    messagePage(reply, 404, t.messages.notFoundTitle, t.messages.notFound),
  );
};

class ForbiddenForm extends Error {
  override name = 'ForbiddenForm';
}
