import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidRequestError } from '../../sdk/src/index.js';
import { rejection } from '../../sdk/test/helpers.js';
import { useSdkServer } from './server.js';

/** `lunipay.portalSessions` against the real server: create, retrieve, list and revoke. */
describe('portal sessions through the SDK', () => {
  const { account, client } = useSdkServer();

  it('create shows the url once; retrieve, list and revoke follow its status', async () => {
    const { key } = await account();
    const lunipay = client(key);
    const ada = await lunipay.customers.create({ email: 'ada@portal.test' });
    const session = await lunipay.portalSessions.create({
      customer: ada.id,
      return_url: 'https://shop.example/account',
      expires_in: 600,
    });
    assert.match(session.url, /\/portal\/session\/[A-Za-z0-9_-]{43}$/);
    assert.equal(session.status, 'open');
    assert.equal(session.expires_at - session.created, 600);
    const again = await lunipay.portalSessions.retrieve(session.id);
    assert.equal(again.status, 'open');
    assert.equal((again as { url?: string }).url, undefined);
    const listed = await lunipay.portalSessions.list({ customer: ada.id }).toArray({ max: 10 });
    assert.deepEqual(
      listed.map((s) => s.id),
      [session.id],
    );
    const revoked = await lunipay.portalSessions.revoke(session.id);
    assert.equal(revoked.status, 'revoked');
    const missing = await rejection(
      lunipay.portalSessions.create({ customer: 'cus_01JRZK2Q4T9ZS0VCNA3HX7W9EY' }),
    );
    assert.ok(missing instanceof InvalidRequestError && missing.code === 'resource_missing');
    assert.equal(missing.param, 'customer');
  });
});
