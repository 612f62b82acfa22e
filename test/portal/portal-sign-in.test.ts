import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forEachDatabase } from '../helpers/harness.js';
import { Browser } from '../helpers/portal.js';
import { PORTAL_ORIGIN, usePortalMail } from '../helpers/portal-mail.js';
import { waitFor } from '../helpers/receiver.js';

forEachDatabase('portal sign-in by email', (dialect) => {
  const p = usePortalMail(dialect);
  const { h, acct, unique, customer, ask, mailTo, mailedTo, jobsDone } = p;

  test('one mail with a link and a code; GET shows a button and signs nobody in; POST signs in, once', async () => {
    const email = unique('ada');
    const c = await customer(email, { first_name: 'Ada' });
    const browser = new Browser(h.app, PORTAL_ORIGIN);
    const asked = await ask(browser, email);
    assert.equal(asked.status, 303);
    assert.equal(asked.location, `${p.loginPath}/check`);
    const check = await browser.get(asked.location as string);
    assert.match(check.body, /Check your inbox/);
    assert.match(check.body, /name="code"/);
    const { mail, path } = await mailTo(email);
    assert.match(mail.subject ?? '', /^\[TEST\] Sign in to Test shop$/);
    assert.equal(mail.from?.value[0]?.name, 'Test shop');
    assert.equal(mail.from?.value[0]?.address, 'portal@lunipay.test');
    assert.match(mail.text ?? '', /15 minutes/);
    assert.match(String(mail.html), /href="http:\/\/127\.0\.0\.1:4242\/portal\/login\//);
    for (const part of [mail.text ?? '', String(mail.html)]) assert.ok(!part.includes('never-shown'));

    // A mail scanner fetches the link, twice: a page with a button, no session, the link still good.
    const scanner = new Browser(h.app, PORTAL_ORIGIN);
    for (let i = 0; i < 2; i++) {
      const shown = await scanner.get(path);
      assert.equal(shown.status, 200);
      assert.match(shown.body, /<button type="submit">Sign in<\/button>/);
    }
    assert.ok(!scanner.jar.has('lunipay_portal'));
    assert.equal((await scanner.get('/portal')).status, 401);

    // The person opens it (on another device even) and presses the button.
    // Session fixation: an id planted in the browser beforehand is never adopted.
    const person = new Browser(h.app, PORTAL_ORIGIN);
    const planted = 'P'.repeat(43);
    person.jar.set('lunipay_portal', planted);
    await person.get(path);
    const before = person.jar.get('lunipay_portal');
    assert.equal(before, planted);
    const signed = await person.post(path);
    assert.equal(signed.status, 303);
    assert.equal(signed.location, '/portal');
    assert.notEqual(person.jar.get('lunipay_portal'), before, 'a new session id at sign-in');
    const overview = await person.get('/portal');
    assert.equal(overview.status, 200);
    assert.match(overview.body, /Ada/);
    const list = await h.request('GET', '/v1/portal_sessions', { key: acct.test, query: { customer: c.id } });
    assert.equal(list.body.data[0].source, 'login');
    assert.equal(list.body.data[0].status, 'active');
    // Used: the link is no longer valid.
    const reused = new Browser(h.app, PORTAL_ORIGIN);
    assert.equal((await reused.get(path)).status, 410);
    await reused.get(p.loginPath);
    assert.equal((await reused.post(path)).status, 410, 'posting it again signs nobody in');
  });

  test('the code works on the device that asked; five wrong codes void the sign-in', async () => {
    const email = unique('grace');
    await customer(email, { first_name: 'Grace' });
    const asker = new Browser(h.app, PORTAL_ORIGIN);
    await ask(asker, email);
    const { code } = await mailTo(email);
    const codePath = `${p.loginPath}/code`;
    // Another device with the right code gets nowhere.
    const thief = new Browser(h.app, PORTAL_ORIGIN);
    await thief.get(`${p.loginPath}/check`);
    assert.equal((await thief.post(codePath, { code })).status, 400);
    await asker.get(`${p.loginPath}/check`);
    const malformed = await asker.post(codePath, { code: 'abc' });
    assert.equal(malformed.status, 400);
    assert.match(malformed.body, /Enter the 6-digit code/);
    const right = await asker.post(codePath, { code });
    assert.equal(right.status, 303, right.body);
    assert.equal((await asker.get('/portal')).status, 200);

    const other = unique('linus');
    await customer(other);
    const guesser = new Browser(h.app, PORTAL_ORIGIN);
    await ask(guesser, other);
    const mailed = await mailTo(other);
    const wrong = mailed.code === '000000' ? '000001' : '000000';
    await guesser.get(`${p.loginPath}/check`);
    for (let i = 0; i < 5; i++) {
      const res = await guesser.post(codePath, { code: wrong });
      assert.equal(res.status, 400);
      assert.match(res.body, /That code is not right/);
    }
    assert.equal((await guesser.post(codePath, { code: mailed.code })).status, 400, 'voided');
    assert.equal(
      (await new Browser(h.app, PORTAL_ORIGIN).get(mailed.path)).status,
      410,
      'the link is void too',
    );
  });

  test('known and unknown addresses get byte-identical answers; only the known one gets mail', async () => {
    const known = unique('known');
    const unknown = unique('unknown');
    await customer(known);
    const answers = [];
    for (const email of [known, unknown]) {
      const b = new Browser(h.app, PORTAL_ORIGIN);
      await b.get(p.loginPath);
      const res = await h.app.inject({
        method: 'POST',
        url: p.loginPath,
        headers: {
          cookie: [...b.jar].map(([k, v]) => `${k}=${v}`).join('; '),
          'content-type': 'application/x-www-form-urlencoded',
          origin: PORTAL_ORIGIN,
        },
        payload: new URLSearchParams({ _csrf: b.lastCsrf as string, email }).toString(),
      });
      const { 'request-id': _, date: __, ...headers } = res.headers;
      answers.push({ status: res.statusCode, body: res.body, headers });
    }
    assert.deepEqual(answers[0], answers[1]);
    await mailTo(known);
    await waitFor(jobsDone, 15_000, () => 'every mail job done');
    assert.equal(mailedTo(unknown), 0);
    const cancelled = await h.db.kysely
      .selectFrom('jobs')
      .select('note')
      .where('type', '=', 'mail.send')
      .where('state', '=', 'cancelled')
      .execute();
    assert.ok(cancelled.some((j) => j.note === 'no customer has this address'));
  });

  test('at most 5 mails per address and 20 requests per client in 15 minutes; beyond, the same page and no mail', async () => {
    const email = unique('limited');
    await customer(email);
    for (let i = 0; i < 7; i++) {
      const res = await ask(new Browser(h.app, PORTAL_ORIGIN), email);
      assert.equal(res.status, 303);
    }
    await waitFor(jobsDone, 15_000, () => 'every mail job done');
    assert.equal(mailedTo(email), 5);
    // The client limit: this harness's requests all come from one address (127.0.0.1); set
    // the rows' time back so only the ones below count.
    await h.db.kysely.updateTable('portal_sign_ins').set({ created: 1 }).execute();
    const many = unique('many');
    await customer(many);
    const b = new Browser(h.app, PORTAL_ORIGIN);
    for (let i = 0; i < 20; i++) await ask(b, unique('nobody'));
    const res = await ask(b, many);
    assert.equal(res.status, 303);
    await waitFor(jobsDone, 15_000, () => 'every mail job done');
    assert.equal(mailedTo(many), 0);
    await h.db.kysely.updateTable('portal_sign_ins').set({ created: 1 }).execute();
  });

  test('customers sharing an address choose one after signing in, never before', async () => {
    const email = unique('shared');
    const first = await customer(email, { first_name: 'Primo', company_name: 'One Ltd' });
    const second = await customer(email.toUpperCase(), { first_name: 'Secondo', company_name: 'Two Ltd' });
    const b = new Browser(h.app, PORTAL_ORIGIN);
    const check = await ask(b, email);
    const checked = await b.get(check.location as string);
    assert.ok(!checked.body.includes('Primo') && !checked.body.includes('Secondo'));
    const { path } = await mailTo(email);
    await b.get(path);
    const chosen = await b.post(path);
    assert.equal(chosen.location, '/portal/choose');
    const chooser = await b.get('/portal/choose');
    assert.equal(chooser.status, 200);
    assert.match(chooser.body, /Primo/);
    assert.match(chooser.body, /Two Ltd/);
    assert.ok(!chooser.body.includes('never-shown'));
    assert.equal((await b.get('/portal')).status, 401, 'not signed in before choosing');
    // A customer that is not offered cannot be chosen.
    const stranger = await customer(unique('stranger'));
    assert.equal((await b.post('/portal/choose', { customer: stranger.id })).status, 410);
    await b.get('/portal/choose');
    const done = await b.post('/portal/choose', { customer: second.id });
    assert.equal(done.status, 303);
    const overview = await b.get('/portal');
    assert.match(overview.body, /Secondo/);
    assert.ok(!overview.body.includes('Primo') && !overview.body.includes(first.id));
    assert.equal((await b.get('/portal/choose')).status, 410, 'the chooser is used up');
  });

  test('an expired link, and the link of a customer deleted since, sign nobody in', async () => {
    const late = unique('late');
    await customer(late);
    const b = new Browser(h.app, PORTAL_ORIGIN);
    await ask(b, late);
    const expired = await mailTo(late);
    await h.db.kysely
      .updateTable('portal_sign_ins')
      .set({ expires_at: 1 })
      .where('token_hash', 'is not', null)
      .where('used_at', 'is', null)
      .execute();
    assert.equal((await b.get(expired.path)).status, 410);
    await b.get(`${p.loginPath}/check`);
    assert.equal((await b.post(`${p.loginPath}/code`, { code: expired.code })).status, 400);

    const gone = unique('gone');
    const c = await customer(gone);
    const g = new Browser(h.app, PORTAL_ORIGIN);
    await ask(g, gone);
    const link = await mailTo(gone);
    await h.request('DELETE', `/v1/customers/${c.id}`, { key: acct.test });
    await g.get(link.path);
    const res = await g.post(link.path);
    assert.equal(res.status, 410);
    assert.equal((await g.get('/portal')).status, 401);
  });

  test('a body the portal cannot read is a page, not an API error', async () => {
    const b = new Browser(h.app, PORTAL_ORIGIN);
    await b.get(p.loginPath);
    const res = await h.app.inject({
      method: 'POST',
      url: p.loginPath,
      headers: { 'content-type': 'text/plain', origin: PORTAL_ORIGIN },
      payload: 'email=ada@example.com',
    });
    assert.equal(res.statusCode, 415);
    assert.match(String(res.headers['content-type']), /text\/html/);
    assert.match(res.body, /This request could not be read/);
  });

  test('no token or code in the database in clear, and no address, token or code in any log line', () =>
    p.assertNothingLeaked());
});
