import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'csv-parse/sync';
import type { KyselyPlugin } from 'kysely';
import { forEachDatabase, useHarness } from '../../test/helpers/harness.js';
import type { Customer } from '../customers/customers.schema.js';
import { toCustomer } from '../customers/customers.service.js';
import { insertCustomers, type NewCustomerRow } from '../customers/customers.store.js';
import { newId } from '../ids.js';
import { CSV_COLUMNS, EXPORT_PAGE, exportCustomers, unguardCell } from './export.js';

const SIZE = 100_000;
/** Values a CSV writer and a spreadsheet must both survive. */
const AWKWARD = [
  '=1+1',
  '+44 20',
  '-5',
  '@cmd',
  '\tx',
  '\rx',
  "'=quoted",
  'a,b',
  'say "hi"',
  'two\nlines',
  'Zoë',
  '',
];

function row(accountId: string, i: number, now: number): NewCustomerRow {
  const pick = (k: number) => AWKWARD[(i + k) % AWKWARD.length] as string;
  const email = `${pick(0) === '' ? 'x' : 'p'}${i}@export.test`;
  return {
    id: newId('cus'),
    account_id: accountId,
    mode: 'test',
    email,
    email_lower: email.toLowerCase(),
    first_name: pick(1),
    last_name: pick(2),
    phone: i % 3 === 0 ? null : pick(3) || null,
    company_name: i % 4 === 0 ? null : pick(4) || null,
    notes: i % 5 === 0 ? null : pick(5) || null,
    metadata: i % 2 === 0 ? null : JSON.stringify({ k: pick(6) || 'v', [`n${i % 7}`]: '=x' }),
    stripe_customer_id: i % 6 === 0 ? `cus_S${i}` : null,
    created: now - (i % 1000),
    updated: now,
  };
}

/** A CSV record back to the customer object, as the import reads it. */
function fromCsv(record: Record<string, string>): Customer {
  const text = (v: string | undefined) => unguardCell(v ?? '');
  const nullable = (v: string | undefined) => (v === '' ? null : text(v));
  return {
    id: record.id as string,
    object: 'customer',
    livemode: record.livemode === 'true',
    email: text(record.email),
    first_name: text(record.first_name),
    last_name: text(record.last_name),
    phone: nullable(record.phone),
    company_name: nullable(record.company_name),
    notes: nullable(record.notes),
    metadata: record.metadata === '' ? null : JSON.parse(text(record.metadata)),
    stripe_customer_id: nullable(record.stripe_customer_id),
    created: Number(record.created),
    updated: Number(record.updated),
  };
}

