import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql } from 'kysely';
import { forEachDatabase, type Harness, startHarness, type TestAccount } from '../../test/helpers/harness.js';
import { tableNames } from '../../test/helpers/rows.js';

/** Which changes make events, and what each says: type, data, previous_attributes, request. */

type Ev = {
  id: string;
  type: string;
  sequence: number;
  livemode: boolean;
  api_version: string;
  data: { object: Record<string, unknown>; previous_attributes?: Record<string, unknown> };
  request: { id: string | null; idempotency_key: string | null; source: string };
  pending_webhooks: number;
};

forEachDatabase('events written by customer changes', (dialect) => {
  let h: Harness;
  before(async () => {
    h = await startHarness(dialect);
  });
  after(() => h.close());

  /** The account's events, oldest first, through the feed. */
  const feed = async (acct: TestAccount, key = acct.test): Promise<Ev[]> => {
    const res = await h.request('GET', '/v1/events', { key, query: { sequence_after: 0, limit: 100 } });
    assert.equal(res.status, 200, res.raw);
    return res.body.data;
  };

  test('create, real update and delete: one event each, with the customer as the API returned it', async () => {
    const acct = await h.account('writes');
    const created = await h.request('POST', '/v1/customers', {
      key: acct.test,
      json: { email: 'ada@example.com', first_name: 'Ada', notes: 'likes tea', metadata: { plan: 'free' } },
      headers: { 'idempotency-key': 'create-ada' },
    });
    assert.equal(created.status, 200);
    const id = created.body.id;
    let events = await feed(acct);
    assert.equal(events.length, 1);
    const [c] = events as [Ev];
    assert.equal(c.type, 'customer.created');
    assert.equal(c.sequence, 1);
    assert.equal(c.livemode, false);
    assert.equal(c.api_version, '2026-12-01');
    assert.equal(c.pending_webhooks, 0);
    assert.deepEqual(c.data, { object: created.body }, 'the customer as returned, notes included');
    assert.deepEqual(c.request, {
      id: created.headers['request-id'],
      idempotency_key: 'create-ada',
      source: 'api',
    });

    const updated = await h.request('PATCH', `/v1/customers/${id}`, {
      key: acct.test,
      json: { phone: '+15550100', first_name: 'Ada', metadata: { plan: 'pro' }, notes: '' },
    });
    assert.equal(updated.status, 200);
    events = await feed(acct);
    assert.equal(events.length, 2);
    const u = events[1] as Ev;
    assert.equal(u.type, 'customer.updated');
    assert.equal(u.sequence, 2);
    assert.deepEqual(u.data.object, updated.body);
    // first_name was sent unchanged: not a change. `updated` is never listed.
    assert.deepEqual(u.data.previous_attributes, {
      phone: null,
      notes: 'likes tea',
      metadata: { plan: 'free' },
    });
    assert.deepEqual(u.request, { id: updated.headers['request-id'], idempotency_key: null, source: 'api' });

    const cleared = await h.request('POST', `/v1/customers/${id}`, {
      key: acct.test,
      json: { metadata: null },
    });
    assert.equal(cleared.status, 200);
    assert.deepEqual((await feed(acct))[2]?.data.previous_attributes, { metadata: { plan: 'pro' } });
    const added = await h.request('POST', `/v1/customers/${id}`, {
      key: acct.test,
      form: { metadata: { a: '1' } },
    });
    assert.equal(added.status, 200);
    assert.deepEqual((await feed(acct))[3]?.data.previous_attributes, { metadata: null });

    const deleted = await h.request('DELETE', `/v1/customers/${id}`, {
      key: acct.test,
      headers: { 'idempotency-key': 'delete-ada' },
    });
    assert.equal(deleted.status, 200);
    events = await feed(acct);
    assert.deepEqual(
      events.map((e) => [e.sequence, e.type]),
      [
        [1, 'customer.created'],
        [2, 'customer.updated'],
        [3, 'customer.updated'],
        [4, 'customer.updated'],
        [5, 'customer.deleted'],
      ],
    );
    const d = events[4] as Ev;
    assert.deepEqual(d.data, { object: { id, object: 'customer', deleted: true } });
    assert.deepEqual(d.request, {
      id: deleted.headers['request-id'],
      idempotency_key: 'delete-ada',
      source: 'api',
    });
    // Retrievable one by one, exactly as listed.
    for (const event of events) {
      const one = await h.request('GET', `/v1/events/${event.id}`, { key: acct.test });
      assert.equal(one.status, 200);
      assert.deepEqual(one.body, event);
    }
  });

  test('no event for a no-op update, an idempotent replay or a refused request', async () => {
    const acct = await h.account('no-events');
    const created = await h.request('POST', '/v1/customers', {
      key: acct.test,
      json: { email: 'noop@example.com', phone: '+1555', metadata: { a: '1' } },
      headers: { 'idempotency-key': 'once' },
    });
    const id = created.body.id;
    const replay = await h.request('POST', '/v1/customers', {
      key: acct.test,
      json: { email: 'noop@example.com', phone: '+1555', metadata: { a: '1' } },
      headers: { 'idempotency-key': 'once' },
    });
    assert.equal(replay.headers['idempotent-replayed'], 'true');
    for (const json of [
      {},
      { phone: '+1555' },
      { email: 'noop@example.com', metadata: { a: '1', b: null } },
    ]) {
      const res = await h.request('PATCH', `/v1/customers/${id}`, { key: acct.test, json });
      assert.equal(res.status, 200);
      assert.equal(res.body.updated, created.body.updated);
    }
    const refused = [
      await h.request('POST', '/v1/customers', { key: acct.test, json: { email: 'not-an-email' } }),
      await h.request('PATCH', `/v1/customers/${id}`, { key: acct.test, json: { email: null } }),
      await h.request('PATCH', `/v1/customers/${id}`, { key: acct.test, json: { metadata: { '[x]': 'y' } } }),
      await h.request('PATCH', '/v1/customers/cus_01JRZK2Q4T9ZS0VCNA3HX7W9EY', {
        key: acct.test,
        json: { phone: '1' },
      }),
      await h.request('DELETE', '/v1/customers/cus_01JRZK2Q4T9ZS0VCNA3HX7W9EY', { key: acct.test }),
      await h.request('PATCH', `/v1/customers/${id}`, { key: acct.live, json: { phone: '2' } }),
    ];
    assert.deepEqual(
      refused.map((r) => r.status),
      [400, 400, 400, 404, 404, 404],
    );
    const updated = await h.request('PATCH', `/v1/customers/${id}`, {
      key: acct.test,
      json: { phone: '+1666' },
      headers: { 'idempotency-key': 'phone' },
    });
    const again = await h.request('PATCH', `/v1/customers/${id}`, {
      key: acct.test,
      json: { phone: '+1666' },
      headers: { 'idempotency-key': 'phone' },
    });
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.deepEqual(
      (await feed(acct)).map((e) => [e.sequence, e.type, e.request.id]),
      [
        [1, 'customer.created', created.headers['request-id']],
        [2, 'customer.updated', updated.headers['request-id']],
      ],
    );
    assert.deepEqual(await feed(acct, acct.live), [], 'nothing in the other mode');
  });

  test('erasure: a deleted customer leaves no personal data in any event', async () => {
    const acct = await h.account('erasure');
    const personal = [
      'erase-me@example.com',
      'Eraseda',
      'Secretlast',
      '+15559876',
      'Erase Corp',
      'erasenote',
    ];
    const created = await h.request('POST', '/v1/customers', {
      key: acct.test,
      json: {
        email: personal[0],
        first_name: personal[1],
        last_name: personal[2],
        phone: personal[3],
        company_name: personal[4],
        notes: personal[5],
        metadata: { erasekey: 'erasevalue' },
      },
    });
    const id = created.body.id;
    await h.request('PATCH', `/v1/customers/${id}`, {
      key: acct.test,
      json: { email: 'erase-me-2@example.com', phone: '+15550000' },
      headers: { 'idempotency-key': 'erase-update' },
    });
    // Another customer's events are left alone.
    const other = await h.request('POST', '/v1/customers', {
      key: acct.test,
      json: { email: 'keep@example.com' },
    });
    assert.equal((await h.request('DELETE', `/v1/customers/${id}`, { key: acct.test })).status, 200);

    const events = await feed(acct);
    const stub = { object: { id, object: 'customer', deleted: true } };
    const mine = events.filter((e) => e.data.object.id === id);
    assert.deepEqual(
      mine.map((e) => [e.type, e.data]),
      [
        ['customer.created', stub],
        ['customer.updated', stub],
        ['customer.deleted', stub],
      ],
    );
    const history = await h.request('GET', '/v1/events', { key: acct.test, query: { object_id: id } });
    assert.equal(history.body.data.length, 3, 'the history of a deleted customer is still listed');
    assert.deepEqual(events.find((e) => e.data.object.id === other.body.id)?.data.object, other.body);

    // Every table of the database, events first among them.
    const names = await tableNames(h.db.kysely, dialect);
    assert.ok(names.includes('events'));
    for (const table of names) {
      const stored = JSON.stringify((await sql`select * from ${sql.table(table)}`.execute(h.db.kysely)).rows);
      for (const text of [...personal, 'erase-me-2', '+15550000', 'erasekey', 'erasevalue']) {
        assert.ok(!stored.includes(text), `${text} is still stored in ${table}`);
      }
    }
  });
});
