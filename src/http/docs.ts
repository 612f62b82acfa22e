import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { FastifyPluginAsync } from 'fastify';

/**
 * The API reference at /docs: Redoc rendering the live OpenAPI document. Its script is served
 * from the installed package, so the page works with no access to the internet.
 */
const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>LuniPay Customers API reference</title>
    <style>body { margin: 0; }</style>
  </head>
  <body>
    <redoc spec-url="/v1/openapi.json" hide-download-button="false" expand-responses="200"></redoc>
    <script src="/docs/redoc.standalone.js"></script>
  </body>
</html>
`;

// Everything from this server: the renderer's branding image on a CDN is not fetched.
const CSP = [
  "default-src 'self'",
  "img-src 'self' data:",
  "style-src 'self' 'unsafe-inline'",
  "script-src 'self'",
  "worker-src 'self' blob:",
  "connect-src 'self'",
  "font-src 'self' data:",
].join('; ');

export const docsRoutes: FastifyPluginAsync = async (app) => {
  const script = readFileSync(createRequire(import.meta.url).resolve('redoc/bundles/redoc.standalone.js'));
  const hidden = { schema: { hide: true } };
  app.get('/docs', hidden, async (_request, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', CSP)
      .header('cache-control', 'no-cache')
      .send(PAGE),
  );
  app.get('/docs/redoc.standalone.js', hidden, async (_request, reply) =>
    reply
      .type('text/javascript; charset=utf-8')
      .header('cache-control', 'public, max-age=86400')
      .send(script),
  );
};
