import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { forEachDatabase, useHarness } from '../../test/helpers/harness.js';
import { customerWriteHooks } from '../app.js';
import { createStripeGateway } from '../stripe/gateway.js';
import { ImportFileError, importCustomers } from './import.js';

const dir = mkdtempSync(join(tmpdir(), 'lunipay-import-'));
let files = 0;
const file = (text: string, ext = 'csv') => {
  const path = join(dir, `f${files++}.${ext}`);
  writeFileSync(path, text);
  return path;
};

forEachDatabase('customers import', (dialect) => {
  const { h } = useHarness(dialect);
  const run = async (
    accountId: string,
    path: string,
    options: { format?: 'csv' | 'ndjson'; dryRun?: boolean; mode?: 'test' | 'live' } = {},
  ) =>
    importCustomers({
      db: h.db,
      hooks: customerWriteHooks(createStripeGateway(h.config.stripe), h.db),
      accountId,
      mode: options.mode ?? 'test',
      path,
      format: options.format ?? (path.endsWith('.csv') ? 'csv' : 'ndjson'),
      dryRun: options.dryRun ?? false,
    });
  const customersOf = async (accountId: string) =>
    h.db.kysely
      .selectFrom('customers')
      .selectAll()
      .where('account_id', '=', accountId)
      .orderBy('id')
      .execute();
  const eventsOf = async (accountId: string) =>
    h.db.kysely.selectFrom('events').selectAll().where('account_id', '=', accountId).execute();

  const CSV = [
    'email,first_name,last_name,phone,company_name,notes,metadata',
    'ada@example.com,Ada,Lovelace,+1 555,Engines,,"{""plan"":""pro""}"',
    'not-an-email,Bad,Row,,,,',
    ',NoEmail,,,,,',
    'grace@example.com,Grace,Hopper,,,,{not json}',
    `long@example.com,${'x'.repeat(256)},,,,,`,
    'alan@example.com,Alan,"Turing, A.",,,"two',
    'lines",',
    'meta@example.com,,,,,,"{""a[b"":""c""}"',
    "guarded@example.com,'=SUM(A1),'+44,'-1,'@x,''=kept,",
    '',
  ].join('\r\n');

  test('good rows are created through the API write path; each bad row is reported and skipped', async () => {
    const acct = await h.account('import');
    const summary = await run(acct.id, file(CSV));
    assert.deepEqual(summary, {
      created: 3,
      skipped: 0,
      failed: 5,
      errors: [
        {
          line: 3,
          param: 'email',
          message: 'Invalid email: must contain one @ with text on both sides and no whitespace.',
        },
        { line: 4, param: 'email', message: 'Missing required param: email.' },
        { line: 5, param: 'metadata', message: 'Invalid metadata: the cell is not a JSON object.' },
        { line: 6, param: 'first_name', message: 'Invalid first_name: must be at most 255 characters.' },
        { line: 9, param: 'metadata[a[b]', message: summary.errors[4]?.message as string },
      ],
    });
    const rows = await customersOf(acct.id);
    assert.deepEqual(rows.map((r) => r.email).sort(), [
      'ada@example.com',
      'alan@example.com',
      'guarded@example.com',
    ]);
    const alan = rows.find((r) => r.email === 'alan@example.com');
    assert.equal(alan?.last_name, 'Turing, A.');
    assert.equal(alan?.notes, 'two\r\nlines');
    // One leading quote before a formula character is the export's guard: it is removed.
    const guarded = rows.find((r) => r.email === 'guarded@example.com');
    assert.deepEqual(
      [guarded?.first_name, guarded?.last_name, guarded?.phone, guarded?.company_name, guarded?.notes],
      ['=SUM(A1)', '+44', '-1', '@x', "'=kept"],
    );
    const events = await eventsOf(acct.id);
    assert.equal(events.length, 3);
    for (const event of events) {
      assert.equal(event.type, 'customer.created');
      assert.equal(event.source, 'import');
    }
    // Found by search at once, like any create.
    const found = await h.request('GET', '/v1/customers/search', {
      key: acct.test,
      query: { query: 'email~"ada@"' },
    });
    assert.deepEqual(
      found.body.data.map((c: { email: string }) => c.email),
      ['ada@example.com'],
    );
  });

  test('a second run creates nothing; a row naming an existing id is skipped; repeated rows are made once', async () => {
    const acct = await h.account('rerun');
    const path = file(CSV);
    assert.equal((await run(acct.id, path)).created, 3);
    const again = await run(acct.id, path);
    assert.deepEqual([again.created, again.skipped, again.failed], [0, 3, 5]);
    assert.equal((await customersOf(acct.id)).length, 3);
    assert.equal((await eventsOf(acct.id)).length, 3);

    const [first] = await customersOf(acct.id);
    const ndjson = file(
      [
        JSON.stringify({ id: first?.id, email: 'changed@example.com' }),
        JSON.stringify({ email: 'twice@example.com', metadata: { b: '2', a: '1' } }),
        JSON.stringify({ metadata: { a: '1', b: '2' }, email: 'twice@example.com' }),
        JSON.stringify({ id: 'cus_unknown', email: 'new@example.com', object: 'customer', livemode: false }),
        '[1]',
        '{bad',
        '',
      ].join('\n'),
      'ndjson',
    );
    const summary = await run(acct.id, ndjson);
    assert.deepEqual(summary, {
      created: 2,
      skipped: 2,
      failed: 2,
      errors: [
        { line: 5, param: null, message: 'The line is not a JSON object.' },
        { line: 6, param: null, message: 'The line is not valid JSON.' },
      ],
    });
    // The same content in the other mode is another customer (and the id names none there).
    assert.equal((await run(acct.id, ndjson, { mode: 'live' })).created, 3);
  });

  test('--dry-run validates everything and writes nothing', async () => {
    const acct = await h.account('dry');
    const summary = await run(acct.id, file(CSV), { dryRun: true });
    assert.deepEqual([summary.created, summary.skipped, summary.failed], [3, 0, 5]);
    assert.equal((await customersOf(acct.id)).length, 0);
    assert.equal((await eventsOf(acct.id)).length, 0);
    const imports = await h.db.kysely
      .selectFrom('customer_imports')
      .selectAll()
      .where('account_id', '=', acct.id)
      .execute();
    assert.equal(imports.length, 0);
  });

  test('a file that cannot be imported is refused before anything is written', async () => {
    const acct = await h.account('refused');
    const cases: [string, RegExp][] = [
      [file('email,nickname\r\na@b.c,x\r\n'), /names 'nickname'/],
      [file('first_name\r\nAda\r\n'), /no email column/],
      [file('email\r\na@b.c\r\n"unterminated\r\n'), /not valid CSV/],
      [
        file(
          `${JSON.stringify({ email: 'a@b.c' })}\n${JSON.stringify({ email: 'd@e.f', secret: 1 })}\n`,
          'ndjson',
        ),
        /Line 2 names 'secret'/,
      ],
    ];
    for (const [path, message] of cases) {
      await assert.rejects(
        run(acct.id, path),
        (error: unknown) => error instanceof ImportFileError && message.test(error.message),
      );
    }
    assert.equal((await customersOf(acct.id)).length, 0);
  });

  test('an export imported into another account gives back every field a create sets', async () => {
    const from = await h.account('export-from');
    for (const json of [
      {
        email: '=a@x.test',
        first_name: '+Ada',
        last_name: '-L',
        phone: '@1',
        company_name: '\tCo',
        notes: "'=n",
        metadata: { k: '=v' },
      },
      {
        email: 'plain@x.test',
        first_name: 'Zoë',
        last_name: 'Ō',
        phone: null,
        company_name: 'a,"b"',
        notes: 'x\ny',
      },
    ]) {
      assert.equal((await h.request('POST', '/v1/customers', { key: from.test, json })).status, 200);
    }
    const fields = (c: Record<string, unknown>) => [
      c.email,
      c.first_name,
      c.last_name,
      c.phone,
      c.company_name,
      c.notes,
      c.metadata,
    ];
    const exported = await h.request('GET', '/v1/customers', { key: from.test });
    for (const format of ['csv', 'ndjson'] as const) {
      const to = await h.account(`export-to-${format}`);
      const body = await h.app.inject({
        method: 'GET',
        url: `/v1/customers/export?format=${format}`,
        headers: { authorization: `Bearer ${from.test}` },
      });
      const summary = await run(to.id, file(body.body, format));
      assert.deepEqual(summary, { created: 2, skipped: 0, failed: 0, errors: [] });
      const imported = await h.request('GET', '/v1/customers', { key: to.test });
      // Imported in the file's order, newest first: so the newest here is the oldest there.
      assert.deepEqual(imported.body.data.map(fields), exported.body.data.map(fields).reverse(), format);
    }
  });
});
