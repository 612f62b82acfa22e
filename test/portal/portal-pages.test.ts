import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forEachDatabase, type Harness, type TestAccount, useHarness } from '../helpers/harness.js';
import { Browser } from '../helpers/portal.js';

const ORIGIN = 'http://127.0.0.1:4242';
const SECRET_FIELDS = { notes: 'NOTE-never-shown', metadata: { crm: 'META-never-shown' } };

async function customer(h: Harness, key: string, body: Record<string, unknown> = {}) {
  const res = await h.request('POST', '/v1/customers', {
    key,
    json: { email: 'ada@example.com', first_name: 'Ada', last_name: 'Lovelace', ...SECRET_FIELDS, ...body },
  });
  assert.equal(res.status, 200, res.raw);
  return res.body as { id: string; email: string };
}

/** A browser signed in through a merchant link of `cus`. */
async function signedIn(h: Harness, key: string, cus: string, extra: Record<string, unknown> = {}) {
  const s = await h.request('POST', '/v1/portal_sessions', { key, json: { customer: cus, ...extra } });
  assert.equal(s.status, 200, s.raw);
  const browser = new Browser(h.app, ORIGIN);
  const opened = await browser.get(new URL(s.body.url).pathname);
  assert.equal(opened.status, 303, opened.body);
  assert.equal(opened.location, '/portal');
  return { browser, session: s.body as { id: string; url: string } };
}

