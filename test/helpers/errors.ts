import assert from 'node:assert/strict';
import { ERRORS, type ErrorCode } from '../../src/errors.js';
import type { ApiResponse } from './harness.js';

/**
 * The response is the error envelope, whole: the status, JSON with a request id, `{ error }`
 * holding only `type`, `code`, a non-empty `message` and perhaps `param`, and the type that
 * errors.ts gives the code. `param: undefined` skips its check; `null` means the error must
 * name no parameter.
 */
export function assertErrorEnvelope(
  res: ApiResponse,
  status: number,
  code: ErrorCode,
  param?: string | null,
): void {
  const label = `${res.status} ${res.raw.slice(0, 300)}`;
  assert.equal(res.status, status, label);
  assert.match(String(res.headers['content-type']), /^application\/json; charset=utf-8$/i);
  assert.match(String(res.headers['request-id']), /^req_[0-7][0-9A-HJKMNP-TV-Z]{25}$/);
  assert.deepEqual(Object.keys(res.body), ['error'], label);
  const error = res.body.error;
  for (const key of Object.keys(error)) assert.ok(['type', 'code', 'message', 'param'].includes(key), label);
  assert.equal(error.code, code, label);
  assert.equal(error.type, ERRORS[code].type, label);
  assert.equal(typeof error.message, 'string', label);
  assert.ok(error.message.length > 0, label);
  if (param === null) assert.ok(!('param' in error), label);
  else if (param !== undefined) assert.equal(error.param, param, label);
}

/** The 404 body of an object that does not exist for the caller, byte for byte as the API sends it. */
export function notFoundBody(object: string, id: string) {
  return {
    error: {
      type: 'invalid_request_error',
      code: 'resource_missing',
      message: `No such ${object}: '${id}'.`,
      param: 'id',
    },
  };
}
