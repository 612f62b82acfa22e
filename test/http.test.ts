import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { forEachDatabase, startHarness, useHarness } from './helpers/harness.js';

const REQUEST_ID = /^req_[0-7][0-9A-HJKMNP-TV-Z]{25}$/;

forEachDatabase('HTTP conventions', (dialect) => {
  const { h, acct } = useHarness(dialect);

  test('unknown paths are 404 url_invalid naming method and path, with or without a key', async () => {
    for (const key of [null, acct.test, 'sk_test_bad']) {
      const res = await h.request('GET', '/v1/nope?x=1', { key });
      assert.equal(res.status, 404);
      assert.deepEqual(res.body, {
        error: {
          type: 'invalid_request_error',
          code: 'url_invalid',
          message: 'Unrecognized request URL (GET: /v1/nope).',
        },
      });
      assert.match(String(res.headers['request-id']), REQUEST_ID);
    }
  });

  test('a wrong method on a known path is 405 with Allow, before the key is checked', async () => {
    const cases: [string, string, string][] = [
      ['PUT', '/v1/customers', 'GET, POST'],
      ['DELETE', '/v1/customers', 'GET, POST'],
      ['PATCH', '/v1/customers', 'GET, POST'],
      ['PUT', '/v1/customers/cus_01JRZK2Q4T9ZS0VCNA3HX7W9EY', 'GET, POST, PATCH, DELETE'],
    ];
    for (const [method, url, allow] of cases) {
      const res = await h.request(method, url);
      assert.equal(res.status, 405, `${method} ${url}`);
      assert.equal(res.body.error.code, 'method_not_allowed');
      assert.equal(res.body.error.type, 'invalid_request_error');
      assert.equal(res.headers.allow, allow);
    }
  });

  test('every response carries a distinct Request-Id, errors included', async () => {
    const seen = new Set<string>();
    for (const [method, url, key] of [
      ['GET', '/healthz', null],
      ['GET', '/v1/customers', acct.test],
      ['GET', '/v1/customers', null],
      ['POST', '/v1/customers', acct.test],
      ['GET', '/nope', null],
    ] as const) {
      const res = await h.request(method, url, { key });
      const id = String(res.headers['request-id']);
      assert.match(id, REQUEST_ID);
      seen.add(id);
    }
    assert.equal(seen.size, 5);
    const spoofed = await h.request('GET', '/healthz', { headers: { 'request-id': 'req_mine' } });
    assert.notEqual(spoofed.headers['request-id'], 'req_mine', 'the server makes its own ids');
  });

  test('security headers are on every response, errors included', async () => {
    for (const [method, url, key] of [
      ['GET', '/v1/customers', acct.test],
      ['GET', '/v1/customers', null],
      ['GET', '/nope', null],
      ['GET', '/healthz', null],
    ] as const) {
      const res = await h.request(method, url, { key });
      assert.equal(res.headers['x-content-type-options'], 'nosniff', url);
      assert.equal(res.headers['cache-control'], 'no-store', url);
      assert.equal(res.headers['x-frame-options'], 'DENY', url);
      assert.match(String(res.headers['content-security-policy']), /default-src 'none'/);
    }
  });

  test('responses are application/json; charset=utf-8', async () => {
    const res = await h.request('GET', '/v1/customers', { key: acct.test });
    assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
  });

  test('bodies: 415 for other content types, 413 over 64 KiB, 400 for malformed JSON', async () => {
    const other = await h.request('POST', '/v1/customers', {
      key: acct.test,
      payload: 'email=a@b',
      headers: { 'content-type': 'text/plain' },
    });
    assert.equal(other.status, 415);
    assert.equal(other.body.error.code, 'unsupported_media_type');
    const none = await h.request('POST', '/v1/customers', { key: acct.test, payload: 'email=a@b' });
    assert.equal(none.status, 415, 'a body without a content type');
    const big = await h.request('POST', '/v1/customers', {
      key: acct.test,
      json: { email: 'a@b', notes: 'x'.repeat(70_000) },
    });
    assert.equal(big.status, 413);
    assert.equal(big.body.error.code, 'body_too_large');
    const bad = await h.request('POST', '/v1/customers', {
      key: acct.test,
      payload: '{"email":',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'invalid_json');
    const count = await h.db.kysely
      .selectFrom('customers')
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirst();
    assert.equal(Number(count?.n), 0, 'no rejected request wrote anything');
  });

  test('a write with no body has no parameters', async () => {
    const res = await h.request('POST', '/v1/customers', { key: acct.test });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'parameter_missing');
    assert.equal(res.body.error.param, 'email');
  });

  test('GET /healthz answers ok without a key', async () => {
    const res = await h.request('GET', '/healthz');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { status: 'ok' });
  });

  test('log lines are one JSON object per request with its id, and hold no query string', async () => {
    await h.request('GET', '/v1/customers', {
      key: acct.test,
      query: { email: 'secret-person@example.com' },
    });
    const lines = h
      .logs()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const requestLines = lines.filter((l) => l.msg === 'request');
    assert.ok(requestLines.length > 5);
    for (const line of requestLines) assert.match(line.reqId, REQUEST_ID);
    assert.ok(!h.logs().includes('secret-person'), 'the email filter is not logged');
    assert.ok(!h.logs().includes(acct.test), 'keys are not logged');
  });
});

