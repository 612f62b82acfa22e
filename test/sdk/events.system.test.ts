import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Event, InvalidRequestError } from '../../sdk/src/index.js';
import { rejection } from '../../sdk/test/helpers.js';
import { useSdkServer } from './server.js';

/**
 * `lunipay.events` against the real server: retrieve and list see each write's event, and the
 * feed yields every event in sequence order, pages through, follows new writes while running,
 * and stops when caught up or aborted.
 */

describe('events through the SDK', () => {
  const { account, client, direct } = useSdkServer();

  it('retrieve and list show each write, newest first, with their filters', async () => {
    const { key } = await account();
    const lunipay = client(key);
    const ada = await direct(key).customers.create({ email: 'ada@events.test' });
    await direct(key).customers.update(ada.id, { first_name: 'Ada' });
    await direct(key).customers.create({ email: 'bob@events.test' });

    const page = await lunipay.events.list({ limit: 2 });
    assert.deepEqual(
      page.data.map((e) => e.sequence),
      [3, 2],
    );
    assert.equal(page.has_more, true);
    const history = await lunipay.events.list({ object_id: ada.id }).toArray({ max: 10 });
    assert.deepEqual(
      history.map((e) => e.type),
      ['customer.updated', 'customer.created'],
    );
    const updates = await lunipay.events.list({ type: 'customer.updated', limit: 1 }).toArray({ max: 10 });
    assert.equal(updates.length, 1);

    const one = await lunipay.events.retrieve(history[0]?.id as string);
    assert.deepEqual(one, history[0]);
    const missing = await rejection(lunipay.events.retrieve('evt_01JRZK2Q4T9ZS0VCNA3HX7W9EY'));
    assert.ok(missing instanceof InvalidRequestError && missing.code === 'resource_missing');
  });

  it('feed pages through every event in sequence order and stops when caught up', async () => {
    const { key } = await account();
    const lunipay = client(key);
    const made = [];
    for (let i = 0; i < 7; i++) made.push(await direct(key).customers.create({ email: `f${i}@events.test` }));
    const seen: number[] = [];
    for await (const e of lunipay.events.feed({ sequenceAfter: 2, limit: 2, follow: false }))
      seen.push(e.sequence);
    assert.deepEqual(seen, [3, 4, 5, 6, 7]);

    const mine: Event[] = [];
    const feed = lunipay.events.feed({ sequenceAfter: 0, objectId: made[3]?.id as string, follow: false });
    for await (const e of feed) mine.push(e);
    assert.deepEqual(
      mine.map((e) => e.sequence),
      [4],
    );
  });

  it('feed follows writes made while it runs, until aborted', async () => {
    const { key } = await account();
    const lunipay = client(key);
    const stop = new AbortController();
    const seen: Event[] = [];
    const following = (async () => {
      for await (const e of lunipay.events.feed({ sequenceAfter: 0, pollMs: 50, signal: stop.signal })) {
        seen.push(e);
        if (seen.length === 3) stop.abort();
      }
    })();
    const cus = await direct(key).customers.create({ email: 'live@events.test' });
    await direct(key).customers.update(cus.id, { phone: '+18765551234' });
    await direct(key).customers.del(cus.id);
    const timeout = new Promise((_, reject) =>
      setTimeout(() => reject(new Error('the feed did not stop')), 15_000),
    );
    await Promise.race([following, timeout]);
    assert.deepEqual(
      seen.map((e) => [e.sequence, e.type]),
      [
        [1, 'customer.created'],
        [2, 'customer.updated'],
        [3, 'customer.deleted'],
      ],
    );
  });
});
