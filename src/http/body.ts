import type { FastifyInstance } from 'fastify';
import qs from 'qs';
import secureJson from 'secure-json-parse';
import { AppError } from '../errors.js';

export const BODY_LIMIT = 64 * 1024;

/** Form bodies use Stripe's bracket notation: `metadata[internal_id]=ACCT-42`. */
export function parseForm(text: string): Record<string, unknown> {
  return qs.parse(text, {
    // Null-prototype objects: a field named `toString` or `__proto__` is just an unknown field.
    plainObjects: true,
    allowPrototypes: true,
    // `metadata[0]=x` is a metadata key "0", never an array.
    parseArrays: false,
    depth: 5,
    parameterLimit: 1000,
    // Forms carry no types: a duplicated field is an array, which then fails validation.
    duplicates: 'combine',
  }) as Record<string, unknown>;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * JSON and form bodies, nothing else: other content types are a 415 (Fastify's own answer for
 * a type without a parser). An empty body means no parameters, as it would in a form.
 */
export function registerBodyParsers(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'string', bodyLimit: BODY_LIMIT },
    (_req, text, done) => {
      const body = String(text);
      if (body.trim() === '') return done(null, {});
      let parsed: unknown;
      try {
        parsed = secureJson.parse(body, undefined, { protoAction: 'error', constructorAction: 'error' });
      } catch {
        return done(new AppError('invalid_json', 'The request body is not valid JSON.'), undefined);
      }
      if (!isPlainObject(parsed))
        return done(new AppError('invalid_json', 'The request body must be a JSON object.'), undefined);
      done(null, parsed);
    },
  );
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: BODY_LIMIT },
    (_req, text, done) => done(null, parseForm(String(text))),
  );
}
