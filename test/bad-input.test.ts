import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { READ_ONLY_FIELDS } from '../src/customers/customers.schema.js';
import type { ErrorCode } from '../src/errors.js';
import { assertErrorEnvelope } from './helpers/errors.js';
import { countCustomers, forEachDatabase, storedCustomer, useHarness } from './helpers/harness.js';

/**
 * Field-level bad input on create and update: wrong types, NUL characters and lone surrogates,
 * lengths (in code points), email format, metadata limits, read-only and unknown fields. Every
 * rejection is the error envelope with the right code and `param`, and changes nothing stored.
 * Bodies on the wire (size, JSON, content types, forms) and query strings: bad-input-query.test.ts.
 */

const STRING_FIELDS = ['email', 'first_name', 'last_name', 'phone', 'company_name', 'notes'] as const;
const MAX: Record<(typeof STRING_FIELDS)[number], number> = {
  email: 512,
  first_name: 255,
  last_name: 255,
  phone: 64,
  company_name: 255,
  notes: 5000,
};
const WRONG_TYPES: unknown[] = [5, 0, -1, 1.5, true, false, [], ['x@y.z'], {}, { a: 'b' }];
const BAD_STRINGS = ['a\u0000b', '\u0000', '\ud800', 'x\udfffy', '\udc00\ud800', 'ok\ud83d'];
/** A value for every field the schema makes read-only (the type says when one is missing). */
const READ_ONLY: Record<(typeof READ_ONLY_FIELDS)[number], unknown> = {
  id: 'cus_01JRZK2Q4T9ZS0VCNA3HX7W9EY',
  object: 'customer',
  livemode: false,
  stripe_customer_id: 'cus_Pxxxxxxxxxxxx',
  created: 1713100800,
  updated: 1713100800,
};
/** A string of `n` code points made of `unit`; an email of `n` code points when `email`. */
const ofLength = (n: number, unit: string, email = false) =>
  email ? `${unit.repeat(n - 4)}@b.c` : unit.repeat(n);
const keys = (n: number, prefix = 'k') =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, 'v']));

