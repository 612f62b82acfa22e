import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import {
  AddressBlockedError,
  guardedLookup,
  isAddressBlocked,
  isDelivered,
  webhookDispatcher,
  webhookFetch,
} from './webhooks.dispatcher.js';

/** Real connections, to a server on 127.0.0.1 only: refused by the dispatcher unless allowed. */
let server: Server;
let port: number;
let hits = 0;
before(async () => {
  server = createServer((request, response) => {
    hits++;
    if (request.url === '/redirect') {
      response.writeHead(302, { location: `http://127.0.0.1:${port}/landed` }).end();
      return;
    }
    response.writeHead(request.url === '/landed' ? 299 : 204).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

const post = (url: string, allowPrivate: boolean) => {
  const dispatcher = webhookDispatcher({ allowPrivate, connectTimeoutMs: 2000 });
  return webhookFetch(
    url,
    { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } },
    dispatcher,
  ).finally(() => dispatcher.close());
};

test('a connection to 127.0.0.1 is refused before it is made, unless private addresses are allowed', async () => {
  const before = hits;
  for (const url of [
    `http://127.0.0.1:${port}/`,
    `http://[::ffff:127.0.0.1]:${port}/`,
    `http://2130706433:${port}/`,
  ]) {
    const error = await post(url, false).then(
      () => assert.fail(`${url} was fetched`),
      (e: unknown) => e,
    );
    assert.ok(isAddressBlocked(error), `${url}: ${String(error)}`);
  }
  assert.equal(hits, before, 'the server was never reached');
  const res = await post(`http://127.0.0.1:${port}/`, true);
  assert.equal(res.status, 204);
  assert.equal(hits, before + 1);
});

test('a name that resolves to a blocked address is refused at connect time', async () => {
  const before = hits;
  const error = await post(`http://localhost:${port}/`, false).then(
    () => assert.fail('localhost was fetched'),
    (e: unknown) => e,
  );
  assert.ok(isAddressBlocked(error), String(error));
  assert.equal(hits, before);
});

test('guardedLookup refuses a name when any of its addresses is blocked, and passes others through', async () => {
  const lookup = (allowPrivate: boolean, host: string, all: boolean) =>
    new Promise<unknown>((resolve, reject) =>
      guardedLookup(allowPrivate)(host, { all }, (error, address) =>
        error ? reject(error) : resolve(address),
      ),
    );
  await assert.rejects(lookup(false, 'localhost', false), AddressBlockedError);
  await assert.rejects(lookup(false, 'localhost', true), AddressBlockedError);
  // A literal address "resolves" to itself without DNS, which this machine may lack.
  await assert.rejects(lookup(false, '10.0.0.1', false), AddressBlockedError);
  assert.equal(await lookup(false, '8.8.8.8', false), '8.8.8.8');
  assert.deepEqual(await lookup(false, '8.8.8.8', true), [{ address: '8.8.8.8', family: 4 }]);
  assert.equal(await lookup(true, '127.0.0.1', false), '127.0.0.1');
});

test('redirects are never followed: a 3xx comes back as it is, and is not a delivery', async () => {
  const before = hits;
  const res = await post(`http://127.0.0.1:${port}/redirect`, true);
  assert.equal(res.status, 302);
  assert.equal(hits, before + 1, 'the redirect target was not requested');
  assert.equal(isDelivered(res.status), false);
  for (const status of [200, 204, 299]) assert.ok(isDelivered(status));
  for (const status of [199, 300, 301, 304, 400, 410, 500]) assert.equal(isDelivered(status), false);
});

test('isAddressBlocked looks through the causes fetch wraps errors in', () => {
  const blocked = new AddressBlockedError('example.com', '10.0.0.1');
  assert.ok(isAddressBlocked(blocked));
  assert.ok(isAddressBlocked(new TypeError('fetch failed', { cause: blocked })));
  assert.equal(isAddressBlocked(new TypeError('fetch failed', { cause: new Error('ECONNREFUSED') })), false);
  assert.equal(isAddressBlocked('not an error'), false);
});
