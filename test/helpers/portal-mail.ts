import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { sql } from 'kysely';
import { type DialectName, useHarness } from './harness.js';
import { type Browser, startMailWorker } from './portal.js';
import { waitFor } from './receiver.js';
import { tableNames } from './rows.js';
import { linkAndCode, type SmtpSink, startSmtp } from './smtp.js';

/** The origin the portal's links are built from in these tests. */
export const PORTAL_ORIGIN = 'http://127.0.0.1:4242';

/**
 * A harness for the portal's mail flows: the app, a real SMTP server on loopback and a worker
 * that sends the mail jobs to it, with helpers to ask for a sign-in and read the mail it sends.
 * Every token and code read and every address made is kept, for the storage and log checks.
 */
export function usePortalMail(dialect: DialectName) {
  const { h, acct } = useHarness(dialect, {
    LUNIPAY_PUBLIC_URL: PORTAL_ORIGIN,
    LUNIPAY_MAIL_FROM: 'portal@lunipay.test',
  });
  let smtp: SmtpSink | undefined;
  let worker: ReturnType<typeof startMailWorker> | undefined;
  let loginPath = '';
  const secrets: string[] = [];
  const addresses: string[] = [];
  let n = 0;
  const sink = () => smtp as SmtpSink;

  before(async () => {
    loginPath = `/portal/${acct.id}/test/login`;
    smtp = await startSmtp();
    worker = startMailWorker(h, smtp.url);
  });
  after(async () => {
    await worker?.stop();
    await smtp?.close();
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
  async function ask(browser: Browser, email: string, path?: string) {
    path ??= loginPath;
    await browser.get(path);
    return browser.post(path, { email });
  }
  const to = (address: string) =>
    sink().messages.filter((m) => JSON.stringify(m.to).toLowerCase().includes(address));
  async function mailTo(address: string) {
    await waitFor(
      () => to(address).length > 0,
      15_000,
      () => `a mail to ${address}`,
    );
    const mail = to(address).at(-1);
    assert.ok(mail);
    const found = linkAndCode(mail);
    secrets.push(found.token, found.code);
    return { mail, ...found };
  }
  const mailedTo = (address: string) => to(address).length;
  const jobsDone = async () => {
    const open = await h.db.kysely
      .selectFrom('jobs')
      .select('id')
      .where('type', '=', 'mail.send')
      .where('state', 'in', ['queued', 'running'])
      .execute();
    return open.length === 0;
  };
  return {
    h,
    acct,
    secrets,
    addresses,
    unique,
    customer,
    ask,
    mailTo,
    mailedTo,
    jobsDone,
    /** the latest mail to `address`, if any */
    lastTo: (address: string) => to(address).at(-1),
    get loginPath() {
      return loginPath;
    },
    workerLogs: () => worker?.logs() ?? '',
    /**
     * Once every mail job is done: no token or code read so far is stored in clear in any table,
     * and no address, token or code is in the app's or the worker's logs.
     */
    async assertNothingLeaked() {
      await waitFor(jobsDone, 15_000, () => 'every mail job done');
      assert.ok(secrets.length > 4);
      let dump = '';
      for (const name of await tableNames(h.db.kysely, dialect)) {
        const rows = await sql<Record<string, unknown>>`select * from ${sql.table(name)}`.execute(
          h.db.kysely,
        );
        dump += JSON.stringify(rows.rows);
      }
      for (const secret of secrets) {
        if (secret.length === 6) assert.ok(!new RegExp(`"${secret}"`).test(dump), 'a code in clear');
        else assert.ok(!dump.includes(secret), 'a token in clear');
      }
      const logs = h.logs() + (worker?.logs() ?? '');
      assert.ok(logs.includes('mail job succeeded'));
      for (const text of [...secrets.filter((s) => s.length > 6), ...addresses]) {
        assert.ok(!logs.includes(text), `${text.slice(0, 6)}… in the logs`);
      }
    },
  };
}