test('the OpenAPI document is 3.1, documents every operation with errors, and is openapi.json (which check lints)', async () => {
  const h = await startHarness('sqlite');
  try {
    const res = await h.request('GET', '/v1/openapi.json');
    assert.equal(res.status, 200);
    const doc = res.body;
    assert.equal(doc.openapi, '3.1.0');
    const ops = Object.entries(
      doc.paths as Record<string, Record<string, { operationId: string; responses: object }>>,
    ).flatMap(([path, methods]) =>
      Object.entries(methods).map(([m, op]) => ({ key: `${m.toUpperCase()} ${path}`, op })),
    );
    const keys = ops.map((o) => o.key).sort();
    assert.deepEqual(keys, [
      'DELETE /v1/customers/{id}',
      'DELETE /v1/webhook_endpoints/{id}',
      'GET /healthz',
      'GET /v1/customers',
      'GET /v1/customers/export',
      'GET /v1/customers/search',
      'GET /v1/customers/{id}',
      'GET /v1/events',
      'GET /v1/events/{id}',
      'GET /v1/openapi.json',
      'GET /v1/portal_sessions',
      'GET /v1/portal_sessions/{id}',
      'GET /v1/webhook_endpoints',
      'GET /v1/webhook_endpoints/{id}',
      'GET /v1/webhook_endpoints/{id}/attempts',
      'PATCH /v1/customers/{id}',
      'PATCH /v1/webhook_endpoints/{id}',
      'POST /v1/customers',
      'POST /v1/customers/{id}',
      'POST /v1/events/{id}/resend',
      'POST /v1/portal_sessions',
      'POST /v1/portal_sessions/{id}/revoke',
      'POST /v1/webhook_endpoints',
      'POST /v1/webhook_endpoints/{id}',
      'POST /v1/webhook_endpoints/{id}/recover',
      'POST /v1/webhook_endpoints/{id}/roll_secret',
    ]);
    for (const { key, op } of ops.filter((o) =>
      /\/v1\/(customers|events|webhook_endpoints|portal_sessions)/.test(o.key),
    )) {
      for (const status of ['200', '401', '500', '503'])
        assert.ok(status in op.responses, `${key} documents ${status}`);
    }
    // `npm run check` lints openapi.json with redocly (and the project's redocly.yaml), so the
    // document served must be that file, as `npm run openapi` writes it.
    const committed = readFileSync(new URL('../openapi.json', import.meta.url), 'utf8');
    assert.ok(
      `${JSON.stringify(doc, null, 2)}\n` === committed,
      'openapi.json is stale: run npm run openapi',
    );
  } finally {
    await h.close();
  }
});
