import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql } from 'kysely';
import { forEachDatabase, type Harness, useHarness } from '../helpers/harness.js';
import { Browser, startMailWorker } from '../helpers/portal.js';
import { waitFor } from '../helpers/receiver.js';
import { tableNames } from '../helpers/rows.js';
import { linkAndCode, type SmtpSink, startSmtp } from '../helpers/smtp.js';

const ORIGIN = 'http://127.0.0.1:4242';

forEachDatabase('portal sign-in by email', (dialect) => {
  const { h, acct } = useHarness(dialect, {
    LUNIPAY_PUBLIC_URL: ORIGIN,
    LUNIPAY_MAIL_FROM: 'portal@lunipay.test',
  });
  let smtp: SmtpSink;
  let worker: ReturnType<typeof startMailWorker>;
  /** every token and code this file has seen, for the storage and log checks */
  const secrets: string[] = [];
  const addresses: string[] = [];
  let n = 0;

  before(async () => {
    loginPath = `/portal/${acct.id}/test/login`;
    smtp = await startSmtp();
    worker = startMailWorker(h, smtp.url);
  });
  after(async () => {
    await worker.stop();
    await smtp.close();
  });

  const unique = (name: string) => {
    const address = `${name}.${++n}.${dialect}@example.com`;
    addresses.push(address);
    return address;
  };
  async function customer(email: string, body: Record<string, unknown> = {}, key = acct.test) {
    const res = await h.request('POST', '/v1/customers', {
      key,
      json: { email, notes: 'NOTE-never-shown', metadata: { m: 'META-never-shown' }, ...body },
    });
    assert.equal(res.status, 200, res.raw);
    return res.body as { id: string };
  }
  let loginPath = '';
  async function ask(browser: Browser, email: string, path?: string) {
    path ??= loginPath;
    await browser.get(path);
    return browser.post(path, { email });
  }
  async function mailTo(address: string) {
    await waitFor(
      () => smtp.messages.some((m) => m.to && JSON.stringify(m.to).toLowerCase().includes(address)),
      15_000,
      () => `a mail to ${address}`,
    );
    const mail = smtp.messages.filter((m) => JSON.stringify(m.to).toLowerCase().includes(address)).at(-1);
    assert.ok(mail);
    const found = linkAndCode(mail);
    secrets.push(found.token, found.code);
    return { mail, ...found };
  }
  const mailedTo = (address: string) =>
    smtp.messages.filter((m) => JSON.stringify(m.to).toLowerCase().includes(address)).length;
  const jobsDone = async () => {
    const open = await h.db.kysely
      .selectFrom('jobs')
      .select('id')
      .where('type', '=', 'mail.send')
      .where('state', 'in', ['queued', 'running'])
      .execute();
    return open.length === 0;
  };

  test('one mail with a link and a code; GET shows a button and signs nobody in; POST signs in, once', async () => {
    const email = unique('ada');
    const c = await customer(email, { first_name: 'Ada' });
    const browser = new Browser(h.app, ORIGIN);
    const asked = await ask(browser, email);
    assert.equal(asked.status, 303);
    assert.equal(asked.location, `${loginPath}/check`);
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
    const scanner = new Browser(h.app, ORIGIN);
    for (let i = 0; i < 2; i++) {
      const shown = await scanner.get(path);
      assert.equal(shown.status, 200);
      assert.match(shown.body, /<button type="submit">Sign in<\/button>/);
    }
    assert.ok(!scanner.jar.has('lunipay_portal'));
    assert.equal((await scanner.get('/portal')).status, 401);

    // The person opens it (on another device even) and presses the button.
    // Session fixation: an id planted in the browser beforehand is never adopted.
    const person = new Browser(h.app, ORIGIN);
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
    const reused = new Browser(h.app, ORIGIN);
    assert.equal((await reused.get(path)).status, 410);
    await reused.get(loginPath);
    assert.equal((await reused.post(path)).status, 410, 'posting it again signs nobody in');
  });

  test('the code works on the device that asked; five wrong codes void the sign-in', async () => {
    const email = unique('grace');
    await customer(email, { first_name: 'Grace' });
    const asker = new Browser(h.app, ORIGIN);
    await ask(asker, email);
    const { code } = await mailTo(email);
    const codePath = `${loginPath}/code`;
    // Another device with the right code gets nowhere.
    const thief = new Browser(h.app, ORIGIN);
    await thief.get(`${loginPath}/check`);
    assert.equal((await thief.post(codePath, { code })).status, 400);
    await asker.get(`${loginPath}/check`);
    const malformed = await asker.post(codePath, { code: 'abc' });
    assert.equal(malformed.status, 400);
    assert.match(malformed.body, /Enter the 6-digit code/);
    const right = await asker.post(codePath, { code });
    assert.equal(right.status, 303, right.body);
    assert.equal((await asker.get('/portal')).status, 200);

    const other = unique('linus');
    await customer(other);
    const guesser = new Browser(h.app, ORIGIN);
    await ask(guesser, other);
    const mailed = await mailTo(other);
    const wrong = mailed.code === '000000' ? '000001' : '000000';
    await guesser.get(`${loginPath}/check`);
    for (let i = 0; i < 5; i++) {
      const res = await guesser.post(codePath, { code: wrong });
      assert.equal(res.status, 400);
      assert.match(res.body, /That code is not right/);
    }
    assert.equal((await guesser.post(codePath, { code: mailed.code })).status, 400, 'voided');
    assert.equal((await new Browser(h.app, ORIGIN).get(mailed.path)).status, 410, 'the link is void too');
  });

  test('known and unknown addresses get byte-identical answers; only the known one gets mail', async () => {
    const known = unique('known');
    const unknown = unique('unknown');
    await customer(known);
    const answers = [];
    for (const email of [known, unknown]) {
      const b = new Browser(h.app, ORIGIN);
      await b.get(loginPath);
      const res = await h.app.inject({
        method: 'POST',
        url: loginPath,
        headers: {
          cookie: [...b.jar].map(([k, v]) => `${k}=${v}`).join('; '),
          'content-type': 'application/x-www-form-urlencoded',
          origin: ORIGIN,
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
      const res = await ask(new Browser(h.app, ORIGIN), email);
      assert.equal(res.status, 303);
    }
    await waitFor(jobsDone, 15_000, () => 'every mail job done');
    assert.equal(mailedTo(email), 5);
    // The client limit: this harness's requests all come from one address (127.0.0.1); set
    // the rows' time back so only the ones below count.
    await h.db.kysely.updateTable('portal_sign_ins').set({ created: 1 }).execute();
    const many = unique('many');
    await customer(many);
    const b = new Browser(h.app, ORIGIN);
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
    const b = new Browser(h.app, ORIGIN);
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

  test('an email change is confirmed from the new address, then the old one is told; the session id changes', async () => {
    const old = unique('old');
    const fresh = unique('new');
    const c = await customer(old, { first_name: 'Changer' });
    const b = new Browser(h.app, ORIGIN);
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
    const stale = new Browser(h.app, ORIGIN);
    stale.jar.set('lunipay_portal', sid as string);
    assert.equal((await stale.get('/portal')).status, 401, 'the old session id no longer works');
    await waitFor(
      () => mailedTo(old) === 2,
      15_000,
      () => 'the notice to the old address',
    );
    const notice = smtp.messages.filter((m) => JSON.stringify(m.to).toLowerCase().includes(old)).at(-1);
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

  test('an expired link, and the link of a customer deleted since, sign nobody in', async () => {
    const late = unique('late');
    await customer(late);
    const b = new Browser(h.app, ORIGIN);
    await ask(b, late);
    const expired = await mailTo(late);
    await h.db.kysely
      .updateTable('portal_sign_ins')
      .set({ expires_at: 1 })
      .where('token_hash', 'is not', null)
      .where('used_at', 'is', null)
      .execute();
    assert.equal((await b.get(expired.path)).status, 410);
    await b.get(`${loginPath}/check`);
    assert.equal((await b.post(`${loginPath}/code`, { code: expired.code })).status, 400);

    const gone = unique('gone');
    const c = await customer(gone);
    const g = new Browser(h.app, ORIGIN);
    await ask(g, gone);
    const link = await mailTo(gone);
    await h.request('DELETE', `/v1/customers/${c.id}`, { key: acct.test });
    await g.get(link.path);
    const res = await g.post(link.path);
    assert.equal(res.status, 410);
    assert.equal((await g.get('/portal')).status, 401);
  });

  test('a body the portal cannot read is a page, not an API error', async () => {
    const b = new Browser(h.app, ORIGIN);
    await b.get(loginPath);
    const res = await h.app.inject({
      method: 'POST',
      url: loginPath,
      headers: { 'content-type': 'text/plain', origin: ORIGIN },
      payload: 'email=ada@example.com',
    });
    assert.equal(res.statusCode, 415);
    assert.match(String(res.headers['content-type']), /text\/html/);
    assert.match(res.body, /This request could not be read/);
  });

  test('a confirmation link opened in a browser signed in as someone else gives that browser nothing', async () => {
    const old = unique('owner');
    const fresh = unique('owner-new');
    const c = await customer(old, { first_name: 'Owner' });
    const other = await customer(unique('bystander'), { first_name: 'Bystander' });
    const owner = new Browser(h.app, ORIGIN);
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
    const bystander = new Browser(h.app, ORIGIN);
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

  test('no token or code in the database in clear, and no address, token or code in any log line', async () => {
    await waitFor(jobsDone, 15_000, () => 'every mail job done');
    assert.ok(secrets.length > 4);
    let dump = '';
    for (const name of await tableNames(h.db.kysely, dialect)) {
      const rows = await sql<Record<string, unknown>>`select * from ${sql.table(name)}`.execute(h.db.kysely);
      dump += JSON.stringify(rows.rows);
    }
    for (const secret of secrets) {
      if (secret.length === 6) assert.ok(!new RegExp(`"${secret}"`).test(dump), 'a code in clear');
      else assert.ok(!dump.includes(secret), 'a token in clear');
    }
    const logs = h.logs() + worker.logs();
    assert.ok(logs.includes('mail job succeeded'));
    for (const text of [...secrets.filter((s) => s.length > 6), ...addresses]) {
      assert.ok(!logs.includes(text), `${text.slice(0, 6)}… in the logs`);
    }
  });
});

export type { Harness };