forEachDatabase('GET /v1/customers/export', (dialect) => {
  const { h, acct } = useHarness(dialect);
  let expected: Customer[] = [];
  const get = (query: string, key = acct.test) =>
    h.app.inject({
      method: 'GET',
      url: `/v1/customers/export${query}`,
      headers: { authorization: `Bearer ${key}` },
    });

  test(`${SIZE.toLocaleString('en-US')} customers, in both formats, parsed back field by field`, async () => {
    const now = Math.floor(Date.now() / 1000);
    const rows = Array.from({ length: SIZE }, (_, i) => row(acct.id, i, now));
    for (let i = 0; i < rows.length; i += 5000) {
      await h.db.kysely.transaction().execute((trx) => insertCustomers(trx, rows.slice(i, i + 5000), 256));
    }
    expected = rows.map((r) => toCustomer({ ...r, version: 1 })).sort((a, b) => (a.id < b.id ? 1 : -1));

    const ndjson = await get('');
    assert.equal(ndjson.statusCode, 200);
    assert.equal(ndjson.headers['content-type'], 'application/x-ndjson');
    const date = new Date().toISOString().slice(0, 10);
    assert.equal(
      ndjson.headers['content-disposition'],
      `attachment; filename="customers-test-${date}.ndjson"`,
    );
    const lines = ndjson.body.split('\n');
    assert.equal(lines.pop(), '', 'every line ends with a newline');
    assert.equal(lines.length, SIZE);
    assert.deepEqual(
      lines.map((l) => JSON.parse(l)),
      expected,
    );

    const csv = await get('?format=csv');
    assert.equal(csv.statusCode, 200);
    assert.equal(csv.headers['content-type'], 'text/csv; charset=utf-8');
    assert.equal(csv.headers['content-disposition'], `attachment; filename="customers-test-${date}.csv"`);
    assert.ok(csv.body.startsWith(`${CSV_COLUMNS.join(',')}\r\n`));
    const records = parse(csv.body, { columns: true, relax_column_count: false }) as Record<string, string>[];
    assert.equal(records.length, SIZE);
    // Nothing a spreadsheet would run as a formula, in any cell.
    for (const record of records) {
      for (const cell of Object.values(record)) assert.doesNotMatch(cell, /^[=+\-@\t\r]/);
    }
    assert.deepEqual(records.map(fromCsv), expected);
  });

  test('the formula guard: a leading = + - @ tab or CR gets one quote, and comes back without it', async () => {
    const live = await h.request('POST', '/v1/customers', {
      key: acct.live,
      json: {
        email: '=cmd@x.test',
        first_name: '+1',
        last_name: '-2',
        phone: '@3',
        company_name: '\tTab',
        notes: "'=q",
        metadata: { a: '=b' },
      },
    });
    assert.equal(live.status, 200);
    const csv = await get('?format=csv', acct.live);
    const [record] = parse(csv.body, { columns: true }) as Record<string, string>[];
    assert.deepEqual(
      { ...record },
      {
        ...record,
        email: "'=cmd@x.test",
        first_name: "'+1",
        last_name: "'-2",
        phone: "'@3",
        company_name: "'\tTab",
        notes: "''=q",
        metadata: '{"a":"=b"}',
        livemode: 'true',
      },
    );
    assert.deepEqual(fromCsv(record as Record<string, string>), live.body);
    assert.match(
      csv.headers['content-disposition'] as string,
      /filename="customers-live-\d{4}-\d\d-\d\d\.csv"/,
    );
  });

  test('the list filters apply: email (case-insensitive) and created', async () => {
    const one = expected[123] as Customer;
    const byEmail = await get(`?email=${encodeURIComponent(one.email.toUpperCase())}`);
    assert.deepEqual(
      byEmail.body
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
      [one],
    );
    const oldest = Math.min(...expected.map((c) => c.created));
    const byCreated = await get(`?created[lte]=${oldest}`);
    const got = byCreated.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Customer);
    assert.deepEqual(
      got,
      expected.filter((c) => c.created <= oldest),
    );
    const none = await get('?email=nobody@nowhere.test');
    assert.equal(none.statusCode, 200);
    assert.equal(none.body, '');
  });

  test('bad parameters: 400 in the envelope, never a 500 or a stream', async () => {
    for (const [query, code, param] of [
      ['?format=xlsx', 'parameter_invalid', 'format'],
      ['?format=', 'parameter_invalid', 'format'],
      ['?format=csv&format=ndjson', 'parameter_invalid', 'format'],
      ['?created=yesterday', 'parameter_invalid', 'created'],
      ['?created[after]=1', 'parameter_unknown', 'created[after]'],
      ['?email=a%00b', 'parameter_invalid', 'email'],
      ['?limit=5', 'parameter_unknown', 'limit'],
    ] as const) {
      const res = await get(query);
      assert.equal(res.statusCode, 400, `${query}: ${res.body}`);
      assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
      assert.equal(res.json().error.code, code, query);
      assert.equal(res.json().error.param, param, query);
    }
  });

  test('backpressure: pages are read only as the stream is read', async () => {
    let queries = 0;
    const counting: KyselyPlugin = {
      transformQuery: (args) => {
        queries++;
        return args.node;
      },
      transformResult: async (args) => args.result,
    };
    const db = { ...h.db, reader: h.db.reader.withPlugin(counting) };
    const auth = { accountId: acct.id, mode: 'test' as const } as Parameters<typeof exportCustomers>[1];
    const result = await exportCustomers(db, auth, { format: 'ndjson' });
    for (let i = 0; i < 50; i++) await new Promise((resolve) => setImmediate(resolve));
    assert.ok(queries <= 2, `${queries} pages read before anything was taken from the stream`);
    let lines = 0;
    for await (const chunk of result.body) lines += String(chunk).split('\n').length - 1;
    assert.equal(lines, SIZE);
    assert.equal(queries, Math.ceil(SIZE / EXPORT_PAGE));
  });
});
