import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  type ApiResponse,
  forEachDatabase,
  type Harness,
  startHarness,
  type TestAccount,
} from '../../test/helpers/harness.js';
import { ERRORS, type ErrorCode } from '../errors.js';

/**
 * Every parameter of every webhook endpoint route, wrong: always a 400 in the error envelope
 * naming the parameter, never a 500, and nothing written.
 */

const GOOD = { url: 'https://example.com/hooks', enabled_events: ['customer.*'] };
const WRONG_TYPES: unknown[] = [5, true, {}, ['x']];
const BAD_STRINGS = ['a\u0000b', '\ud800'];
const keys = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v']));

function assertError(res: ApiResponse, code: ErrorCode, param?: string | null): void {
  const label = `${res.status} ${res.raw.slice(0, 300)}`;
  assert.equal(res.status, ERRORS[code].status, label);
  assert.deepEqual(Object.keys(res.body), ['error'], label);
  assert.equal(res.body.error.code, code, label);
  assert.equal(res.body.error.type, ERRORS[code].type, label);
  assert.ok(res.body.error.message.length > 0);
  if (param === null) assert.ok(!('param' in res.body.error), label);
  else if (param !== undefined) assert.equal(res.body.error.param, param, label);
}

/** [body fragment, code, param]: each is wrong on create (merged into a good body) and on update. */
const FIELD_CASES: [Record<string, unknown>, ErrorCode, string][] = [
  ...WRONG_TYPES.map((v): [Record<string, unknown>, ErrorCode, string] => [
    { url: v },
    'parameter_invalid',
    'url',
  ]),
  [{ url: null }, 'parameter_invalid', 'url'],
  [{ url: '' }, 'parameter_invalid', 'url'],
  ...BAD_STRINGS.map((v): [Record<string, unknown>, ErrorCode, string] => [
    { url: `https://example.com/${v}` },
    'parameter_invalid',
    'url',
  ]),
  [{ url: `https://example.com/${'a'.repeat(2048)}` }, 'parameter_invalid', 'url'],
  [{ url: 'not a url' }, 'parameter_invalid', 'url'],
  [{ url: 'ftp://example.com/' }, 'parameter_invalid', 'url'],
  [{ url: 'https://user:pw@example.com/' }, 'parameter_invalid', 'url'],
  [{ url: 'https://127.0.0.1/' }, 'parameter_invalid', 'url'],
  [{ url: 'http://localhost:3000/' }, 'parameter_invalid', 'url'],
  [{ enabled_events: [] }, 'parameter_invalid', 'enabled_events'],
  [{ enabled_events: 'customer.*' }, 'parameter_invalid', 'enabled_events'],
  [{ enabled_events: null }, 'parameter_invalid', 'enabled_events'],
  [{ enabled_events: ['customer.exploded'] }, 'parameter_invalid', 'enabled_events[0]'],
  [{ enabled_events: ['customer.*', 'invoice.*'] }, 'parameter_invalid', 'enabled_events[1]'],
  [{ enabled_events: ['CUSTOMER.CREATED'] }, 'parameter_invalid', 'enabled_events[0]'],
  [{ enabled_events: [5] }, 'parameter_invalid', 'enabled_events[0]'],
  [{ enabled_events: Array(21).fill('*') }, 'parameter_invalid', 'enabled_events'],
  ...WRONG_TYPES.map((v): [Record<string, unknown>, ErrorCode, string] => [
    { description: v },
    'parameter_invalid',
    'description',
  ]),
  [{ description: 'x'.repeat(5001) }, 'parameter_invalid', 'description'],
  [{ description: BAD_STRINGS[0] }, 'parameter_invalid', 'description'],
  [{ metadata: 5 }, 'parameter_invalid', 'metadata'],
  [{ metadata: 'x' }, 'parameter_invalid', 'metadata'],
  [{ metadata: keys(21) }, 'parameter_invalid', 'metadata'],
  [{ metadata: { 'a[b]': 'v' } }, 'parameter_invalid', 'metadata[a[b]]'],
  [{ metadata: { ['k'.repeat(41)]: 'v' } }, 'parameter_invalid', `metadata[${'k'.repeat(41)}]`],
  [{ metadata: { k: 'v'.repeat(501) } }, 'parameter_invalid', 'metadata[k]'],
  [{ metadata: { k: 5 } }, 'parameter_invalid', 'metadata[k]'],
  [{ secret: 'whsec_x' }, 'parameter_unknown', 'secret'],
  [{ status: 'disabled' }, 'parameter_unknown', 'status'],
  [{ id: 'we_01JRZK2Q4T9ZS0VCNA3HX7W9EY' }, 'parameter_unknown', 'id'],
  [{ livemode: true }, 'parameter_unknown', 'livemode'],
  [{ api_version: '2020-01-01' }, 'parameter_unknown', 'api_version'],
  [{ nonsense: 1 }, 'parameter_unknown', 'nonsense'],
];

