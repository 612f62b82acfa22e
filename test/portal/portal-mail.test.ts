import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { simpleParser } from 'mailparser';
import { createMailTransport, MailRefused } from '../../src/mail/transport.js';
import { forEachDatabase, useHarness } from '../helpers/harness.js';
import { Browser, startMailWorker } from '../helpers/portal.js';
import { waitFor } from '../helpers/receiver.js';
import { type SmtpSink, startSmtp } from '../helpers/smtp.js';

const MESSAGE = {
  from: { name: 'Ada’s Shop', address: 'no-reply@localhost' },
  to: 'ada@example.com',
  subject: '[TEST] Sign in to Ada’s Shop',
  text: 'plain part\n',
  html: '<p>html part</p>',
};

test('without SMTP each mail is an .eml file with a text and an HTML part', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lunipay-mail-'));
  try {
    const transport = createMailTransport({
      smtpUrl: undefined,
      dir: join(dir, 'mail'),
      from: 'no-reply@localhost',
    });
    await transport.send(MESSAGE);
    const files = readdirSync(join(dir, 'mail'));
    assert.equal(files.length, 1);
    assert.match(files[0] as string, /\.eml$/);
    const mail = await simpleParser(readFileSync(join(dir, 'mail', files[0] as string)));
    assert.equal(mail.subject, MESSAGE.subject);
    assert.equal(mail.from?.value[0]?.name, 'Ada’s Shop');
    assert.equal(mail.text?.trim(), 'plain part');
    assert.match(String(mail.html), /html part/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an SMTP refusal is reduced to its status, never the server’s text (it may quote the address)', async () => {
  const sink = await startSmtp();
  try {
    const transport = createMailTransport({ smtpUrl: sink.url, dir: '', from: 'no-reply@localhost' });
    sink.refuse = 451;
    await assert.rejects(transport.send(MESSAGE), (error: Error) => {
      assert.ok(!(error instanceof MailRefused));
      assert.match(error.message, /SMTP 451/);
      assert.ok(!error.message.includes('ada@'));
      return true;
    });
    sink.refuse = 550;
    await assert.rejects(transport.send(MESSAGE), MailRefused);
    sink.refuse = null;
    await transport.send(MESSAGE);
    assert.equal(sink.messages.length, 1);
    transport.close();
  } finally {
    await sink.close();
  }
});

forEachDatabase('mail jobs', (dialect) => {
  const { h, acct } = useHarness(dialect, { LUNIPAY_PUBLIC_URL: 'http://127.0.0.1:4242' });
  let sink: SmtpSink;
  let worker: ReturnType<typeof startMailWorker>;
  before(async () => {
    sink = await startSmtp();
  });
  after(async () => {
    await worker?.stop();
    await sink.close();
  });

  test('a mail server that refuses for a while delays the mail, never loses it; the job is written with the request', async () => {
    const email = `retry.${dialect}@example.com`;
    await h.request('POST', '/v1/customers', { key: acct.test, json: { email } });
    sink.refuse = 451;
    const b = new Browser(h.app, 'http://127.0.0.1:4242');
    await b.get(`/portal/${acct.id}/test/login`);
    await b.post(`/portal/${acct.id}/test/login`, { email });
    // The request has answered: its job is already in the queue, before any worker runs.
    const queued = await h.db.kysely.selectFrom('jobs').selectAll().where('type', '=', 'mail.send').execute();
    assert.equal(queued.length, 1);
    assert.ok(!queued[0]?.payload.includes(email));
    worker = startMailWorker(h, sink.url);
    const job = () =>
      h.db.kysely.selectFrom('jobs').selectAll().where('type', '=', 'mail.send').executeTakeFirstOrThrow();
    await waitFor(
      async () => (await job()).attempts >= 2,
      15_000,
      () => 'two refused attempts',
    );
    const failing = await job();
    assert.ok(['queued', 'running'].includes(failing.state), 'still to be sent');
    assert.match(failing.last_error ?? '', /SMTP 451/);
    assert.ok(!(failing.last_error ?? '').includes(email));
    sink.refuse = null;
    await waitFor(
      () => sink.messages.length === 1,
      15_000,
      () => 'the mail, once the server accepts',
    );
    await waitFor(
      async () => (await job()).state === 'succeeded',
      15_000,
      () => 'the job done',
    );
    assert.ok(!worker.logs().includes(email));
  });
});
