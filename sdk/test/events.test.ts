import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { APIError, type Event } from '../src/index.js';
import { FaultyServer, type StubRequest, type StubResponse, sleep } from './fault-server.js';
import { clientFor, KEY, rejection } from './helpers.js';

/**
 * `lunipay.events` against a stub feed behind the fault server: the requests retrieve, list and
 * feed make, the feed's order, paging, following and stopping, and what it does when the API
 * fails. What the real server answers is tested in the root's test/sdk/events.system.test.ts.
 */

const event = (sequence: number, type = 'customer.updated'): Event =>
  ({
    id: `evt_01JS${String(sequence).padStart(22, '0')}`,
    object: 'event',
    type,
    api_version: '2026-12-01',
    created: 1713100800,
    livemode: false,
    sequence,
    data: { object: { id: 'cus_01JS0000000000000000000001', object: 'customer', deleted: true } },
    request: { id: null, idempotency_key: null, source: 'api' },
    pending_webhooks: 0,
  }) as Event;

/** The stored events; tests append to it while a feed follows. */
const log: Event[] = [];

async function answer(req: StubRequest, ctx: { delayMs: number }): Promise<StubResponse> {
  if (ctx.delayMs) await sleep(ctx.delayMs);
  const q = req.url.searchParams;
  if (req.url.pathname === '/v1/events' && q.has('sequence_after')) {
    const after = Number(q.get('sequence_after'));
    const limit = Number(q.get('limit') ?? 10);
    const matching = log.filter((e) => e.sequence > after && (!q.has('type') || e.type === q.get('type')));
    return {
      status: 200,
      body: {
        object: 'list',
        url: '/v1/events',
        has_more: matching.length > limit,
        data: matching.slice(0, limit),
      },
    };
  }
  if (req.url.pathname === '/v1/events') {
    const newest = [...log].reverse();
    const start = q.has('starting_after') ? newest.findIndex((e) => e.id === q.get('starting_after')) + 1 : 0;
    const data = newest.slice(start, start + 2);
    return {
      status: 200,
      body: { object: 'list', url: '/v1/events', has_more: start + 2 < newest.length, data },
    };
  }
  const id = /^\/v1\/events\/([^/]+)$/.exec(req.url.pathname)?.[1];
  const found = log.find((e) => e.id === id);
  if (found) return { status: 200, body: found };
  return {
    status: 404,
    body: {
      error: { type: 'invalid_request_error', code: 'resource_missing', message: `No such event: '${id}'` },
    },
  };
}

describe('events', () => {
  let server: FaultyServer;
  before(async () => {
    server = await FaultyServer.start(answer);
  });
  after(() => server.close());
  beforeEach(() => {
    server.reset();
    log.length = 0;
    for (let s = 1; s <= 5; s++) log.push(event(s, s % 2 === 1 ? 'customer.created' : 'customer.updated'));
  });

  it('retrieve and list send the right requests, and list pages newest first', async () => {
    const lunipay = clientFor(server, KEY);
    assert.equal((await lunipay.events.retrieve(log[2]?.id as string)).sequence, 3);
    const page = await lunipay.events.list({ limit: 2, type: 'customer.*' });
    assert.deepEqual(
      page.data.map((e) => e.sequence),
      [5, 4],
    );
    assert.match(server.attempts[1]?.query ?? '', /limit=2&type=customer\.\*/);
    const all = await lunipay.events.list().toArray({ max: 100 });
    assert.deepEqual(
      all.map((e) => e.sequence),
      [5, 4, 3, 2, 1],
    );
    await assert.rejects(lunipay.events.retrieve(''), TypeError);
  });

  it('feed without following yields every later event in sequence order, page by page, then stops', async () => {
    const lunipay = clientFor(server, KEY);
    const seen: number[] = [];
    for await (const e of lunipay.events.feed({ sequenceAfter: 1, limit: 2, follow: false }))
      seen.push(e.sequence);
    assert.deepEqual(seen, [2, 3, 4, 5]);
    assert.deepEqual(
      server.attempts.map((a) => a.query),
      // The second page says no more follow: the feed is caught up, with no third request.
      ['?sequence_after=1&limit=2', '?sequence_after=3&limit=2'],
    );
  });

  it('feed passes type and objectId through', async () => {
    const lunipay = clientFor(server, KEY);
    const seen: string[] = [];
    const feed = lunipay.events.feed({
      sequenceAfter: 0,
      type: 'customer.updated',
      objectId: 'cus_1',
      follow: false,
    });
    for await (const e of feed) seen.push(e.type);
    assert.deepEqual(seen, ['customer.updated', 'customer.updated']);
    assert.match(server.attempts[0]?.query ?? '', /type=customer\.updated&object_id=cus_1/);
  });

  it('feed follows new events until aborted, and ends without an error', async () => {
    const lunipay = clientFor(server, KEY);
    const stop = new AbortController();
    const seen: number[] = [];
    const done = (async () => {
      for await (const e of lunipay.events.feed({ sequenceAfter: 5, pollMs: 20, signal: stop.signal })) {
        seen.push(e.sequence);
        if (e.sequence === 7) stop.abort();
      }
    })();
    await sleep(60);
    log.push(event(6));
    await sleep(60);
    log.push(event(7), event(8));
    await Promise.race([done, sleep(5000).then(() => assert.fail('the feed did not stop'))]);
    assert.deepEqual(seen, [6, 7]);
  });

  it('an abort while a poll is in flight ends the feed too', async () => {
    const lunipay = clientFor(server, KEY);
    const stop = new AbortController();
    server.failNext(1, { kind: 'delay', ms: 2000 });
    const started = Date.now();
    setTimeout(() => stop.abort(), 50);
    const seen: Event[] = [];
    for await (const e of lunipay.events.feed({ sequenceAfter: 0, signal: stop.signal })) seen.push(e);
    assert.deepEqual(seen, []);
    assert.ok(Date.now() - started < 1500);
  });

  it('feed rides out a failure the client retries, and throws one it cannot', async () => {
    const lunipay = clientFor(server, KEY, { maxRetries: 2 });
    server.failNext(2, { kind: 'status', status: 503 });
    const seen: number[] = [];
    for await (const e of lunipay.events.feed({ sequenceAfter: 3, follow: false })) seen.push(e.sequence);
    assert.deepEqual(seen, [4, 5]);

    server.failNext(3, { kind: 'status', status: 500 });
    const iterator = lunipay.events.feed({ sequenceAfter: 0, follow: false })[Symbol.asyncIterator]();
    assert.ok((await rejection(iterator.next())) instanceof APIError);
  });

  it('feed refuses a bad sequenceAfter or pollMs before any request', async () => {
    const lunipay = clientFor(server, KEY);
    for (const params of [{ sequenceAfter: -1 }, { sequenceAfter: 1.5 }, { sequenceAfter: 0, pollMs: -1 }]) {
      await assert.rejects(lunipay.events.feed(params).next(), TypeError);
    }
    assert.equal(server.attempts.length, 0);
  });
});
