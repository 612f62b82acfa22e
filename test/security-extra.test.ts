import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { newId } from '../src/ids.js';
import { SQL_INJECTION } from './helpers/arbitraries.js';
import {
  type ApiResponse,
  forEachDatabase,
  type Harness,
  type RequestOptions,
  startHarness,
  type TestAccount,
} from './helpers/harness.js';

/**
 * Security checks beyond test/security.test.ts:
 * - another account's customer and a customer that never existed get byte-identical answers
 *   (only the id differs), whatever the route, key, body or Idempotency-Key;
 * - SQL injection in every field, in the list's filters and cursors, in the path and in the
 *   Idempotency-Key is stored or matched literally, or refused, and never reaches SQL as code;
 * - the log stream of this whole file, at trace level, holds no API key and no customer email.
 * A key revoked with the command line, in every server process: key-cache.system.test.ts.
 */

/** Injection strings that fit every field (no `[` or `]`, at most 40 characters, for metadata keys). */
const INJECTIONS = [
  ...SQL_INJECTION,
  "Robert'); DROP TABLE customers;--",
  "admin'--",
  '1 OR 1=1',
  "' OR 1=1 LIMIT 1 OFFSET 1 --",
  '"; SELECT * FROM api_keys; --',
  "'||pg_sleep(5)||'",
  'x\\"; --',
  '/* */ OR /* */ 1=1',
].filter((s) => s.length <= 40 && !/[[\]]/.test(s));

/** An email that carries the injection (no whitespace or `@`), unique to this file's run. */
const injectedEmail = (s: string, i: number) => `${s.replace(/[\s@]/g, '')}.${i}@sqli.test`;

