import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { forEachDatabase, type Harness, startHarness, type TestAccount } from '../../test/helpers/harness.js';
import { parseDatabaseUrl } from '../config.js';
import { type Db, openDatabase } from '../db/index.js';
import { createEndpoint } from './webhooks.service.js';

const BODY = { url: 'https://example.com/hooks', enabled_events: ['*'] };

forEachDatabase('webhook endpoints: at most 16 per account and mode', (dialect) => {
  let h: Harness;
  before(async () => {
    h = await startHarness(dialect);
  });
  after(() => h.close());

  const count = async (acct: TestAccount, mode: 'test' | 'live') =>
    Number(
      (
        await h.db.kysely
          .selectFrom('webhook_endpoints')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('account_id', '=', acct.id)
          .where('mode', '=', mode)
          .executeTakeFirstOrThrow()
      ).n,
    );

  test('the 17th is refused with limit_exceeded; the other mode and other accounts are not affected', async () => {
    const acct = await h.account();
    const made: string[] = [];
    for (let i = 0; i < 16; i++) {
      const res = await h.request('POST', '/v1/webhook_endpoints', { key: acct.test, json: BODY });
      assert.equal(res.status, 200, res.raw);
      made.push(res.body.id);
    }
    const over = await h.request('POST', '/v1/webhook_endpoints', { key: acct.test, json: BODY });
    assert.equal(over.status, 400);
    assert.deepEqual(over.body, {
      error: {
        type: 'invalid_request_error',
        code: 'limit_exceeded',
        message: 'An account can have at most 16 webhook endpoints in test mode; delete one to add another.',
      },
    });
    assert.equal(await count(acct, 'test'), 16);
    // A refused create with a key can be retried with it once there is room.
    const headers = { 'idempotency-key': 'the-17th' };
    assert.equal(
      (await h.request('POST', '/v1/webhook_endpoints', { key: acct.test, json: BODY, headers })).status,
      400,
    );
    const live = await h.request('POST', '/v1/webhook_endpoints', { key: acct.live, json: BODY });
    assert.equal(live.status, 200, live.raw);
    const other = await h.account('Other');
    assert.equal(
      (await h.request('POST', '/v1/webhook_endpoints', { key: other.test, json: BODY })).status,
      200,
    );
    await h.request('DELETE', `/v1/webhook_endpoints/${made[0]}`, { key: acct.test });
    const again = await h.request('POST', '/v1/webhook_endpoints', { key: acct.test, json: BODY, headers });
    assert.equal(again.status, 200, again.raw);
    assert.equal(await count(acct, 'test'), 16);
  });

  test('concurrent creates never pass the limit', async () => {
    const acct = await h.account('Racer');
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        h.request('POST', '/v1/webhook_endpoints', {
          key: i % 2 === 0 ? acct.test : acct.live,
          json: BODY,
        }),
      ),
    );
    const statuses = results.map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 200).length, 32, statuses.join(','));
    for (const res of results.filter((r) => r.status !== 200)) {
      assert.equal(res.status, 400, res.raw);
      assert.equal(res.body.error.code, 'limit_exceeded');
    }
    assert.equal(await count(acct, 'test'), 16);
    assert.equal(await count(acct, 'live'), 16);
  });

  test('concurrent creates from separate connection pools (separate processes) never pass the limit', async (t) => {
    if (dialect !== 'postgres') return t.skip('SQLite runs one write transaction at a time');
    const acct = await h.account('Pools');
    const pools: Db[] = await Promise.all(
      [1, 2, 3, 4].map(() => openDatabase(parseDatabaseUrl(h.databaseUrl), { poolSize: 4 })),
    );
    try {
      const auth = { accountId: acct.id, mode: 'test' as const, keyId: acct.testKeyId };
      const outcomes = await Promise.allSettled(
        Array.from({ length: 48 }, (_, i) =>
          createEndpoint(
            { db: pools[i % pools.length] as Db, secretBox: h.secretBox, allowPrivate: false },
            auth,
            BODY as never,
          ),
        ),
      );
      const created = outcomes.filter((o) => o.status === 'fulfilled').length;
      const refused = outcomes.filter(
        (o) => o.status === 'rejected' && (o.reason as { code?: string }).code === 'limit_exceeded',
      ).length;
      assert.equal(created, 16);
      assert.equal(refused, 32);
      assert.equal(await count(acct, 'test'), 16);
    } finally {
      await Promise.all(pools.map((db) => db.close()));
    }
  });
});
