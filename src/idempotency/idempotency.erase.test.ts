import assert from 'node:assert/strict';
import { test } from 'node:test';
import { notFoundBody } from '../../test/helpers/errors.js';
import { forEachDatabase, useHarness } from '../../test/helpers/harness.js';

forEachDatabase('Idempotency and the delete rule', (dialect) => {
  const { h, acct } = useHarness(dialect);

  const send = (method: string, url: string, key: string, json?: unknown) =>
    h.request(method, url, { key: acct.test, json, headers: { 'idempotency-key': key } });
  const storedText = async () =>
    JSON.stringify(await h.db.kysely.selectFrom('idempotency_keys').selectAll().execute());

  const personal = {
    email: 'erin.rase@example.com',
    first_name: 'Erin',
    last_name: 'Rasmussen',
    phone: '+15550001111',
    company_name: 'Erasure Holdings',
    notes: 'Prefers calls after 5pm',
    metadata: { crm_ref: 'CRM-PERSONAL-77' },
  };
  const patched = { email: 'erin.new@example.com', notes: 'Moved to Oslo' };
  const aliased = { phone: '+15550002222' };

  test('after a delete no stored response holds the customer; replays answer 404 and do nothing', async () => {
    const created = await send('POST', '/v1/customers', 'erase-create', personal);
    assert.equal(created.status, 200);
    const id: string = created.body.id;
    const path = `/v1/customers/${id}`;
    assert.equal((await send('PATCH', path, 'erase-patch', patched)).status, 200);
    assert.equal((await send('POST', path, 'erase-alias', aliased)).status, 200);
    const bystander = await send('POST', '/v1/customers', 'erase-bystander', { email: 'stays@example.com' });
    const before = await storedText();
    for (const value of [personal.email, personal.notes, patched.email, aliased.phone]) {
      assert.ok(before.includes(value), `stored before the delete: ${value}`);
    }

    const deleted = await send('DELETE', path, 'erase-delete');
    assert.deepEqual(deleted.body, { id, object: 'customer', deleted: true });

    const after = await storedText();
    const values = [...Object.values(personal), ...Object.values(patched), ...Object.values(aliased)];
    for (const value of [...values, personal.metadata.crm_ref]) {
      if (typeof value !== 'string') continue;
      assert.ok(!after.includes(value), `still stored after the delete: ${value}`);
    }
    assert.ok(after.includes('stays@example.com'), 'other customers’ responses are untouched');

    for (const [method, key, body] of [
      ['POST', 'erase-create', personal],
      ['PATCH', 'erase-patch', patched],
      ['POST', 'erase-alias', aliased],
    ] as const) {
      const url = key === 'erase-create' ? '/v1/customers' : path;
      const replay = await send(method, url, key, body);
      assert.equal(replay.status, 404, key);
      assert.equal(replay.headers['idempotent-replayed'], 'true');
      assert.deepEqual(replay.body, notFoundBody('customer', id));
    }
    // Nothing was created again by the replayed create.
    const again = await h.db.kysely
      .selectFrom('customers')
      .select('id')
      .where('email', 'in', [personal.email, patched.email])
      .execute();
    assert.equal(again.length, 0);

    const receipt = await send('DELETE', path, 'erase-delete');
    assert.equal(receipt.status, 200);
    assert.equal(receipt.headers['idempotent-replayed'], 'true');
    assert.equal(receipt.raw, deleted.raw);

    // The erased record no longer knows its parameters, but the method and path must still match.
    assert.equal((await send('PATCH', path, 'erase-create', {})).body.error.code, 'idempotency_key_reused');
    const kept = await send('POST', '/v1/customers', 'erase-bystander', { email: 'stays@example.com' });
    assert.equal(kept.raw, bystander.raw);
  });

  test('stored responses of the other mode and of other accounts are not touched', async () => {
    const other = await h.account('Other shop');
    const email = 'shared.person@example.com';
    const mine = await send('POST', '/v1/customers', 'scope-erase', { email });
    const live = await h.request('POST', '/v1/customers', {
      key: acct.live,
      json: { email },
      headers: { 'idempotency-key': 'scope-erase' },
    });
    const theirs = await h.request('POST', '/v1/customers', {
      key: other.test,
      json: { email },
      headers: { 'idempotency-key': 'scope-erase' },
    });
    assert.equal((await send('DELETE', `/v1/customers/${mine.body.id}`, 'scope-erase-del')).status, 200);
    for (const [apiKey, first] of [
      [acct.live, live],
      [other.test, theirs],
    ] as const) {
      const replay = await h.request('POST', '/v1/customers', {
        key: apiKey,
        json: { email },
        headers: { 'idempotency-key': 'scope-erase' },
      });
      assert.equal(replay.status, 200);
      assert.equal(replay.raw, first.raw);
    }
  });
});