forEachDatabase('security extras', (dialect) => {
  let h: Harness;
  let a: TestAccount;
  let b: TestAccount;
  /** Every secret and email this file sends, for the log check at the end. */
  const secrets: string[] = [];
  const emails: string[] = [];

  before(async () => {
    // Trace: whatever the server would log at its most talkative is in the stream checked below.
    h = await startHarness(dialect, { LUNIPAY_LOG_LEVEL: 'trace' });
    a = await h.account('Owner shop');
    b = await h.account('Other shop');
    secrets.push(a.test, a.live, b.test, b.live);
  });
  after(() => h.close());

  const create = async (key: string, body: Record<string, unknown>) => {
    emails.push(String(body.email));
    const res = await h.request('POST', '/v1/customers', { key, json: body });
    assert.equal(res.status, 200, res.raw);
    return res.body;
  };

  const counts = async () => {
    const k = h.db.kysely;
    const n = async (table: 'accounts' | 'api_keys' | 'customers' | 'idempotency_keys') =>
      Number(
        (
          await k
            .selectFrom(table)
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    return {
      accounts: await n('accounts'),
      api_keys: await n('api_keys'),
      customers: await n('customers'),
      idempotency_keys: await n('idempotency_keys'),
    };
  };

  test("another account's customer: byte for byte the 404 of one that never existed, on every route", async () => {
    const owner = await create(a.test, { email: 'owner-extra@example.com', first_name: 'Owner' });
    const routes: { name: string; method: string; options: RequestOptions }[] = [
      { name: 'retrieve', method: 'GET', options: {} },
      { name: 'update (JSON)', method: 'PATCH', options: { json: { first_name: 'Mallory' } } },
      {
        name: 'update (form)',
        method: 'POST',
        options: { form: { first_name: 'Mallory', metadata: { x: 'y' } } },
      },
      { name: 'update (empty)', method: 'PATCH', options: { json: {} } },
      { name: 'update (invalid body)', method: 'PATCH', options: { json: { email: 5 } } },
      { name: 'update (read-only field)', method: 'POST', options: { json: { livemode: true } } },
      { name: 'delete', method: 'DELETE', options: {} },
      { name: 'delete (with a body)', method: 'DELETE', options: { json: {} } },
    ];
    let pairs = 0;
    for (const key of [b.test, b.live]) {
      for (const route of routes) {
        for (const idempotent of [false, true]) {
          const send = (id: string) =>
            h.request(route.method, `/v1/customers/${id}`, {
              ...route.options,
              key,
              headers: idempotent ? { 'idempotency-key': `probe-${newId('req')}` } : {},
            });
          const never = newId('cus');
          const other = await send(owner.id);
          const none = await send(never);
          const label = `${route.name}${idempotent ? ' with an Idempotency-Key' : ''}: ${other.raw}`;
          assert.ok(other.status === 404 || other.status === 400, label);
          assert.equal(other.status, none.status, label);
          assert.equal(other.raw.replaceAll(owner.id, never), none.raw, label);
          const headers = (res: ApiResponse) =>
            Object.entries(res.headers)
              .filter(([name]) => !['request-id', 'date'].includes(name))
              .sort();
          assert.deepEqual(headers(other), headers(none), label);
          pairs++;
        }
      }
    }
    // Lists: a cursor or an email filter naming another account's customer says no more than one
    // naming nothing (account b has no customers of its own).
    for (const key of [b.test, b.live]) {
      for (const [param, mine, nobody] of [
        ['starting_after', owner.id, newId('cus')],
        ['ending_before', owner.id, newId('cus')],
        ['email', 'owner-extra@example.com', 'nobody-extra@example.com'],
        ['email', 'OWNER-EXTRA@EXAMPLE.COM', 'NOBODY-EXTRA@EXAMPLE.COM'],
      ] as const) {
        const other = await h.request('GET', '/v1/customers', { key, query: { [param]: mine } });
        const none = await h.request('GET', '/v1/customers', { key, query: { [param]: nobody } });
        assert.equal(other.status, 200, other.raw);
        assert.equal(other.raw, none.raw);
        pairs++;
      }
    }
    const still = await h.request('GET', `/v1/customers/${owner.id}`, { key: a.test });
    assert.deepEqual(still.body, owner, 'nothing happened to it');
    assert.ok(pairs >= 40);
  });

  test('SQL injection in every field is stored and returned literally, on create and update', async () => {
    const before = await counts();
    const made: string[] = [];
    for (const [i, s] of INJECTIONS.entries()) {
      const body = {
        email: injectedEmail(s, i),
        first_name: s,
        last_name: s,
        phone: s,
        company_name: s,
        notes: s,
        metadata: { [s]: s, plain: s },
      };
      const created = await create(a.test, body);
      made.push(created.id);
      for (const field of ['first_name', 'last_name', 'phone', 'company_name', 'notes'] as const) {
        assert.equal(created[field], s, `${field}: ${s}`);
      }
      assert.equal(created.email, body.email);
      assert.deepEqual(created.metadata, { [s]: s, plain: s });
      const fetched = await h.request('GET', `/v1/customers/${created.id}`, { key: a.test });
      assert.deepEqual(fetched.body, created);
      const row = await h.db.kysely
        .selectFrom('customers')
        .selectAll()
        .where('id', '=', created.id)
        .executeTakeFirstOrThrow();
      assert.equal(row.first_name, s, 'stored as given, not escaped');
      assert.equal(row.notes, s);

      // And as an update, through a form body too.
      const t = `${s} (updated)`.slice(0, 40);
      const updated = await h.request('POST', `/v1/customers/${created.id}`, {
        key: a.test,
        form: { first_name: t, company_name: t, metadata: { [s]: '', other: t } },
      });
      assert.equal(updated.status, 200, updated.raw);
      assert.equal(updated.body.first_name, t);
      assert.equal(updated.body.company_name, t);
      assert.deepEqual(updated.body.metadata, { plain: s, other: t });
    }
    const now = await counts();
    assert.deepEqual(now, { ...before, customers: before.customers + made.length }, 'only the new customers');
  });

  test('SQL injection in the email, created and cursor filters is matched literally or refused', async () => {
    const before = await counts();
    const planted = INJECTIONS.slice(0, 6).map((s, i) => injectedEmail(s, 100 + i));
    const ids = new Map<string, string>();
    for (const email of planted) ids.set(email, (await create(a.test, { email })).id);
    const list = (query: Record<string, unknown>) =>
      h.request('GET', '/v1/customers', { key: a.test, query });

    // The email filter is an exact, case-insensitive match: each finds its own customer, nothing more.
    for (const email of planted) {
      for (const form of [email, email.toUpperCase()]) {
        const res = await list({ email: form, limit: 100 });
        assert.equal(res.status, 200, res.raw);
        assert.deepEqual(
          res.body.data.map((c: { id: string }) => c.id),
          [ids.get(email)],
          form,
        );
      }
    }
    // Wildcards and injections match nothing: there is no customer with that very email.
    for (const s of [...INJECTIONS, '%', '_%', '%@sqli.test', "%' --", '*']) {
      const res = await list({ email: s, limit: 100 });
      assert.equal(res.status, 200, res.raw);
      assert.deepEqual(res.body.data, [], `email=${s}`);
    }
    // created takes integers only; cursors take customer ids only. Anything else is a 400.
    for (const s of INJECTIONS) {
      for (const [param, query] of [
        ['created', { created: s }],
        ['created[gt]', { created: { gt: s } }],
        ['created[lte]', { created: { lte: `1 ${s}` } }],
        ['starting_after', { starting_after: s }],
        ['ending_before', { ending_before: `cus_${s}` }],
      ] as const) {
        const res = await list(query);
        assert.equal(res.status, 400, `${param}=${s}: ${res.raw}`);
        assert.equal(res.body.error.code, 'parameter_invalid');
        assert.equal(res.body.error.param, param);
      }
    }
    assert.deepEqual(await counts(), { ...before, customers: before.customers + planted.length });
  });

  test('SQL injection in the path id and the Idempotency-Key', async () => {
    const before = await counts();
    for (const s of INJECTIONS) {
      for (const method of ['GET', 'PATCH', 'POST', 'DELETE']) {
        const res = await h.request(method, `/v1/customers/${encodeURIComponent(s)}`, {
          key: a.test,
          ...(method === 'PATCH' || method === 'POST' ? { json: { first_name: 'x' } } : {}),
        });
        assert.equal(res.status, 404, `${method} ${s}: ${res.raw}`);
        assert.equal(res.body.error.code, 'resource_missing');
        assert.equal(res.body.error.message, `No such customer: '${s}'.`);
      }
    }
    assert.deepEqual(await counts(), before);
    // A key full of SQL is just a key: stored as given, replayed as given.
    for (const [i, s] of INJECTIONS.filter((x) => /^[\x20-\x7e]+$/.test(x)).entries()) {
      const body = { email: injectedEmail(s, 200 + i) };
      emails.push(body.email);
      const first = await h.request('POST', '/v1/customers', {
        key: a.test,
        json: body,
        headers: { 'idempotency-key': s },
      });
      const again = await h.request('POST', '/v1/customers', {
        key: a.test,
        json: body,
        headers: { 'idempotency-key': s },
      });
      assert.equal(first.status, 200, first.raw);
      assert.equal(again.raw, first.raw);
      assert.equal(again.headers['idempotent-replayed'], 'true');
      const stored = await h.db.kysely
        .selectFrom('idempotency_keys')
        .select('key')
        .where('account_id', '=', a.id)
        .where('key', '=', s)
        .execute();
      assert.equal(stored.length, 1, s);
    }
  });

  // Last, so it sees every line the tests above wrote.
  test('the log stream of the whole file, at trace level, holds no API key and no customer email', async () => {
    const logs = h.logs();
    const lines = logs.split('\n').filter((l) => l !== '');
    assert.ok(lines.length > 100, `the requests were logged: ${lines.length} lines`);
    for (const line of lines) JSON.parse(line);
    for (const secret of secrets) {
      assert.ok(!logs.includes(secret), 'the logs hold an API key');
      assert.ok(!logs.includes(secret.slice(8)), 'the logs hold the random part of an API key');
    }
    assert.ok(emails.length > 20);
    for (const email of emails) {
      for (const form of [
        email,
        email.toLowerCase(),
        encodeURIComponent(email),
        JSON.stringify(email).slice(1, -1),
      ]) {
        assert.ok(!logs.includes(form), `the logs hold an email: ${form}`);
      }
    }
  });
});
