import { type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import type { DestinationStream } from 'pino';
import type { LogLevel } from '../config.js';

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
    const line = {
      method: request.method,
      route: request.routeOptions.url ?? null,
      path: request.url.split('?')[0],
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10,
      account: request.auth?.accountId,
      mode: request.auth?.mode,
    };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else reply.log.info(line, 'request');
  }
}

/** Errors are logged by type, message, code and stack only: drivers attach row values elsewhere. */
function serializeError(error: Error): {
  type: string;
  message: string;
  stack: string;
  [key: string]: unknown;
} {
  return {
    type: error.name,
    message: error.message,
    code: (error as { code?: unknown }).code,
    stack: error.stack ?? '',
  };
}

export function loggerOptions(level: LogLevel, stream?: DestinationStream) {
  return {
    logger: { level, serializers: { err: serializeError }, ...(stream ? { stream } : {}) },
    logController: new OneLinePerRequest(),
  };
}
