import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type DialectName, forEachDatabase, useDatabase } from './helpers/harness.js';
import { type ServerProcess, startServer } from './helpers/processes.js';
import { retrieveFrom, send, WriteTracker } from './helpers/writes.js';

/**
 * Crash safety: concurrent creates and updates against a real server process, killed with SIGKILL
 * at a random moment, restarted, several rounds over the same database. After each restart every
 * acknowledged write must be there exactly as acknowledged (see WriteTracker for what a write in
 * flight at the kill may have left).
 */

const ROUNDS = 5;
const WORKERS = 16;

forEachDatabase(
  'crash: SIGKILL under load, restart, every acknowledged write intact',
  (dialect: DialectName) => {
    const { fresh, acct } = useDatabase(dialect, 'Crash shop');

    test(`${ROUNDS} rounds of ${WORKERS} concurrent writers, killed at random moments`, async (t) => {
      const writes = new WriteTracker();
      const killedAfterMs: number[] = [];

      async function worker(server: ServerProcess, w: number, stopped: () => boolean): Promise<void> {
        while (!stopped()) {
          const write = writes.next(w);
          const outcome = await send(server.url, acct.test, write);
          writes.record(w, write, outcome);
          // The process died with this request in flight (or before it was sent): this worker is done.
          if (outcome === 'no answer') return;
        }
      }

      const env = { LUNIPAY_DATABASE_URL: fresh.url };
      for (let round = 0; round < ROUNDS; round++) {
        const server = await startServer(env);
        await writes.verify(retrieveFrom(server.url, acct.test));
        let stopped = false;
        const load = Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(server, w, () => stopped)));
        // A random moment: early in a round the pool is cold, later it is busy with updates.
        const delay = 200 + Math.floor(Math.random() * 1200);
        killedAfterMs.push(delay);
        await sleep(delay);
        process.kill(server.pid, 'SIGKILL');
        stopped = true;
        await load;
        assert.equal((await server.exited).signal, 'SIGKILL');
      }

      // The last round's writes, through one more restart; then the rows themselves.
      const server = await startServer(env);
      try {
        await writes.verify(retrieveFrom(server.url, acct.test));
      } finally {
        await server.kill('SIGTERM');
      }
      const rows = await fresh.db.kysely
        .selectFrom('customers')
        .select(['id', 'email'])
        .where('email', 'like', writes.emailPattern)
        .execute();
      const strays = writes.checkRows(rows);
      assert.ok(writes.stats.unanswered > 0, 'some writes were in flight at the kills');
      assert.ok(writes.stats.creates > 0 && writes.stats.updates > 0);

      t.diagnostic(
        `${dialect}: ${ROUNDS} SIGKILLs (after ${killedAfterMs.join(', ')} ms of load); ${writes.summary()}; ` +
          `unanswered creates that committed: ${strays} of ${writes.unackedCreates.size}; no loss, no duplicate`,
      );
    });
  },
);
