import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { ErrorCode } from '../src/errors.js';
import { newId } from '../src/ids.js';
import { assertErrorEnvelope } from './helpers/errors.js';
import { countCustomers, forEachDatabase, storedCustomer, useHarness } from './helpers/harness.js';

/**
 * Bad input on the wire and in query strings: body size, malformed JSON, content types, form
 * bodies with duplicated or array fields, and the list's query parameters. Never a 500; always
 * the error envelope; a refused write leaves the database as it was.
 */

const KIB64 = 64 * 1024;
const JSON_TYPE = 'application/json';
const FORM_TYPE = 'application/x-www-form-urlencoded';
/** A valid create body padded to exactly `bytes` bytes, as JSON (whitespace) or as a form (`&`). */
function padded(type: string, bytes: number): string {
  const body = type === JSON_TYPE ? '{"email":"pad@example.com"}' : 'email=pad%40example.com';
  return body + (type === JSON_TYPE ? ' ' : '&').repeat(bytes - body.length);
}

forEachDatabase('bad input: bodies on the wire and query strings', (dialect) => {
  const { h, acct } = useHarness(dialect);
  let target: string;
  before(async () => {
    const res = await h.request('POST', '/v1/customers', {
      key: acct.test,
      json: { email: 'target@example.com', first_name: 'T', metadata: { keep: 'me' } },
    });
    assert.equal(res.status, 200);
    target = res.body.id;
  });

  const count = () => countCustomers(h.db);
  const row = () => storedCustomer(h.db, target);
  const raw = (method: string, url: string, payload: string | Buffer, type?: string) =>
    h.request(method, url, {
      key: acct.test,
      payload,
      headers: type === undefined ? {} : { 'content-type': type },
    });

  /** Sends the raw body as a create, then as PATCH and POST updates; all are refused and nothing changes. */
  async function rejectBody(
    payload: string | Buffer,
    type: string | undefined,
    status: number,
    code: ErrorCode,
    param?: string | null,
  ) {
    const customers = await count();
    const snapshot = await row();
    for (const [method, url] of [
      ['POST', '/v1/customers'],
      ['PATCH', `/v1/customers/${target}`],
      ['POST', `/v1/customers/${target}`],
    ] as const) {
      const res = await raw(method, url, payload, type);
      assertErrorEnvelope(res, status, code, param);
    }
    assert.equal(await count(), customers, 'a refused create wrote a row');
    assert.deepEqual(await row(), snapshot, 'a refused update changed the row');
  }

  test('bodies over 64 KiB → 413 body_too_large, counted in bytes, JSON and form alike', async () => {
    await rejectBody(
      JSON.stringify({ email: 'a@b.c', notes: 'a'.repeat(70_000) }),
      JSON_TYPE,
      413,
      'body_too_large',
      null,
    );
    await rejectBody(`email=a%40b.c&notes=${'a'.repeat(70_000)}`, FORM_TYPE, 413, 'body_too_large', null);
    // 20,000 emoji are 40,000 UTF-16 units but 80,000 bytes.
    await rejectBody(
      JSON.stringify({ email: 'a@b.c', notes: '😀'.repeat(20_000) }),
      JSON_TYPE,
      413,
      'body_too_large',
      null,
    );
    await rejectBody(
      JSON.stringify({ email: 'a@b.c', metadata: { k: 'v'.repeat(KIB64) } }),
      JSON_TYPE,
      413,
      'body_too_large',
    );
    for (const type of [JSON_TYPE, FORM_TYPE]) {
      await rejectBody(padded(type, KIB64 + 1), type, 413, 'body_too_large', null);
      const ok = await raw('POST', '/v1/customers', padded(type, KIB64), type);
      assert.equal(ok.status, 200, `a body of exactly 64 KiB is allowed (${type}): ${ok.raw}`);
    }
    // An oversized body is refused whatever its content type.
    const res = await raw('POST', '/v1/customers', 'x'.repeat(KIB64 + 1), 'text/plain');
    assert.ok([413, 415].includes(res.status), res.raw);
  });

  test('malformed JSON, or JSON that is not an object → 400 invalid_json', async () => {
    const bodies = [
      '{',
      '{"email":',
      '{"email":"a@b.c"',
      '{"email":"a@b.c",}',
      "{'email':'a@b.c'}",
      '{email:"a@b.c"}',
      '{"email":"a@b.c"} trailing',
      '{"email":"a@b.c"}{}',
      'nul',
      'undefined',
      '\u0000',
      '{"email":"a\u0000@b.c"}', // a raw control character inside a JSON string is not JSON
      '{"email":"a@b.c","notes":"\\x41"}',
      'email=a%40b.c',
    ];
    const notObjects = ['[]', '[{"email":"a@b.c"}]', '"a@b.c"', '""', '5', '-1.5', 'null', 'true', 'false'];
    for (const body of [...bodies, ...notObjects])
      await rejectBody(body, JSON_TYPE, 400, 'invalid_json', null);
    await rejectBody(Buffer.from('{"email":"a@b.c"}', 'utf16le'), JSON_TYPE, 400, 'invalid_json', null);
  });

  test('a body that is neither JSON nor a form → 415 unsupported_media_type', async () => {
    const json = '{"email":"a@b.c"}';
    const multipart = '--XyZ\r\nContent-Disposition: form-data; name="email"\r\n\r\na@b.c\r\n--XyZ--\r\n';
    const cases: [string, string | undefined][] = [
      [json, 'text/plain'],
      [json, 'text/plain; charset=utf-8'],
      [multipart, 'multipart/form-data; boundary=XyZ'],
      [json, 'application/xml'],
      [json, 'application/octet-stream'],
      [json, 'application/jsonx'],
      [json, 'text/json'],
      ['email=a%40b.c', 'text/html'],
      [json, undefined], // a body with no content type at all
    ];
    for (const [payload, type] of cases) {
      await rejectBody(payload, type, 415, 'unsupported_media_type', null);
    }
    // The accepted types, with parameters and in any case, still work.
    for (const type of ['application/json; charset=utf-8', 'Application/JSON']) {
      assert.equal((await raw('POST', '/v1/customers', json, type)).status, 200, type);
    }
    assert.equal(
      (await raw('POST', '/v1/customers', 'email=a%40b.c', `${FORM_TYPE}; charset=utf-8`)).status,
      200,
    );
  });

  test('form bodies: duplicated fields and bracket arrays → 400 naming the field', async () => {
    const cases: [string, ErrorCode, string][] = [
      ['email=a%40b.c&email=c%40d.e', 'parameter_invalid', 'email'],
      ['email[]=a%40b.c', 'parameter_invalid', 'email'],
      ['email[0]=a%40b.c', 'parameter_invalid', 'email'],
      ['email[x]=a%40b.c', 'parameter_invalid', 'email'],
      ['email=a%40b.c&first_name=A&first_name=B', 'parameter_invalid', 'first_name'],
      ['email=a%40b.c&first_name[]=A', 'parameter_invalid', 'first_name'],
      ['email=a%40b.c&phone[]=1&phone[]=2', 'parameter_invalid', 'phone'],
      ['email=a%40b.c&notes[a][b]=x', 'parameter_invalid', 'notes'],
      ['email=a%40b.c&metadata[k]=1&metadata[k]=2', 'parameter_invalid', 'metadata[k]'],
      ['email=a%40b.c&metadata[k][]=1', 'parameter_invalid', 'metadata[k]'],
      ['email=a%40b.c&metadata[k][x]=1', 'parameter_invalid', 'metadata[k]'],
      ['email=a%40b.c&metadata=x&metadata=y', 'parameter_invalid', 'metadata'],
      ['email=a%40b.c&metadata[a[b]=x', 'parameter_unknown', 'metadata[a[b]'],
      ['email=a%40b.c&first_name=a%00b', 'parameter_invalid', 'first_name'],
      ['email=a%40b.c&metadata[k%00]=v', 'parameter_invalid', 'metadata[k\u0000]'],
      ['email=a%40b.c&foo[bar]=1', 'parameter_unknown', 'foo'],
      ['email=a%40b.c&constructor[prototype][x]=1', 'parameter_unknown', 'constructor'],
    ];
    for (const [body, code, param] of cases) await rejectBody(body, FORM_TYPE, 400, code, param);
    assert.equal(({} as Record<string, unknown>).x, undefined);
  });

  test('form bodies: `metadata[]=x` is an array or an empty key, never metadata key "0"', async () => {
    // Key "0" would be a silent reinterpretation of an array; the spec's empty key is invalid.
    const res = await raw('POST', '/v1/customers', 'email=a%40b.c&metadata[]=x', FORM_TYPE);
    assert.notEqual(res.status, 200, `accepted as ${JSON.stringify(res.body.metadata)}`);
    await rejectBody('email=a%40b.c&metadata[]=x', FORM_TYPE, 400, 'parameter_invalid');
    await rejectBody('email=a%40b.c&metadata[]=x&metadata[]=y', FORM_TYPE, 400, 'parameter_invalid');
  });

  test('form bodies: `__proto__` fields are refused, never silently dropped', async () => {
    for (const body of ['email=a%40b.c&__proto__[x]=1', 'email=a%40b.c&__proto__=1']) {
      await rejectBody(body, FORM_TYPE, 400, 'parameter_unknown');
    }
    // A metadata key `__proto__` is stored as given or refused, but never lost without a word.
    const res = await raw(
      'POST',
      '/v1/customers',
      'email=a%40b.c&metadata[__proto__]=x&metadata[k]=v',
      FORM_TYPE,
    );
    if (res.status === 200) assert.deepEqual(Object.keys(res.body.metadata ?? {}).sort(), ['__proto__', 'k']);
    else assertErrorEnvelope(res, 400, 'parameter_invalid', 'metadata[__proto__]');
    assert.equal(({} as Record<string, unknown>).x, undefined);
  });

  const list = (query: string) => h.request('GET', `/v1/customers?${query}`, { key: acct.test });

  test('list: limit must be an integer from 1 to 100', async () => {
    for (const limit of ['0', '101', '-1', 'abc', '1.5', '', '1e400', '10abc', '99999999999999999999']) {
      assertErrorEnvelope(await list(`limit=${limit}`), 400, 'parameter_invalid', 'limit');
    }
    assertErrorEnvelope(await list('limit=1&limit=2'), 400, 'parameter_invalid', 'limit');
    assertErrorEnvelope(await list('limit[]=1'), 400, 'parameter_invalid', 'limit');
    assertErrorEnvelope(await list('limit[gt]=1'), 400, 'parameter_invalid', 'limit');
    for (const limit of ['1', '100']) assert.equal((await list(`limit=${limit}`)).status, 200);
  });

  test('list: limit is written in decimal digits, not hex, exponent or padded', async () => {
    for (const limit of ['0x10', '1e1', '%2010', '10%20', '0b11', '+5']) {
      assertErrorEnvelope(await list(`limit=${limit}`), 400, 'parameter_invalid', 'limit');
    }
    assertErrorEnvelope(await list('created=0x10'), 400, 'parameter_invalid', 'created');
    assertErrorEnvelope(await list('created[gt]=1e3'), 400, 'parameter_invalid', 'created[gt]');
  });

  test('list: unknown query parameters → parameter_unknown naming them', async () => {
    for (const [query, param] of [
      ['foo=1', 'foo'],
      ['Limit=5', 'Limit'],
      ['expand[]=data', 'expand'],
      ['page=2', 'page'],
      ['offset=10', 'offset'],
      ['created[foo]=1', 'created[foo]'],
      ['created[gt]=1&created[since]=2', 'created[since]'],
      ['toString=1', 'toString'],
      ['constructor=1', 'constructor'],
    ]) {
      assertErrorEnvelope(await list(query as string), 400, 'parameter_unknown', param);
    }
  });

  test('list: a `__proto__` query parameter is unknown too, not silently dropped', async () => {
    for (const query of ['__proto__[x]=1', '__proto__=1', 'created[__proto__]=1']) {
      const res = await list(query);
      assert.equal(res.status, 400, `${query}: ${res.raw.slice(0, 200)}`);
      assert.equal(res.body.error.code, 'parameter_unknown');
    }
    assert.equal(({} as Record<string, unknown>).x, undefined);
  });

  test('list: created must be an integer or a range of integers', async () => {
    for (const [query, param] of [
      ['created=abc', 'created'],
      ['created=1.5', 'created'],
      ['created=', 'created'],
      ['created=1&created=2', 'created'],
      ['created[gt]=abc', 'created[gt]'],
      ['created[gte]=1.5', 'created[gte]'],
      ['created[lt]=', 'created[lt]'],
      ['created[lte][x]=1', 'created[lte]'],
      ['created[gt]=1&created[gt]=2', 'created[gt]'],
    ]) {
      assertErrorEnvelope(await list(query as string), 400, 'parameter_invalid', param);
    }
    assert.equal((await list('created[gte]=0&created[lt]=99999999999')).status, 200);
  });

  test('list: cursors must be well-formed customer ids; both at once → parameters_exclusive', async () => {
    const id = newId('cus');
    const malformed = [
      'abc',
      'cus_123',
      id.toLowerCase(),
      id.replace('cus_', 'acct_'),
      `${id}0`,
      id.slice(0, -1),
      `cus_${'U'.repeat(26)}`,
      `cus_8${'0'.repeat(25)}`,
      'x'.repeat(100),
      `${id}%00`,
      '',
    ];
    for (const param of ['starting_after', 'ending_before']) {
      for (const value of malformed) {
        assertErrorEnvelope(await list(`${param}=${value}`), 400, 'parameter_invalid', param);
      }
      assertErrorEnvelope(await list(`${param}=${id}&${param}=${target}`), 400, 'parameter_invalid', param);
      assertErrorEnvelope(await list(`${param}[]=${id}`), 400, 'parameter_invalid', param);
    }
    assertErrorEnvelope(
      await list(`starting_after=${id}&ending_before=${target}`),
      400,
      'parameters_exclusive',
    );
    assertErrorEnvelope(
      await list(`ending_before=${target}&starting_after=${target}&limit=5`),
      400,
      'parameters_exclusive',
    );
    // A well-formed cursor that names no customer is fine.
    assert.equal((await list(`starting_after=${id}`)).status, 200);
  });

  test('list: email filter with NUL, arrays or over 512 characters → parameter_invalid', async () => {
    for (const query of [
      'email=a%00@b.c',
      'email[]=a@b.c',
      'email=a@b.c&email=c@d.e',
      `email=${'a'.repeat(513)}`,
    ]) {
      assertErrorEnvelope(await list(query), 400, 'parameter_invalid', 'email');
    }
  });
});
