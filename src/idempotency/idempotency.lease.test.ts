import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  forEachDatabase,
  type Harness,
  startHarness,
  type TestAccount,
  useHarness,
} from '../../test/helpers/harness.js';
import type { AuthContext } from '../accounts/keys.js';
import { eraseDeletedCustomer } from '../customers/customers.hooks.js';
import * as customers from '../customers/customers.service.js';
import type { Origin } from '../db/write-hooks.js';
import { AppError } from '../errors.js';
import * as idem from './idempotency.service.js';

/**
 * Leases are taken here with their own durations, as another process configured differently
 * would: a long one for "still in flight", a short one for "that process died".
 */
const LIVE_MS = 60_000;
const SHORT_MS = 100;
const outlive = () => sleep(SHORT_MS + 50);

const asJson = (_status: number, body: unknown) => JSON.stringify(body);
const origin: Origin = { requestId: null, idempotencyKey: null, source: 'api' };
const lostLease = (error: unknown) => error instanceof AppError && error.code === 'idempotency_key_in_use';

forEachDatabase('Idempotency leases', (dialect) => {
  let h: Harness;
  let acct: TestAccount;
  let auth: AuthContext;
  let deps: idem.IdempotencyDeps;
  let customerDeps: customers.CustomerDeps;
  before(async () => {
    h = await startHarness(dialect);
    acct = await h.account();
    auth = { accountId: acct.id, mode: 'test', keyId: acct.testKeyId };
    deps = { db: h.db, leaseMs: h.config.idempotency.leaseMs };
    customerDeps = { db: h.db, hooks: [eraseDeletedCustomer] };
  });
  after(() => h.close());

  let n = 0;
  const newKey = () => `lease-${++n}-${Date.now()}`;
  const post = (key: string, json: unknown) =>
    h.request('POST', '/v1/customers', { key: acct.test, json, headers: { 'idempotency-key': key } });
  const countByEmail = async (email: string) =>
    (await h.db.kysely.selectFrom('customers').select('id').where('email', '=', email).execute()).length;
  /** Claims a key the way the route would, as if another process were executing it. */
  async function claimed(
    key: string,
    method: string,
    path: string,
    params: unknown,
    leaseMs = LIVE_MS,
  ): Promise<idem.Lease> {
    const claim = await idem.claim({ ...deps, leaseMs }, { auth, key, method, path, params });
    assert.equal(claim.kind, 'execute');
    return (claim as { lease: idem.Lease }).lease;
  }

  test('while a key is in flight: 409 idempotency_key_in_use; other parameters are still a mismatch', async () => {
    const key = newKey();
    const body = { email: 'inflight@example.com' };
    const lease = await claimed(key, 'POST', '/v1/customers', body);
    const busy = await post(key, body);
    assert.equal(busy.status, 409);
    assert.equal(busy.body.error.type, 'invalid_request_error');
    assert.equal(busy.body.error.code, 'idempotency_key_in_use');
    assert.equal(busy.headers['retry-after'], '1');
    assert.ok(busy.body.error.message.includes(`'${key}'`));
    assert.equal((await post(key, { email: 'else@example.com' })).body.error.code, 'idempotency_key_reused');

    // The first execution finishes: from then on the key replays its response.
    const created = await customers.createCustomer(
      customerDeps,
      auth,
      body,
      origin,
      idem.recordResponse(lease, asJson),
    );
    const replay = await post(key, body);
    assert.equal(replay.status, 200);
    assert.equal(replay.headers['idempotent-replayed'], 'true');
    assert.equal(replay.body.id, created.id);
    assert.equal(await countByEmail(body.email), 1);
  });

  test('after the lease runs out a retry takes the key over; the first execution can no longer commit', async () => {
    const key = newKey();
    const body = { email: 'takeover@example.com' };
    const stale = await claimed(key, 'POST', '/v1/customers', body, SHORT_MS);
    await outlive();
    const retry = await post(key, body);
    assert.equal(retry.status, 200);
    assert.equal(retry.headers['idempotent-replayed'], undefined);

    // The first execution comes back late: its commit finds the lease gone and rolls back.
    await assert.rejects(
      customers.createCustomer(customerDeps, auth, body, origin, idem.recordResponse(stale, asJson)),
      lostLease,
    );
    assert.equal(await countByEmail(body.email), 1);
    const replay = await post(key, body);
    assert.equal(replay.headers['idempotent-replayed'], 'true');
    assert.equal(replay.raw, retry.raw);
  });

  test('an update or a delete that lost its lease mid-request rolls back', async () => {
    const customer = (await post(newKey(), { email: 'lost@example.com', first_name: 'Before' })).body;
    const path = `/v1/customers/${customer.id}`;

    const update = newKey();
    const staleUpdate = await claimed(update, 'PATCH', path, { first_name: 'After' }, SHORT_MS);
    await outlive();
    const winner = await claimed(update, 'PATCH', path, { first_name: 'After' });
    await assert.rejects(
      customers.updateCustomer(
        customerDeps,
        auth,
        customer.id,
        { first_name: 'After' },
        origin,
        idem.recordResponse(staleUpdate, asJson),
      ),
      lostLease,
    );
    const unchanged = await h.request('GET', path, { key: acct.test });
    assert.equal(unchanged.body.first_name, 'Before');
    assert.equal(unchanged.body.updated, customer.updated);
    await idem.release(deps, winner);

    const remove = newKey();
    const staleDelete = await claimed(remove, 'DELETE', path, {}, SHORT_MS);
    await outlive();
    await claimed(remove, 'DELETE', path, {});
    await assert.rejects(
      customers.deleteCustomer(
        customerDeps,
        auth,
        customer.id,
        origin,
        idem.recordResponse(staleDelete, asJson),
      ),
      lostLease,
    );
    assert.equal((await h.request('GET', path, { key: acct.test })).status, 200);
  });

  test('two retries racing for one expired lease: exactly one takes it over', async () => {
    for (let round = 0; round < 3; round++) {
      const key = newKey();
      const request = { auth, key, method: 'POST', path: '/v1/customers', params: { email: 'race@x.io' } };
      await claimed(key, request.method, request.path, request.params, SHORT_MS);
      await outlive();
      const outcomes = await Promise.allSettled([idem.claim(deps, request), idem.claim(deps, request)]);
      const won = outcomes.filter((o) => o.status === 'fulfilled' && o.value.kind === 'execute');
      const busy = outcomes.filter((o) => o.status === 'rejected' && lostLease(o.reason));
      assert.equal(won.length, 1);
      assert.equal(busy.length, 1);
    }
  });
});

