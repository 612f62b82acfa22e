import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.js';
import { parseForm } from './form.js';

export const BODY_LIMIT = 64 * 1024;

/** Deeper than any request this API takes; a bound so no later walk over a body can run away. */
const MAX_JSON_DEPTH = 16;

function tooDeep(value: unknown, depth = 0): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (depth >= MAX_JSON_DEPTH) return true;
  return Object.values(value).some((v) => tooDeep(v, depth + 1));
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
        // Plain JSON.parse defines `__proto__` as an own key, never a prototype: validation then
        // refuses it as an unknown field, or keeps it as a metadata key like any other.
        parsed = JSON.parse(body);
      } catch {
        return done(new AppError('invalid_json', 'The request body is not valid JSON.'), undefined);
      }
      if (!isPlainObject(parsed)) {
        return done(new AppError('invalid_json', 'The request body must be a JSON object.'), undefined);
      }
      if (tooDeep(parsed)) {
        return done(
          new AppError('invalid_json', `The request body nests deeper than ${MAX_JSON_DEPTH} levels.`),
          undefined,
        );
      }
      done(null, parsed);
    },
  );
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: BODY_LIMIT },
    (_req, text, done) => {
      try {
        done(null, parseForm(String(text)));
      } catch (error) {
        done(error as Error, undefined);
      }
    },
  );
}
