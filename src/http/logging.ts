import { type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import type { DestinationStream } from 'pino';
import type { LogLevel } from '../config.js';
import { loggerOptions } from '../log.js';

/**
 * One JSON line per request, with the request id. It names the route and the path without its
 * query string (which can carry an email), never headers or bodies: keys and customers'
 * personal data never reach the logs.
 */
class OneLinePerRequest extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    // A path that carries a secret (a portal link's `:token`) is logged with the name in its place.
    const token = (request.params as { token?: unknown } | undefined)?.token;
    const path = request.url.split('?')[0] ?? '';
    const line = {
      method: request.method,
      route: request.routeOptions.url ?? null,
      path: typeof token === 'string' && token !== '' ? path.replaceAll(token, ':token') : path,
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10,
      account: request.auth?.accountId,
      mode: request.auth?.mode,
    };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else reply.log.info(line, 'request');
  }
}

/** Fastify's logger: the project's pino options, with one line per request. */
export function fastifyLoggerOptions(level: LogLevel, stream?: DestinationStream) {
  return {
    logger: { ...loggerOptions(level), ...(stream ? { stream } : {}) },
    logController: new OneLinePerRequest(),
  };
}
