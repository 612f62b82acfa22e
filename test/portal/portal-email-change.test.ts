import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forEachDatabase } from '../helpers/harness.js';
import { Browser } from '../helpers/portal.js';
import { PORTAL_ORIGIN, usePortalMail } from '../helpers/portal-mail.js';
import { waitFor } from '../helpers/receiver.js';

/** A customer changing their email address from the portal: confirmed from the new address. */
forEachDatabase('portal email change', (dialect) => {
  const p = usePortalMail(dialect);
  const { h, acct, unique, customer, ask, mailTo, mailedTo, jobsDone } = p;

  test('an email change is confirmed from the new address, then the old one is told; the session id changes', async () => {
    const old = unique('old');
    const fresh = unique('new');
    const c = await customer(old, { first_name: 'Changer' });
    const b = new Browser(h.app, PORTAL_ORIGIN);
    await ask(b, old);
    const signIn = await mailTo(old);
    await b.get(signIn.path);
    await b.post(signIn.path);
    await b.get('/portal/email');
    const same = await b.post('/portal/email', { email: old.toUpperCase() });
    assert.equal(same.status, 400);
    const invalid = await b.post('/portal/email', { email: 'no-at-sign' });
    assert.equal(invalid.status, 400);
    assert.match(invalid.body, /Enter an email address like/);
    const asked = await b.post('/portal/email', { email: fresh });
    assert.equal(asked.location, '/portal/email/check');
    const confirm = await mailTo(fresh);
    assert.match(confirm.mail.subject ?? '', /^\[TEST\] Confirm your new email address/);
    assert.equal(
      (await h.request('GET', `/v1/customers/${c.id}`, { key: acct.test })).body.email,
      old,
      'nothing changes before',
    );
    const sid = b.jar.get('lunipay_portal');
    await b.get('/portal/email/check');
    const done = await b.post('/portal/email/code', { code: confirm.code });
    assert.equal(done.status, 303, done.body);
    assert.notEqual(b.jar.get('lunipay_portal'), sid);
    assert.equal((await h.request('GET', `/v1/customers/${c.id}`, { key: acct.test })).body.email, fresh);
    const overview = await b.get(done.location as string);
    assert.match(overview.body, /Your email address has been changed/);
    const stale = new Browser(h.app, PORTAL_ORIGIN);
    stale.jar.set('lunipay_portal', sid as string);
    assert.equal((await stale.get('/portal')).status, 401, 'the old session id no longer works');
    await waitFor(
      () => mailedTo(old) === 2,
      15_000,
      () => 'the notice to the old address',
    );
    const notice = p.lastTo(old);
    assert.match(notice?.subject ?? '', /was changed/);
    assert.ok(!(notice?.text ?? '').includes(fresh), 'the old address is not told the new one');
    const events = (await h.request('GET', '/v1/events', { key: acct.test, query: { limit: 100 } })).body
      .data;
    assert.ok(
      events.some(
        (e: any) =>
          e.data.object.id === c.id &&
          e.data.previous_attributes?.email === old &&
          e.request.source === 'portal',
      ),
    );
    await waitFor(jobsDone, 15_000, () => 'every mail job done');
    const row = await h.db.kysely
      .selectFrom('portal_sign_ins')
      .selectAll()
      .where('purpose', '=', 'email_change')
      .execute();
    assert.ok(
      row.every((r) => r.old_email === null && r.new_email === null),
      'addresses forgotten once used',
    );
  });

  test('a confirmation link opened in a browser signed in as someone else gives that browser nothing', async () => {
    const old = unique('owner');
    const fresh = unique('owner-new');
    const c = await customer(old, { first_name: 'Owner' });
    const other = await customer(unique('bystander'), { first_name: 'Bystander' });
    const owner = new Browser(h.app, PORTAL_ORIGIN);
    await ask(owner, old);
    const signIn = await mailTo(old);
    await owner.get(signIn.path);
    await owner.post(signIn.path);
    await owner.get('/portal/email');
    await owner.post('/portal/email', { email: fresh });
    const confirm = await mailTo(fresh);
    const made = await h.request('POST', '/v1/portal_sessions', {
      key: acct.test,
      json: { customer: other.id },
    });
    const bystander = new Browser(h.app, PORTAL_ORIGIN);
    await bystander.get(new URL(made.body.url).pathname);
    const theirs = bystander.jar.get('lunipay_portal');
    await bystander.get(confirm.path);
    const done = await bystander.post(confirm.path);
    assert.equal(done.status, 200);
    assert.equal(
      bystander.jar.get('lunipay_portal'),
      theirs,
      'no session of the owner given to this browser',
    );
    assert.match((await bystander.get('/portal')).body, /Bystander/);
    assert.equal((await h.request('GET', `/v1/customers/${c.id}`, { key: acct.test })).body.email, fresh);
    // The owner's session got a new id it does not hold: it signs in again.
    assert.equal((await owner.get('/portal')).status, 401);
  });
  test('no token or code of these flows in the database in clear, nor in any log line', () =>
    p.assertNothingLeaked());
});
