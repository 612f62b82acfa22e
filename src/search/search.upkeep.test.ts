import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import SQLite from 'better-sqlite3';
import { sql } from 'kysely';
import { forEachDatabase, startHarness, useHarness } from '../../test/helpers/harness.js';
import { ConfigError, loadConfig } from '../config.js';
import { SEARCH_FTS_TABLES } from '../db/migrations.search-windows.js';
import { flushPendingTrigrams, mergeFtsStep } from './search.store.js';
import { startSearchUpkeep, upkeepSearchIndex } from './search.upkeep.js';

// The upkeep tidies what writes leave: PostgreSQL's GIN pending lists, SQLite's FTS5 segments
// (each write transaction adds one). Whatever it does, search answers the same.

forEachDatabase('Search index upkeep', (dialect) => {
  // The server's own upkeep off, so that only the test's calls tidy.
  const { h, acct } = useHarness(dialect, { LUNIPAY_SEARCH_UPKEEP_SECONDS: '0' });

  /** Customers created one request at a time: a transaction, and so an FTS5 segment, each. */
  const createSome = async (tag: string, n: number) => {
    for (let i = 0; i < n; i++) {
      const res = await h.request('POST', '/v1/customers', {
        key: acct.test,
        json: { email: `${tag}${i}@example.com`, first_name: `Ada${tag}`, phone: `+1 555 01${i}` },
      });
      assert.equal(res.status, 200, res.raw);
    }
  };
  const search = async (query: string) => {
    const res = await h.request('GET', '/v1/customers/search', {
      key: acct.test,
      query: { query, limit: 100 },
    });
    assert.equal(res.status, 200, res.raw);
    return (res.body.data as { email: string }[]).map((c) => c.email).sort();
  };
  /** What is left to tidy: PostgreSQL's pending pages, or SQLite columns with segments to merge. */
  const untidy = async (db = h.db) => {
    if (dialect === 'postgres') return flushPendingTrigrams(db.kysely);
    let columns = 0;
    for (const table of SEARCH_FTS_TABLES) if (await mergeFtsStep(db.kysely, table, 1)) columns++;
    return columns;
  };

  test('tidies what writes left, then has nothing left to do; searches answer the same', async () => {
    await createSome('tidy', 12);
    const before = await search('email~"tidy"');
    assert.equal(before.length, 12);
    assert.ok((await upkeepSearchIndex(h.db)) > 0, 'the writes left something to tidy');
    assert.equal(await upkeepSearchIndex(h.db), 0);
    assert.equal(await untidy(), 0);
    assert.deepEqual(await search('email~"tidy"'), before);
    assert.deepEqual((await search('name~"adatidy" phone~"555 011"')).length, 3);
    if (dialect === 'sqlite') {
      for (const table of SEARCH_FTS_TABLES) {
        await sql
          .raw(`insert into ${table}(${table}, rank) values ('integrity-check', 1)`)
          .execute(h.db.kysely);
      }
    }
  });

  test('SQLite stops merging when its time is up, and goes on the next time', async (t) => {
    if (dialect !== 'sqlite') return t.skip('PostgreSQL moves a pending list whole');
    await createSome('budget', 12);
    assert.equal(await upkeepSearchIndex(h.db, 0), 0);
    assert.ok((await upkeepSearchIndex(h.db)) > 0);
    assert.equal(await untidy(), 0);
  });

  test("SQLite never waits for another process's write lock; it tidies once the lock is gone", async (t) => {
    if (dialect !== 'sqlite') return t.skip('PostgreSQL does the work in its own process');
    await createSome('locked', 12);
    const other = new SQLite(h.databaseUrl.replace(/^sqlite:/, ''));
    other.exec('BEGIN IMMEDIATE');
    const started = performance.now();
    try {
      assert.equal(await upkeepSearchIndex(h.db), 0);
    } finally {
      other.exec('COMMIT');
      other.close();
    }
    // The connection waits 5 s for a lock; the upkeep gave up at once instead.
    assert.ok(performance.now() - started < 4000, `${Math.round(performance.now() - started)} ms`);
    const { rows } = await sql<{ timeout: number }>`pragma busy_timeout`.execute(h.db.kysely);
    assert.equal(rows[0]?.timeout, 5000, 'the wait is back as it was');
    assert.ok((await upkeepSearchIndex(h.db)) > 0);
  });

  test('SQLite lets other work run between merge steps', async (t) => {
    if (dialect !== 'sqlite') return t.skip('PostgreSQL does the work in its own process');
    await createSome('yield', 12);
    let ticks = 0;
    let stop = false;
    const tick = () => {
      if (stop) return;
      ticks++;
      setImmediate(tick);
    };
    setImmediate(tick);
    const steps = await upkeepSearchIndex(h.db);
    stop = true;
    assert.ok(steps > 1, `${steps} steps`);
    assert.ok(ticks >= steps - 1, `${ticks} turns of the event loop during ${steps} steps`);
  });

  test('the server runs it on its own, every LUNIPAY_SEARCH_UPKEEP_SECONDS', async () => {
    const server = await startHarness(dialect, { LUNIPAY_SEARCH_UPKEEP_SECONDS: '1' });
    try {
      const account = await server.account();
      for (let i = 0; i < 12; i++) {
        const res = await server.request('POST', '/v1/customers', {
          key: account.test,
          json: { email: `served${i}@example.com`, first_name: 'Ada' },
        });
        assert.equal(res.status, 200, res.raw);
      }
      // The first run comes within a second; one more second for it to finish.
      await sleep(2500);
      assert.equal(await untidy(server.db), 0, 'the server had tidied');
    } finally {
      await server.close();
    }
  });

  test('startSearchUpkeep runs it every interval, and never at 0', async () => {
    const logged: string[] = [];
    const log = {
      info: (_: object, m: string) => logged.push(m),
      warn: (_: object, m: string) => logged.push(m),
    };
    const off = startSearchUpkeep(h.db, { upkeepSeconds: 0 }, log);
    try {
      await createSome('off', 12);
      await sleep(1500);
      assert.ok((await untidy()) > 0, 'nothing ran while it was off');
    } finally {
      await off.stop();
    }

    await createSome('timer', 12);
    const upkeep = startSearchUpkeep(h.db, { upkeepSeconds: 1 }, log);
    try {
      // The first run comes within a second; one more second for it to finish.
      await sleep(2500);
    } finally {
      await upkeep.stop();
    }
    assert.equal(await untidy(), 0);
    assert.deepEqual(logged, [], 'a tidy upkeep logs nothing');
  });
});

describe('Search configuration', () => {
  test('defaults: the upkeep every 5 seconds; 0 turns it off', () => {
    assert.deepEqual(loadConfig({}).search, { upkeepSeconds: 5 });
    assert.deepEqual(loadConfig({ LUNIPAY_SEARCH_UPKEEP_SECONDS: '0' }).search, { upkeepSeconds: 0 });
  });

  test('bad values stop the start with a message naming the variable', () => {
    for (const value of ['-1', '3601', '1.5', 'often']) {
      assert.throws(
        () => loadConfig({ LUNIPAY_SEARCH_UPKEEP_SECONDS: value }),
        (error: unknown) =>
          error instanceof ConfigError && error.message.startsWith('LUNIPAY_SEARCH_UPKEEP_SECONDS'),
        value,
      );
    }
  });
});
