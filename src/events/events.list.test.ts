import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { notFoundBody } from '../../test/helpers/errors.js';
import { forEachDatabase, type Harness, startHarness, type TestAccount } from '../../test/helpers/harness.js';
import { newId } from '../ids.js';

type Page = {
  object: string;
  url: string;
  has_more: boolean;
  data: { id: string; type: string; sequence: number; data: { object: { id: string } } }[];
};

forEachDatabase('GET /v1/events', (dialect) => {
  let h: Harness;
  let acct: TestAccount;
  /** Events e[1]…e[9]: creates of c1…c3, then updates and a delete (see `before`). */
  const e: string[] = [];
  const c: string[] = [];
  before(async () => {
    h = await startHarness(dialect);
    acct = await h.account('lists');
    for (let i = 1; i <= 3; i++) {
      c[i] = (
        await h.request('POST', '/v1/customers', { key: acct.test, json: { email: `l${i}@example.com` } })
      ).body.id;
    }
    for (const [id, json] of [
      [c[1], { phone: '1' }],
      [c[2], { phone: '2' }],
      [c[1], { phone: '3' }],
      [c[3], { phone: '4' }],
      [c[1], { phone: '5' }],
    ] as const) {
      assert.equal((await h.request('PATCH', `/v1/customers/${id}`, { key: acct.test, json })).status, 200);
    }
    assert.equal((await h.request('DELETE', `/v1/customers/${c[2]}`, { key: acct.test })).status, 200);
    const all = await h.request<Page>('GET', '/v1/events', { key: acct.test, query: { sequence_after: 0 } });
    e.push('', ...all.body.data.map((ev) => ev.id));
    assert.equal(e.length, 10);
    // Spread creation times: event i was created at 1000 + i.
    for (let i = 1; i <= 9; i++) {
      await h.db.kysely
        .updateTable('events')
        .set({ created: 1000 + i })
        .where('id', '=', e[i] as string)
        .execute();
    }
  });
  after(() => h.close());

  const list = async (query: Record<string, unknown>, key = acct.test) => {
    const res = await h.request<Page>('GET', '/v1/events', { key, query });
    assert.equal(res.status, 200, res.raw);
    return res.body;
  };
  const ids = (page: Page) => page.data.map((ev) => ev.id);
  const seqs = (page: Page) => page.data.map((ev) => ev.sequence);

  test('newest first, with the cursors exactly as the customer list', async () => {
    const first = await list({ limit: 3 });
    assert.equal(first.object, 'list');
    assert.equal(first.url, '/v1/events');
    assert.deepEqual(ids(first), [e[9], e[8], e[7]]);
    assert.equal(first.has_more, true);
    assert.deepEqual(ids(await list({ limit: 3, starting_after: e[7] })), [e[6], e[5], e[4]]);
    const newer = await list({ limit: 3, ending_before: e[5] });
    assert.deepEqual(ids(newer), [e[8], e[7], e[6]]);
    assert.equal(newer.has_more, true);
    const top = await list({ limit: 3, ending_before: e[7] });
    assert.deepEqual(ids(top), [e[9], e[8]]);
    assert.equal(top.has_more, false);
    const last = await list({ limit: 3, starting_after: e[3] });
    assert.deepEqual(ids(last), [e[2], e[1]]);
    assert.equal(last.has_more, false);
    assert.equal((await list({})).data.length, 9, 'default limit is 10');
    assert.equal((await list({ limit: 1 })).data.length, 1);
    // A cursor need not be an event that exists (or still exists).
    assert.deepEqual(ids(await list({ starting_after: newId('evt') })), e.slice(1).reverse());
  });

  test('type: one type, or a prefix wildcard; combined with cursors', async () => {
    assert.deepEqual(ids(await list({ type: 'customer.created' })), [e[3], e[2], e[1]]);
    assert.deepEqual(ids(await list({ type: 'customer.deleted' })), [e[9]]);
    assert.deepEqual(ids(await list({ type: 'customer.updated', limit: 2, starting_after: e[7] })), [
      e[6],
      e[5],
    ]);
    assert.deepEqual(ids(await list({ type: 'customer.*' })), e.slice(1).reverse());
  });

  test('object_id: one customer’s history, a deleted one’s included', async () => {
    assert.deepEqual(ids(await list({ object_id: c[1] })), [e[8], e[6], e[4], e[1]]);
    assert.deepEqual(ids(await list({ object_id: c[2] })), [e[9], e[5], e[2]]);
    assert.deepEqual(ids(await list({ object_id: c[2], type: 'customer.updated' })), [e[5]]);
    assert.deepEqual(ids(await list({ object_id: newId('cus') })), []);
    const page = await list({ object_id: c[1], limit: 2, ending_before: e[4] });
    assert.deepEqual(ids(page), [e[8], e[6]]);
    assert.equal(page.has_more, false);
  });

  test('created: exact and ranges, combined with the other filters', async () => {
    assert.deepEqual(ids(await list({ created: 1005 })), [e[5]]);
    assert.deepEqual(ids(await list({ created: { gt: 1007 } })), [e[9], e[8]]);
    assert.deepEqual(ids(await list({ created: { gte: 1007, lt: 1009 } })), [e[8], e[7]]);
    assert.deepEqual(ids(await list({ created: { lte: 1002 } })), [e[2], e[1]]);
    assert.deepEqual(ids(await list({ created: { gt: 1001 }, type: 'customer.created' })), [e[3], e[2]]);
    assert.deepEqual(
      ids(await list({ created: { gte: 1004 }, object_id: c[1], limit: 1, starting_after: e[8] })),
      [e[6]],
    );
  });

  test('the feed: after a sequence, oldest first, with has_more; combines with type and object_id', async () => {
    const start = await list({ sequence_after: 0, limit: 4 });
    assert.deepEqual(seqs(start), [1, 2, 3, 4]);
    assert.deepEqual(ids(start), e.slice(1, 5));
    assert.equal(start.has_more, true);
    const rest = await list({ sequence_after: 4, limit: 5 });
    assert.deepEqual(seqs(rest), [5, 6, 7, 8, 9]);
    assert.equal(rest.has_more, false);
    const end = await list({ sequence_after: 9 });
    assert.deepEqual(end.data, []);
    assert.equal(end.has_more, false);
    assert.deepEqual(seqs(await list({ sequence_after: 1000 })), []);
    assert.deepEqual(seqs(await list({ sequence_after: 0 })), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const updates = await list({ sequence_after: 4, type: 'customer.updated', limit: 2 });
    assert.deepEqual(seqs(updates), [5, 6]);
    assert.equal(updates.has_more, true);
    assert.deepEqual(seqs(await list({ sequence_after: 2, object_id: c[1] })), [4, 6, 8]);
    assert.deepEqual(seqs(await list({ sequence_after: 0, object_id: c[2], type: 'customer.*' })), [2, 5, 9]);
    // Walking the whole feed a page at a time gives every event once, in order.
    const walked: number[] = [];
    let after = 0;
    for (let pages = 0; pages < 20; pages++) {
      const page = await list({ sequence_after: after, limit: 2 });
      walked.push(...seqs(page));
      if (!page.has_more) break;
      after = page.data[page.data.length - 1]?.sequence as number;
    }
    assert.deepEqual(walked, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  test('the other mode and another account have feeds of their own', async () => {
    assert.deepEqual((await list({}, acct.live)).data, []);
    const other = await h.account('other lists');
    const made = await h.request('POST', '/v1/customers', {
      key: other.live,
      json: { email: 'o@example.com' },
    });
    const feed = await list({ sequence_after: 0 }, other.live);
    assert.deepEqual(seqs(feed), [1], 'sequences start at 1 in every account and mode');
    assert.equal(feed.data[0]?.data.object.id, made.body.id);
    assert.deepEqual((await list({ sequence_after: 0 }, other.test)).data, []);
  });

  const refused = async (query: Record<string, unknown> | string, code: string, param?: string) => {
    const res =
      typeof query === 'string'
        ? await h.request('GET', `/v1/events?${query}`, { key: acct.test })
        : await h.request('GET', '/v1/events', { key: acct.test, query });
    assert.equal(res.status, 400, `${JSON.stringify(query)}: ${res.raw}`);
    assert.equal(res.body.error.code, code, `${JSON.stringify(query)}: ${res.raw}`);
    assert.equal(res.body.error.type, 'invalid_request_error');
    if (param !== undefined) assert.equal(res.body.error.param, param, res.raw);
  };

  test('parameters that do not go together: 400 parameters_exclusive', async () => {
    await refused({ starting_after: e[3], ending_before: e[5] }, 'parameters_exclusive');
    await refused({ sequence_after: 1, starting_after: e[3] }, 'parameters_exclusive');
    await refused({ sequence_after: 1, ending_before: e[3] }, 'parameters_exclusive');
    await refused({ sequence_after: 1, created: 1005 }, 'parameters_exclusive');
  });

  test('every parameter wrong: 400, never a 500', async () => {
    for (const limit of [0, 101, -1, 'x', '1.5', '', '0x10'])
      await refused({ limit }, 'parameter_invalid', 'limit');
    for (const sequence_after of [-1, 'x', '1.5', '', '1e3', '99999999999999999999'])
      await refused({ sequence_after }, 'parameter_invalid', 'sequence_after');
    for (const param of ['starting_after', 'ending_before']) {
      for (const bad of ['x', 'evt_123', c[1], 'evt_01JRZK2Q4T9ZS0VCNA3HX7W9E!', ''])
        await refused({ [param]: bad }, 'parameter_invalid', param);
    }
    for (const type of [
      'customer',
      'customer.',
      'customer.create',
      '*',
      'invoice.*',
      'customer.created.*',
      '',
    ])
      await refused({ type }, 'parameter_invalid', 'type');
    for (const object_id of ['x', e[1], 'cus_', ''])
      await refused({ object_id }, 'parameter_invalid', 'object_id');
    for (const created of ['x', '1.5', '']) await refused({ created }, 'parameter_invalid', 'created');
    await refused({ created: { gt: 'x' } }, 'parameter_invalid', 'created[gt]');
    await refused({ created: { after: 1 } }, 'parameter_unknown', 'created[after]');
    await refused({ expand: 'data' }, 'parameter_unknown', 'expand');
    await refused('type=customer.created&type=customer.updated', 'parameter_invalid', 'type');
    await refused('limit=1&limit=2', 'parameter_invalid', 'limit');
    await refused('%', 'parameter_invalid');
    await refused('a[b][c][d][e]=1', 'parameter_invalid');
  });

  test('GET /v1/events/:id: unknown and malformed ids are the same 404', async () => {
    const bodies = new Set<string>();
    for (const id of [newId('evt'), 'evt_nope', c[1] as string, 'x']) {
      const res = await h.request('GET', `/v1/events/${id}`, { key: acct.test });
      assert.equal(res.status, 404, res.raw);
      assert.deepEqual(res.body, notFoundBody('event', id));
      bodies.add(res.raw.replace(id, 'ID'));
    }
    assert.equal(bodies.size, 1);
    // The query string of a retrieve is ignored, broken or not.
    assert.equal((await h.request('GET', `/v1/events/${e[1]}?%`, { key: acct.test })).status, 200);
  });
});