forEachDatabase('bad input: customer fields', (dialect) => {
  const { h, acct } = useHarness(dialect);
  let target: string;
  before(async () => {
    const res = await h.request('POST', '/v1/customers', {
      key: acct.test,
      json: {
        email: 'target@example.com',
        first_name: 'T',
        phone: '1',
        notes: 'n',
        metadata: { keep: 'me' },
      },
    });
    assert.equal(res.status, 200);
    target = res.body.id;
  });

  const count = () => countCustomers(h.db);
  const row = (id: string) => storedCustomer(h.db, id);

  /** The create is refused as described and no customer row appears. */
  async function rejectCreate(body: unknown, code: ErrorCode, param?: string | null, message?: RegExp) {
    const before = await count();
    const res = await h.request('POST', '/v1/customers', { key: acct.test, json: body });
    assertErrorEnvelope(res, 400, code, param);
    if (message) assert.match(res.body.error.message, message);
    assert.equal(await count(), before, `a customer row was written for ${JSON.stringify(body)}`);
  }

  /** The update is refused, as PATCH and as the POST alias, and the row is unchanged. */
  async function rejectUpdate(
    body: unknown,
    code: ErrorCode,
    param?: string | null,
    id = target,
    message?: RegExp,
  ) {
    const snapshot = await row(id);
    for (const method of ['PATCH', 'POST']) {
      const res = await h.request(method, `/v1/customers/${id}`, { key: acct.test, json: body });
      assertErrorEnvelope(res, 400, code, param);
      if (message) assert.match(res.body.error.message, message);
      assert.deepEqual(await row(id), snapshot, `${method} changed the row for ${JSON.stringify(body)}`);
    }
  }

  async function acceptCreate(body: Record<string, unknown>) {
    const res = await h.request('POST', '/v1/customers', { key: acct.test, json: body });
    assert.equal(res.status, 200, res.raw.slice(0, 300));
    return res.body;
  }
  async function acceptUpdate(body: Record<string, unknown>, id = target) {
    const res = await h.request('PATCH', `/v1/customers/${id}`, { key: acct.test, json: body });
    assert.equal(res.status, 200, res.raw.slice(0, 300));
    return res.body;
  }

  test('a wrong JSON type for any writable field → parameter_invalid naming it', async () => {
    for (const field of STRING_FIELDS) {
      for (const value of WRONG_TYPES) {
        await rejectCreate({ email: 'a@b.c', [field]: value }, 'parameter_invalid', field);
        await rejectUpdate({ [field]: value }, 'parameter_invalid', field);
      }
    }
    for (const value of [5, 1.5, true, false, [], [{ a: 'b' }], 'text']) {
      await rejectCreate({ email: 'a@b.c', metadata: value }, 'parameter_invalid', 'metadata');
      await rejectUpdate({ metadata: value }, 'parameter_invalid', 'metadata');
    }
    for (const value of [5, 1.5, true, false, {}, { b: 'c' }, [], ['x']]) {
      await rejectCreate({ email: 'a@b.c', metadata: { a: value } }, 'parameter_invalid', 'metadata[a]');
      await rejectUpdate({ metadata: { keep: 'x', a: value } }, 'parameter_invalid', 'metadata[a]');
    }
  });

  test('null is refused for email, first_name and last_name; a missing email is parameter_missing', async () => {
    for (const field of ['email', 'first_name', 'last_name']) {
      await rejectCreate({ email: 'a@b.c', [field]: null }, 'parameter_invalid', field);
      await rejectUpdate({ [field]: null }, 'parameter_invalid', field);
    }
    await rejectCreate({}, 'parameter_missing', 'email');
    await rejectCreate({ first_name: 'Ada', metadata: { a: 'b' } }, 'parameter_missing', 'email');
    await rejectCreate({ email: '' }, 'parameter_invalid', 'email');
    await rejectUpdate({ email: '' }, 'parameter_invalid', 'email');
  });

  test('NUL characters and lone surrogates are refused in every string, metadata keys and values', async () => {
    for (const field of STRING_FIELDS) {
      const values = field === 'email' ? BAD_STRINGS.flatMap((s) => [`${s}@b.c`, `a@b${s}`]) : BAD_STRINGS;
      for (const value of values) {
        await rejectCreate({ email: 'a@b.c', [field]: value }, 'parameter_invalid', field);
        await rejectUpdate({ [field]: value }, 'parameter_invalid', field);
      }
    }
    for (const bad of BAD_STRINGS) {
      await rejectCreate({ email: 'a@b.c', metadata: { a: bad } }, 'parameter_invalid', 'metadata[a]');
      await rejectUpdate({ metadata: { a: bad } }, 'parameter_invalid', 'metadata[a]');
      await rejectCreate(
        { email: 'a@b.c', metadata: { [bad]: 'v' } },
        'parameter_invalid',
        `metadata[${bad}]`,
      );
      await rejectUpdate({ metadata: { [bad]: 'v' } }, 'parameter_invalid', `metadata[${bad}]`);
    }
    // A surrogate pair is one ordinary character.
    assert.equal(
      (await acceptCreate({ email: '😀@😀', first_name: '😀', metadata: { '😀': '😀' } })).first_name,
      '😀',
    );
  });

  test('lengths count code points: the maximum passes, one more fails, for every field', async () => {
    for (const field of STRING_FIELDS) {
      for (const unit of ['a', 'é', '😀', '𝔸']) {
        const max = ofLength(MAX[field], unit, field === 'email');
        const over = ofLength(MAX[field] + 1, unit, field === 'email');
        const created = await acceptCreate({ email: 'a@b.c', [field]: max });
        assert.equal(created[field], max, `${field} of ${MAX[field]} × ${unit}`);
        await rejectCreate({ email: 'a@b.c', [field]: over }, 'parameter_invalid', field);
        assert.equal((await acceptUpdate({ [field]: max }, created.id))[field], max);
        await rejectUpdate({ [field]: over }, 'parameter_invalid', field, created.id);
      }
    }
  });

  test('email format: one @ with text on both sides, no whitespace, 3 to 512 characters', async () => {
    const bad = [
      'plainaddress',
      'a@b@c.d',
      '@@',
      'a@@b.c',
      '@b.c',
      'a@',
      '@',
      'ab',
      'a b@c.d',
      'a@b .c',
      ' a@b.c',
      'a@b.c ',
      'a\t@b.c',
      'a@b.c\n',
      'a\u00a0b@c.d',
      'a\u2003@b.c',
      ofLength(513, 'a', true),
      ofLength(513, '😀', true),
    ];
    for (const email of bad) {
      await rejectCreate({ email }, 'parameter_invalid', 'email');
      await rejectUpdate({ email }, 'parameter_invalid', 'email');
    }
    for (const email of ['a@b', ofLength(512, 'a', true), 'ünïcødé@bücher.example', 'a+tag@b.c']) {
      assert.equal((await acceptCreate({ email })).email, email);
    }
  });

  test('metadata: at most 20 keys on create', async () => {
    await rejectCreate({ email: 'a@b.c', metadata: keys(21) }, 'parameter_invalid', 'metadata');
    await rejectCreate({ email: 'a@b.c', metadata: keys(100) }, 'parameter_invalid', 'metadata');
    assert.equal(
      Object.keys((await acceptCreate({ email: 'a@b.c', metadata: keys(20) })).metadata).length,
      20,
    );
  });

  test('metadata on update: the limit applies to the merged result', async () => {
    const { id } = await acceptCreate({ email: 'merge@b.c', metadata: keys(15, 'm') });
    // The request has only 6 keys, but the merge would leave 21.
    await rejectUpdate({ metadata: keys(6, 'n') }, 'parameter_invalid', 'metadata', id);
    assert.equal(Object.keys((await acceptUpdate({ metadata: keys(5, 'n') }, id)).metadata).length, 20);
    await rejectUpdate({ metadata: { extra: 'x' } }, 'parameter_invalid', 'metadata', id);
    await rejectUpdate({ metadata: { m0: 'changed', extra: 'x' } }, 'parameter_invalid', 'metadata', id);
    // Removing keys in the same request brings the result back to 20 or fewer: that is fine.
    const swapped = await acceptUpdate({ metadata: { m0: null, m1: '', x0: 'a', x1: 'b' } }, id);
    assert.equal(Object.keys(swapped.metadata).length, 20);
    assert.equal(swapped.metadata.m0, undefined);
    assert.equal(swapped.metadata.x1, 'b');
    // 21 entries in the request, but 11 of them remove keys: the result has 19.
    const removals = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`m${i + 2}`, null]));
    const shrunk = await acceptUpdate({ metadata: { ...removals, ...keys(10, 'y') } }, id);
    assert.equal(Object.keys(shrunk.metadata).length, 19);
    // Clearing everything, then 20 new keys, is fine too.
    await acceptUpdate({ metadata: null }, id);
    assert.equal(Object.keys((await acceptUpdate({ metadata: keys(20, 'z') }, id)).metadata).length, 20);
  });

  test('metadata keys: 1 to 40 characters, no [ or ]; values at most 500 characters', async () => {
    for (const key of ['k'.repeat(41), '😀'.repeat(41), 'a[b', 'a]b', '[', ']', '[]', 'a[0]', '']) {
      await rejectCreate(
        { email: 'a@b.c', metadata: { [key]: 'v' } },
        'parameter_invalid',
        `metadata[${key}]`,
      );
      await rejectUpdate({ metadata: { [key]: 'v' } }, 'parameter_invalid', `metadata[${key}]`);
    }
    for (const value of ['v'.repeat(501), '😀'.repeat(501)]) {
      await rejectCreate({ email: 'a@b.c', metadata: { k: value } }, 'parameter_invalid', 'metadata[k]');
      await rejectUpdate({ metadata: { k: value } }, 'parameter_invalid', 'metadata[k]');
    }
    const ok = { ['k'.repeat(40)]: 'v'.repeat(500), ['😀'.repeat(40)]: '😀'.repeat(500), '-_. :/@': 'x' };
    assert.deepEqual((await acceptCreate({ email: 'a@b.c', metadata: ok })).metadata, ok);
  });

  test('read-only fields → parameter_unknown; stripe_customer_id says LuniPay manages it', async () => {
    for (const [field, value] of Object.entries(READ_ONLY)) {
      const values = field === 'stripe_customer_id' ? [value, null, ''] : [value];
      const message = field === 'stripe_customer_id' ? /managed by LuniPay|LuniPay manages/i : undefined;
      for (const v of values) {
        await rejectCreate({ email: 'a@b.c', [field]: v }, 'parameter_unknown', field, message);
        await rejectUpdate({ [field]: v }, 'parameter_unknown', field, target, message);
      }
    }
    const current = (await h.request('GET', `/v1/customers/${target}`, { key: acct.test })).body;
    // Even the value it already has may not be sent.
    for (const field of Object.keys(READ_ONLY))
      await rejectUpdate({ [field]: current[field] }, 'parameter_unknown', field);
    // In a form body too.
    const before = await count();
    const res = await h.request('POST', '/v1/customers', {
      key: acct.test,
      form: { email: 'a@b.c', stripe_customer_id: 'cus_Pxxxxxxxxxxxx' },
    });
    assertErrorEnvelope(res, 400, 'parameter_unknown', 'stripe_customer_id');
    assert.match(res.body.error.message, /managed by LuniPay|LuniPay manages/i);
    assert.equal(await count(), before);
  });

  test('unknown fields → parameter_unknown naming them', async () => {
    for (const field of [
      'foo',
      'Email',
      'EMAIL',
      'name',
      'description',
      'address',
      'deleted',
      'metadata2',
      'first-name',
    ]) {
      await rejectCreate({ email: 'a@b.c', [field]: 'x' }, 'parameter_unknown', field);
      await rejectUpdate({ [field]: 'x' }, 'parameter_unknown', field);
    }
    for (const field of ['toString', 'hasOwnProperty', 'valueOf']) {
      await rejectCreate({ email: 'a@b.c', [field]: 'x' }, 'parameter_unknown', field);
      await rejectUpdate({ [field]: 'x' }, 'parameter_unknown', field);
    }
    // Prototype keys are refused (either way), and nothing leaks onto Object.prototype.
    for (const raw of [
      '{"email":"a@b.c","__proto__":{"polluted":1}}',
      '{"email":"a@b.c","constructor":{"prototype":{"polluted":1}}}',
    ]) {
      const before = await count();
      const res = await h.request('POST', '/v1/customers', {
        key: acct.test,
        payload: raw,
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(res.status, 400, res.raw);
      assert.ok(['invalid_json', 'parameter_unknown'].includes(res.body.error.code), res.raw);
      assert.equal(await count(), before);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    }
  });
});
