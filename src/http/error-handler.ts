import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isUnavailable } from '../db/errors.js';
import { AppError, unavailable } from '../errors.js';
import { BODY_LIMIT } from './body.js';
import { validationError } from './validation.js';

/** Fastify's own request errors, mapped onto the closed list. */
function fromFastify(error: FastifyError): AppError | null {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('body_too_large', `The request body is larger than ${BODY_LIMIT / 1024} KiB.`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_TYPE':
      return new AppError(
        'unsupported_media_type',
        'Send the body as application/json or application/x-www-form-urlencoded.',
      );
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new AppError('invalid_json', 'The request body could not be read.');
    default:
      return null;
  }
}

/** The error as one of the closed list, or null for an unexpected one (a 500). */
export function toAppError(error: unknown, request?: FastifyRequest): AppError | null {
  if (error instanceof AppError) return error;
  const fe = error as FastifyError;
  if (fe.validation) {
    const errors = fe.validation as Parameters<typeof validationError>[0];
    return validationError(errors, request?.routeOptions.config.readOnlyFields);
  }
  const mapped = fromFastify(fe);
  if (mapped) return mapped;
  if (isUnavailable(error)) return unavailable();
  return null;
}

export function send(reply: FastifyReply, error: AppError): FastifyReply {
  return reply.code(error.status).headers(error.headers).send(error.toBody());
}

export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const known = toAppError(error, request);
    if (known) {
      if (known.code === 'service_unavailable') request.log.warn({ err: error }, 'database unavailable');
      return send(reply, known);
    }
    request.log.error({ err: error }, 'unhandled error');
    return send(
      reply,
      new AppError('internal_error', 'Something went wrong on our side. Please retry later.'),
    );
  });

  app.setNotFoundHandler((request, reply) => {
    send(reply, unknownUrl(request));
  });
}

/** The 404 of a path no route serves, naming the method and the path without its query string. */
export function unknownUrl(request: FastifyRequest): AppError {
  const path = request.url.split('?')[0] ?? '';
  return new AppError('url_invalid', `Unrecognized request URL (${request.method}: ${path}).`);
}
