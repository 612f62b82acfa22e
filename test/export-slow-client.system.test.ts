import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { after, before, test } from 'node:test';
import { insertCustomers, type NewCustomerRow } from '../src/customers/customers.store.js';
import { newId } from '../src/ids.js';
import { createTestAccount, type FreshDatabase, freshDatabase, type TestAccount } from './helpers/harness.js';
import { type ServerProcess, startServer } from './helpers/processes.js';
import { waitFor } from './helpers/receiver.js';

// The export against a client that stops reading: the server's resident memory, read from
// /proc, stays where ordinary work leaves it, far below the size of the export it is holding
// open, since it reads the next page only when the socket has taken the last.

const SIZE = 100_000;
const rssMiB = (pid: number) => {
  const line = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(line?.[1]) / 1024;
};

let fresh: FreshDatabase;
let acct: TestAccount;
let server: ServerProcess;
before(async () => {
  fresh = await freshDatabase('sqlite');
  acct = await createTestAccount(fresh.db);
  const now = Math.floor(Date.now() / 1000);
  for (let i = 0; i < SIZE; i += 5000) {
    const rows: NewCustomerRow[] = Array.from({ length: 5000 }, (_, k) => ({
      id: newId('cus'),
      account_id: acct.id,
      mode: 'test',
      email: `slow${i + k}@example.com`,
      email_lower: `slow${i + k}@example.com`,
      first_name: 'Slow',
      last_name: `Reader ${'x'.repeat(200)}`,
      phone: null,
      company_name: null,
      notes: 'n'.repeat(300),
      metadata: null,
      stripe_customer_id: null,
      created: now,
      updated: now,
    }));
    await fresh.db.kysely.transaction().execute((trx) => insertCustomers(trx, rows, 256));
  }
  server = await startServer({ LUNIPAY_DATABASE_URL: fresh.url, LUNIPAY_WORKER: 'false' });
});
after(async () => {
  await server?.kill('SIGTERM');
  await fresh?.drop();
});

/** Opens the export and reads `bytes` of it, then stops reading; returns the response and what it read. */
function openExport(
  stopAfter: number,
): Promise<{ received: () => number; close: () => void; total: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${server.url}/v1/customers/export?format=ndjson`,
      { headers: { authorization: `Bearer ${acct.test}` } },
      (res) => {
        assert.equal(res.statusCode, 200);
        let received = 0;
        const total = new Promise<number>((done) =>
          res.on('end', () => done(received)).on('close', () => done(received)),
        );
        res.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (received >= stopAfter) res.pause();
        });
        resolve({ received: () => received, close: () => req.destroy(), total });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

test('a client that stops reading holds the server to a page, not the export', async () => {
  // Ordinary work first: one whole export read as fast as it comes.
  const whole = await openExport(Number.POSITIVE_INFINITY);
  const size = await whole.total;
  assert.ok(size > 40 * 2 ** 20, `the export is ${size} bytes`);
  const baseline = rssMiB(server.child.pid as number);

  const stalled = await openExport(64 * 1024);
  await waitFor(
    () => stalled.received() >= 64 * 1024,
    10_000,
    () => 'the first bytes',
  );
  // Watch the server for a while with the client stalled: its memory must not climb towards the
  // export's size (a server that buffered would take all of it within this time).
  let peak = 0;
  for (let i = 0; i < 20; i++) {
    peak = Math.max(peak, rssMiB(server.child.pid as number));
    await new Promise((r) => setTimeout(r, 100));
  }
  stalled.close();
  const sizeMiB = size / 2 ** 20;
  assert.ok(
    peak < baseline + sizeMiB / 4,
    `RSS ${peak.toFixed(0)} MiB with the client stalled; ${baseline.toFixed(0)} MiB after a whole export of ${sizeMiB.toFixed(0)} MiB`,
  );
  assert.ok(stalled.received() < size / 2, 'the stalled client has not been sent the export');
});