forEachDatabase('Idempotency under concurrent duplicates', (dialect) => {
  const { h, acct } = useHarness(dialect);

  test('50 identical requests at once: one customer; every answer is the same 200 or a 409', async () => {
    const body = { email: 'fifty@example.com', first_name: 'Once' };
    const answers = await Promise.all(
      Array.from({ length: 50 }, () =>
        h.request('POST', '/v1/customers', {
          key: acct.test,
          json: body,
          headers: { 'idempotency-key': 'fifty' },
        }),
      ),
    );
    const ok = answers.filter((a) => a.status === 200);
    assert.deepEqual(
      answers.filter((a) => a.status !== 200).map((a) => [a.status, a.body.error.code]),
      answers.filter((a) => a.status !== 200).map(() => [409, 'idempotency_key_in_use']),
    );
    assert.ok(ok.length >= 1);
    assert.equal(new Set(ok.map((a) => a.raw)).size, 1);
    assert.equal(ok.filter((a) => a.headers['idempotent-replayed'] === undefined).length, 1);
    const rows = await h.db.kysely
      .selectFrom('customers')
      .select('id')
      .where('email', '=', body.email)
      .execute();
    assert.deepEqual(
      rows.map((r) => r.id),
      [ok[0]?.body.id],
    );
  });
});