forEachDatabase('bad input: webhook endpoints', (dialect) => {
  let h: Harness;
  let acct: TestAccount;
  let target: string;
  before(async () => {
    h = await startHarness(dialect);
    acct = await h.account();
    const res = await h.request('POST', '/v1/webhook_endpoints', {
      key: acct.test,
      json: { ...GOOD, metadata: keys(20), description: 'keep' },
    });
    assert.equal(res.status, 200);
    target = res.body.id;
  });
  after(() => h.close());

  const snapshot = async () => ({
    endpoints: await h.db.kysely.selectFrom('webhook_endpoints').selectAll().orderBy('id').execute(),
    secrets: await h.db.kysely.selectFrom('webhook_endpoint_secrets').selectAll().orderBy('id').execute(),
  });

  test('create: each parameter wrong → 400 naming it, nothing written', async () => {
    const before = await snapshot();
    for (const [fragment, code, param] of FIELD_CASES) {
      const res = await h.request('POST', '/v1/webhook_endpoints', {
        key: acct.test,
        json: { ...GOOD, ...fragment },
      });
      assertError(res, code, param);
    }
    for (const missing of ['url', 'enabled_events'] as const) {
      const { [missing]: _, ...rest } = GOOD;
      assertError(
        await h.request('POST', '/v1/webhook_endpoints', { key: acct.test, json: rest }),
        'parameter_missing',
        missing,
      );
    }
    assertError(
      await h.request('POST', '/v1/webhook_endpoints', { key: acct.test, json: { ...GOOD, disabled: true } }),
      'parameter_unknown',
      'disabled',
    );
    // Live mode takes https only.
    assertError(
      await h.request('POST', '/v1/webhook_endpoints', {
        key: acct.live,
        json: { ...GOOD, url: 'http://example.com/hooks' },
      }),
      'parameter_invalid',
      'url',
    );
    assert.deepEqual(await snapshot(), before);
  });

  test('update (PATCH and POST): each parameter wrong → 400 naming it, nothing changed', async () => {
    const before = await snapshot();
    const cases: [Record<string, unknown>, ErrorCode, string][] = [
      ...FIELD_CASES,
      [{ metadata: { extra: 'v' } }, 'parameter_invalid', 'metadata'], // 21 keys once merged
      ...WRONG_TYPES.filter((v) => typeof v !== 'boolean').map(
        (v): [Record<string, unknown>, ErrorCode, string] => [
          { disabled: v },
          'parameter_invalid',
          'disabled',
        ],
      ),
      [{ disabled: 'true' }, 'parameter_invalid', 'disabled'],
      [{ disabled: null }, 'parameter_invalid', 'disabled'],
    ];
    for (const [fragment, code, param] of cases) {
      for (const method of ['PATCH', 'POST']) {
        const res = await h.request(method, `/v1/webhook_endpoints/${target}`, {
          key: acct.test,
          json: fragment,
        });
        assertError(res, code, param);
      }
    }
    assert.deepEqual(await snapshot(), before);
  });

  test('roll_secret: expires_in outside 0–604800 or not an integer → 400, no new secret', async () => {
    const before = await snapshot();
    const url = `/v1/webhook_endpoints/${target}/roll_secret`;
    for (const expires of [-1, 604_801, 1.5, '60', null, true, [], {}]) {
      assertError(
        await h.request('POST', url, { key: acct.test, json: { expires_in: expires } }),
        'parameter_invalid',
        'expires_in',
      );
    }
    assertError(
      await h.request('POST', url, { key: acct.test, form: { expires_in: '1e3' } }),
      'parameter_invalid',
      'expires_in',
    );
    assertError(
      await h.request('POST', url, { key: acct.test, json: { secret: 'x' } }),
      'parameter_unknown',
      'secret',
    );
    assert.deepEqual(await snapshot(), before);
  });

  test('list: bad limit, cursors and unknown parameters → 400', async () => {
    const cases: [Record<string, unknown>, ErrorCode, string | null][] = [
      [{ limit: 0 }, 'parameter_invalid', 'limit'],
      [{ limit: 101 }, 'parameter_invalid', 'limit'],
      [{ limit: 'ten' }, 'parameter_invalid', 'limit'],
      [{ starting_after: 'cus_01JRZK2Q4T9ZS0VCNA3HX7W9EY' }, 'parameter_invalid', 'starting_after'],
      [{ ending_before: 'nope' }, 'parameter_invalid', 'ending_before'],
      [{ starting_after: target, ending_before: target }, 'parameters_exclusive', null],
      [{ email: 'a@b.c' }, 'parameter_unknown', 'email'],
    ];
    for (const [query, code, param] of cases) {
      assertError(await h.request('GET', '/v1/webhook_endpoints', { key: acct.test, query }), code, param);
    }
    const broken = await h.request('GET', '/v1/webhook_endpoints?limit=%zz', { key: acct.test });
    assertError(broken, 'parameter_invalid');
  });

  test('bodies on the wire: broken JSON, other content types, non-objects', async () => {
    const before = await snapshot();
    for (const [payload, type, code] of [
      ['{"url":', 'application/json', 'invalid_json'],
      ['[1]', 'application/json', 'invalid_json'],
      ['url=x', 'text/plain', 'unsupported_media_type'],
    ] as const) {
      for (const [method, url] of [
        ['POST', '/v1/webhook_endpoints'],
        ['PATCH', `/v1/webhook_endpoints/${target}`],
        ['POST', `/v1/webhook_endpoints/${target}/roll_secret`],
      ]) {
        const res = await h.request(method as string, url as string, {
          key: acct.test,
          payload,
          headers: { 'content-type': type },
        });
        assertError(res, code);
      }
    }
    assert.deepEqual(await snapshot(), before);
  });
});