forEachDatabase('portal pages', (dialect) => {
  const { h, acct } = useHarness(dialect, { LUNIPAY_PUBLIC_URL: ORIGIN });

  test('the merchant link signs in once, with a cookie as the spec says, and the token leaves the URL', async () => {
    const c = await customer(h, acct.test);
    const s = await h.request('POST', '/v1/portal_sessions', {
      key: acct.test,
      json: { customer: c.id, return_url: 'https://shop.example/account' },
    });
    const browser = new Browser(h.app, ORIGIN);
    const path = new URL(s.body.url).pathname;
    const opened = await browser.get(path);
    assert.equal(opened.status, 303);
    assert.equal(opened.location, '/portal');
    const cookie = ([] as string[])
      .concat(opened.headers['set-cookie'] as string[])
      .find((l) => l.startsWith('lunipay_portal='));
    assert.ok(cookie);
    assert.match(cookie, /; Path=\/portal/);
    assert.match(cookie, /; HttpOnly/);
    assert.match(cookie, /; SameSite=Lax/);
    assert.doesNotMatch(cookie, /Domain=|Secure/);
    assert.match(cookie, /^lunipay_portal=[A-Za-z0-9_-]{43};/);
    const overview = await browser.get('/portal');
    assert.equal(overview.status, 200);
    assert.match(overview.body, /Ada/);
    assert.match(overview.body, /Lovelace/);
    assert.match(overview.body, /ada@example\.com/);
    assert.match(overview.body, /Test mode/);
    assert.match(overview.body, /href="https:\/\/shop\.example\/account"/);
    assert.ok(!overview.body.includes('never-shown'));
    assert.equal(overview.headers['cache-control'], 'no-store');
    const csp = String(overview.headers['content-security-policy']);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /script-src|unsafe-inline/);
    assert.doesNotMatch(overview.body, /<script/i);
    const status = await h.request('GET', `/v1/portal_sessions/${s.body.id}`, { key: acct.test });
    assert.equal(status.body.status, 'active');
    assert.notEqual(status.body.opened_at, null);
    // Opened once: again, it is no longer valid (410), with the way to sign in by email.
    const again = await new Browser(h.app, ORIGIN).get(path);
    assert.equal(again.status, 410);
    assert.match(again.body, new RegExp(`href="/portal/${acct.id}/test/login"`));
    assert.equal((await new Browser(h.app, ORIGIN).get(`/portal/session/${'x'.repeat(43)}`)).status, 404);
    assert.equal((await new Browser(h.app, ORIGIN).get('/portal/session/short')).status, 404);
    // No token in any log line.
    assert.ok(!h.logs().includes(path.split('/').pop() as string));
  });

  test('an expired or revoked link is a 410; revoking ends the browser session at its next request', async () => {
    const c = await customer(h, acct.test);
    const expired = await h.request('POST', '/v1/portal_sessions', {
      key: acct.test,
      json: { customer: c.id, expires_in: 60 },
    });
    await h.db.kysely
      .updateTable('portal_sessions')
      .set({ expires_at: 1 })
      .where('id', '=', expired.body.id)
      .execute();
    assert.equal((await new Browser(h.app, ORIGIN).get(new URL(expired.body.url).pathname)).status, 410);
    assert.equal(
      (await h.request('GET', `/v1/portal_sessions/${expired.body.id}`, { key: acct.test })).body.status,
      'expired',
    );
    const unopened = await h.request('POST', '/v1/portal_sessions', {
      key: acct.test,
      json: { customer: c.id },
    });
    await h.request('POST', `/v1/portal_sessions/${unopened.body.id}/revoke`, { key: acct.test });
    assert.equal((await new Browser(h.app, ORIGIN).get(new URL(unopened.body.url).pathname)).status, 410);

    const { browser, session } = await signedIn(h, acct.test, c.id);
    assert.equal((await browser.get('/portal')).status, 200);
    await h.request('POST', `/v1/portal_sessions/${session.id}/revoke`, { key: acct.test });
    const after = await browser.get('/portal');
    assert.equal(after.status, 401);
    assert.match(after.body, /Your session has ended/);
    assert.equal((await browser.get('/portal/edit')).status, 401);
  });

  test('a session idle for 30 minutes or 12 hours old has ended', async () => {
    const c = await customer(h, acct.test);
    for (const change of [
      { last_active_at: Math.floor(Date.now() / 1000) - 1801 },
      { opened_at: 1, last_active_at: Math.floor(Date.now() / 1000) },
    ]) {
      const { browser, session } = await signedIn(h, acct.test, c.id);
      await h.db.kysely.updateTable('portal_sessions').set(change).where('id', '=', session.id).execute();
      assert.equal((await browser.get('/portal')).status, 401);
      assert.equal(
        (await h.request('GET', `/v1/portal_sessions/${session.id}`, { key: acct.test })).body.status,
        'expired',
      );
    }
  });

  test('edit goes through the customers service: validation, the event with source portal', async () => {
    const c = await customer(h, acct.test);
    const { browser } = await signedIn(h, acct.test, c.id);
    const form = await browser.get('/portal/edit');
    assert.equal(form.status, 200);
    for (const name of ['first_name', 'last_name', 'phone', 'company_name'])
      assert.match(form.body, new RegExp(`name="${name}"`));
    assert.ok(!form.body.includes('never-shown'));
    const bad = await browser.post('/portal/edit', {
      first_name: 'x'.repeat(256),
      last_name: 'L',
      phone: '',
      company_name: '',
    });
    assert.equal(bad.status, 400);
    assert.match(bad.body, /Use at most 255 characters/);
    assert.match(bad.body, /aria-invalid="true"/);
    assert.equal(
      (await h.request('GET', `/v1/customers/${c.id}`, { key: acct.test })).body.first_name,
      'Ada',
    );
    const saved = await browser.post('/portal/edit', {
      first_name: 'Augusta',
      last_name: 'King',
      phone: '+44 20 7946 0000',
      company_name: 'Engines <Ltd>',
    });
    assert.equal(saved.status, 303, saved.body);
    const api = (await h.request('GET', `/v1/customers/${c.id}`, { key: acct.test })).body;
    assert.equal(api.first_name, 'Augusta');
    assert.equal(api.company_name, 'Engines <Ltd>');
    assert.equal(api.notes, SECRET_FIELDS.notes);
    const overview = await browser.get('/portal');
    assert.match(overview.body, /Engines &lt;Ltd&gt;/);
    const events = (await h.request('GET', '/v1/events', { key: acct.test, query: { limit: 100 } })).body
      .data;
    const updated = events.find((e: any) => e.type === 'customer.updated' && e.data.object.id === c.id);
    assert.ok(updated, 'a customer.updated event');
    assert.equal(updated.request.source, 'portal');
    assert.equal(updated.data.previous_attributes.first_name, 'Ada');
  });

  test('CSRF: no token, another session’s token, another origin → 403, nothing changed', async () => {
    const c = await customer(h, acct.test);
    const other = await customer(h, acct.test, { email: 'bob@example.com', first_name: 'Bob' });
    const { browser } = await signedIn(h, acct.test, c.id);
    const { browser: bob } = await signedIn(h, acct.test, other.id);
    await browser.get('/portal/edit');
    await bob.get('/portal/edit');
    const change = { first_name: 'Mallory', last_name: '', phone: '', company_name: '' };
    for (const [label, options] of [
      ['no token', { csrf: null }],
      ['a made-up token', { csrf: 'x'.repeat(40) }],
      ['another session’s token', { csrf: bob.lastCsrf }],
      ['another origin', { origin: 'https://evil.example' }],
      ['a null origin', { origin: 'null' }],
    ] as const) {
      const res = await browser.post('/portal/edit', change, options);
      assert.equal(res.status, 403, label);
      assert.match(res.body, /This form has expired/, label);
    }
    for (const path of ['/portal/logout', '/portal/logout-all']) {
      assert.equal((await browser.post(path, {}, { csrf: null })).status, 403);
    }
    assert.equal(
      (await h.request('GET', `/v1/customers/${c.id}`, { key: acct.test })).body.first_name,
      'Ada',
    );
    assert.equal((await browser.get('/portal')).status, 200);
  });

  test('a session sees and changes its own customer only: never another’s, another account’s or the other mode’s', async () => {
    const other: TestAccount = await h.account('Other shop');
    const mine = await customer(h, acct.test);
    const sibling = await customer(h, acct.test, { first_name: 'Sibling', email: 'ada@example.com' });
    const live = await customer(h, acct.live, { first_name: 'Liveada' });
    const foreign = await customer(h, other.test, { first_name: 'Foreign' });
    const { browser } = await signedIn(h, acct.test, mine.id);
    const overview = await browser.get('/portal');
    for (const name of ['Sibling', 'Liveada', 'Foreign', sibling.id, live.id, foreign.id]) {
      assert.ok(!overview.body.includes(name), name);
    }
    // Naming another customer in the form changes nothing but the session's own.
    await browser.get('/portal/edit');
    await browser.post('/portal/edit', {
      first_name: 'Mine',
      last_name: '',
      phone: '',
      company_name: '',
      id: sibling.id,
      customer: foreign.id,
    });
    assert.equal(
      (await h.request('GET', `/v1/customers/${mine.id}`, { key: acct.test })).body.first_name,
      'Mine',
    );
    assert.equal(
      (await h.request('GET', `/v1/customers/${sibling.id}`, { key: acct.test })).body.first_name,
      'Sibling',
    );
    assert.equal(
      (await h.request('GET', `/v1/customers/${live.id}`, { key: acct.live })).body.first_name,
      'Liveada',
    );
    assert.equal(
      (await h.request('GET', `/v1/customers/${foreign.id}`, { key: other.test })).body.first_name,
      'Foreign',
    );
    // Another account's merchant cannot make a session for this customer.
    const refused = await h.request('POST', '/v1/portal_sessions', {
      key: other.test,
      json: { customer: mine.id },
    });
    assert.equal(refused.status, 404);
  });

  test('sign out ends the sign-in it is pressed in; sign out everywhere revokes every sign-in of the customer', async () => {
    const c = await customer(h, acct.test);
    const one = await signedIn(h, acct.test, c.id);
    const two = await signedIn(h, acct.test, c.id);
    await one.browser.get('/portal');
    const out = await one.browser.post('/portal/logout');
    assert.equal(out.status, 200);
    assert.match(out.body, /You are signed out/);
    assert.equal((await one.browser.get('/portal')).status, 401);
    assert.equal((await two.browser.get('/portal')).status, 200);
    assert.equal(
      (await h.request('GET', `/v1/portal_sessions/${one.session.id}`, { key: acct.test })).body.status,
      'expired',
    );
    const three = await signedIn(h, acct.test, c.id);
    await two.browser.get('/portal');
    assert.equal((await two.browser.post('/portal/logout-all')).status, 200);
    assert.equal((await two.browser.get('/portal')).status, 401);
    assert.equal((await three.browser.get('/portal')).status, 401);
    for (const s of [two.session, three.session]) {
      assert.equal(
        (await h.request('GET', `/v1/portal_sessions/${s.id}`, { key: acct.test })).body.status,
        'revoked',
      );
    }
  });

  test('deleting the customer ends its browser sessions at their next request', async () => {
    const c = await customer(h, acct.test);
    const { browser } = await signedIn(h, acct.test, c.id);
    assert.equal((await browser.get('/portal')).status, 200);
    await h.request('DELETE', `/v1/customers/${c.id}`, { key: acct.test });
    assert.equal((await browser.get('/portal')).status, 401);
  });

  test('live mode: its own sign-in page, no test banner, and a session of a live customer', async () => {
    const live = await customer(h, acct.live, { email: 'live@example.com', first_name: 'Livia' });
    const b = new Browser(h.app, ORIGIN);
    const login = await b.get(`/portal/${acct.id}/login`);
    assert.equal(login.status, 200);
    assert.doesNotMatch(login.body, /Test mode/);
    const { browser } = await signedIn(h, acct.live, live.id, { return_url: 'https://shop.example/' });
    const overview = await browser.get('/portal');
    assert.match(overview.body, /Livia/);
    assert.doesNotMatch(overview.body, /Test mode/);
  });

  test('pages that do not exist, the stylesheet, and a body that cannot be read', async () => {
    const b = new Browser(h.app, ORIGIN);
    const missing = await b.get('/portal/nothing/here');
    assert.equal(missing.status, 404);
    assert.match(String(missing.headers['content-type']), /text\/html/);
    assert.equal((await b.get('/portal/acct_nope/login')).status, 404);
    const css = await b.get('/portal/assets/portal.css');
    assert.equal(css.status, 200);
    assert.match(String(css.headers['content-type']), /text\/css/);
    assert.equal((await b.get('/portal')).status, 401);
  });
});
