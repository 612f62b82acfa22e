import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.js';

/** The order methods are listed in an `Allow` header; any others follow, alphabetically. */
const ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];
const rank = (method: string) => (ORDER.includes(method) ? ORDER.indexOf(method) : ORDER.length);
const byOrder = (a: string, b: string) => rank(a) - rank(b) || a.localeCompare(b);

/**
 * A method a documented path does not serve is a 405 naming the ones it does, not the 404 of an
 * unknown path. The table is read off the routes themselves as they are added (hidden ones, such
 * as /docs, stay 404s). Call this before any route is added, and the `register` it returns once
 * every other route is.
 */
export function methodNotAllowed(app: FastifyInstance): { register(): void } {
  const allowed = new Map<string, Set<string>>();
  let registered = false;
  app.addHook('onRoute', (route) => {
    if (registered || route.schema?.hide) return;
    const methods = allowed.get(route.url) ?? new Set<string>();
    // HEAD comes with each GET; Allow leaves it unsaid.
    for (const method of [route.method].flat()) if (method !== 'HEAD') methods.add(method);
    allowed.set(route.url, methods);
  });

  return {
    register() {
      registered = true;
      for (const [url, methods] of allowed) {
        const allow = [...methods].sort(byOrder);
        app.route({
          // Every method Fastify can route (TRACE and QUERY too); HEAD comes with each GET.
          method: app.supportedMethods.filter((m) => m !== 'HEAD' && !methods.has(m)),
          url,
          schema: { hide: true },
          // Refused as the request arrives, before its body is read: a wrong method is a 405 whatever it sent.
          onRequest: async (request) => {
            throw new AppError(
              'method_not_allowed',
              `${request.method} is not allowed on ${url}.`,
              undefined,
              {
                Allow: allow.join(', '),
              },
            );
          },
          handler: async () => undefined,
        });
      }
    },
  };
}
