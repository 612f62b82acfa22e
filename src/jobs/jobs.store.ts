import type { ExpressionBuilder, Kysely, Selectable, Transaction, Updateable } from 'kysely';
import { RowInserter } from '../db/row-inserts.js';
import type { Database, JobState, JobsTable } from '../db/schema.js';

export type { JobState } from '../db/schema.js';
export type JobRow = Selectable<JobsTable>;
export type NewJob = Omit<JobsTable, 'seq' | 'attempts'>;

/** What a job says of itself when it is made; the rest is what no attempt has filled in yet. */
export type JobSpec = Pick<
  NewJob,
  | 'id'
  | 'type'
  | 'customer_id'
  | 'account_id'
  | 'mode'
  | 'payload'
  | 'ordering_key'
  | 'event_id'
  | 'endpoint_id'
>;

/** A job queued to run from `at`, never attempted. */
export function queuedJob(spec: JobSpec, at: number): NewJob {
  return {
    ...spec,
    state: 'queued',
    run_at: at,
    locked_by: null,
    locked_until: null,
    first_attempt_at: null,
    attempted_at: null,
    last_error: null,
    last_error_at: null,
    note: null,
    created: at,
    finished_at: null,
  };
}

/** States that hold back the same customer's later jobs: per-customer order survives failures. */
export const UNFINISHED: readonly JobState[] = ['queued', 'running', 'failed', 'dead'];

/**
 * Which jobs one set of worker loops claims: its types, and the states of an earlier job of the
 * same ordering key that hold a job back. A key only ever holds jobs of one lane, so the rule is
 * the lane's: Stripe's failed and dead jobs block (a customer's Stripe state must not be changed
 * out of order), while a delivery that has finally failed lets the next one go (spec: "succeeded
 * or finally failed").
 */
export interface Lane {
  types: readonly string[];
  blocking: readonly JobState[];
  /**
   * Whether its claims and results commit through the requests' group commit (`Db.write`)
   * rather than in transactions of their own. A lane of many short jobs would otherwise commit
   * twice per job, and on SQLite each commit is an fsync that the requests' writes queue behind.
   */
  sharesCommits: boolean;
}

type Q = Kysely<Database> | Transaction<Database>;

export async function insertJob(db: Q, job: NewJob): Promise<void> {
  await db.insertInto('jobs').values(job).execute();
}

/** `lock` (`Db.locksRows`) holds the rows until the transaction ends, so no worker claims them meanwhile. */
export async function unfinishedJobsOf(db: Q, customerId: string, lock: boolean): Promise<JobRow[]> {
  const query = db
    .selectFrom('jobs')
    .selectAll()
    .where('ordering_key', '=', customerId)
    .where('state', 'in', UNFINISHED)
    .orderBy('seq');
  return (lock ? query.forUpdate() : query).execute();
}

/** No earlier job of the same ordering key is in one of the lane's blocking states. */
function unblocked(lane: Lane) {
  return (eb: ExpressionBuilder<Database & { j: JobsTable }, 'j'>) =>
    eb.not(
      eb.exists(
        eb
          .selectFrom('jobs as e')
          .select('e.seq')
          .whereRef('e.ordering_key', '=', 'j.ordering_key')
          .whereRef('e.seq', '<', 'j.seq')
          .where('e.state', 'in', lane.blocking),
      ),
    );
}

/**
 * The next job to run: first a running job whose lease ran out (its worker is gone), then the
 * queued job that has been due longest, provided no earlier job of its ordering key holds it
 * back. With `lock` (`Db.locksRows`) the rows are locked, and rows other workers hold are skipped.
 *
 * Each query is shaped so that the database walks an index in the order it wants and stops at
 * the first row that qualifies, however long the queue: running jobs are few (one per worker
 * loop), and queued ones are found through the index (type, state, run_at, seq), one walk per type
 * of the lane. A single query with an OR over the two states made SQLite
 * gather and sort every due job on each claim, which cost milliseconds per claim once a few
 * thousand deliveries were waiting.
 */
export async function findClaimable(
  db: Q,
  now: number,
  lock: boolean,
  lane: Lane,
): Promise<JobRow | undefined> {
  const locked = <T extends { forUpdate(): { skipLocked(): T } }>(query: T): T =>
    lock ? query.forUpdate().skipLocked() : query;
  const stale = await locked(
    db
      .selectFrom('jobs as j')
      .selectAll('j')
      .where('j.state', '=', 'running')
      .where('j.type', 'in', lane.types)
      .where('j.locked_until', '<=', now)
      .where(unblocked(lane))
      .orderBy('j.seq')
      .limit(1),
  ).executeTakeFirst();
  if (stale) return stale;
  let best: JobRow | undefined;
  for (const type of lane.types) {
    const due = await locked(
      db
        .selectFrom('jobs as j')
        .selectAll('j')
        .where('j.type', '=', type)
        .where('j.state', '=', 'queued')
        .where('j.run_at', '<=', now)
        .where(unblocked(lane))
        .orderBy('j.run_at')
        .orderBy('j.seq')
        .limit(1),
    ).executeTakeFirst();
    if (due && (!best || due.run_at < best.run_at || (due.run_at === best.run_at && due.seq < best.seq))) {
      best = due;
    }
  }
  return best;
}

const jobRows = new RowInserter<'jobs', NewJob>(
  'jobs',
  {
    id: true,
    type: true,
    customer_id: true,
    account_id: true,
    mode: true,
    payload: true,
    state: true,
    run_at: true,
    locked_by: true,
    locked_until: true,
    first_attempt_at: true,
    attempted_at: true,
    last_error: true,
    last_error_at: true,
    note: true,
    created: true,
    finished_at: true,
    ordering_key: true,
    event_id: true,
    endpoint_id: true,
  },
  256,
);

/** Jobs to insert at once, in multi-row statements that stay within the parameter limits. */
export async function insertJobs(db: Transaction<Database>, jobs: readonly NewJob[]): Promise<void> {
  await jobRows.insert(db, jobs);
}

/** Takes the job if it is still as `seen`: false when another worker got there first. */
export async function markRunning(
  db: Q,
  seen: JobRow,
  claim: { now: number; workerId: string; leaseUntil: number },
): Promise<boolean> {
  const result = await db
    .updateTable('jobs')
    .set((eb) => ({
      state: 'running',
      attempts: seen.attempts + 1,
      locked_by: claim.workerId,
      locked_until: claim.leaseUntil,
      attempted_at: claim.now,
      first_attempt_at: eb.fn.coalesce('first_attempt_at', eb.val(claim.now)),
    }))
    .where('seq', '=', seen.seq)
    .where('state', '=', seen.state)
    .where('attempts', '=', seen.attempts)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export type JobEnd = Pick<
  Updateable<JobsTable>,
  | 'state'
  | 'run_at'
  | 'payload'
  | 'last_error'
  | 'last_error_at'
  | 'note'
  | 'finished_at'
  | 'attempts'
  | 'attempted_at'
>;

/**
 * Records how an attempt ended, only if this worker still holds the job (same claimant and
 * attempt): a worker whose lease ran out must not overwrite the attempt that replaced it.
 */
export async function endAttempt(
  db: Q,
  held: { seq: number; attempts: number; workerId: string },
  end: JobEnd,
): Promise<boolean> {
  const result = await db
    .updateTable('jobs')
    .set({ ...end, locked_by: null, locked_until: null })
    .where('seq', '=', held.seq)
    .where('state', '=', 'running')
    .where('attempts', '=', held.attempts)
    .where('locked_by', '=', held.workerId)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Changes jobs that are not running; running ones belong to a worker. */
export async function setJobs(db: Q, seqs: readonly number[], change: JobEnd): Promise<void> {
  if (seqs.length === 0) return;
  await db.updateTable('jobs').set(change).where('seq', 'in', seqs).where('state', '!=', 'running').execute();
}

export async function findJob(db: Q, id: string): Promise<JobRow | undefined> {
  return db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Counts, oldest and errors of the jobs of `types` only (the Stripe jobs, say, not mail). */
export async function countByState(db: Q, types: readonly string[]): Promise<Map<JobState, number>> {
  const rows = await db
    .selectFrom('jobs')
    .select(['state', (eb) => eb.fn.countAll<number>().as('n')])
    .where('type', 'in', types)
    .where('state', 'in', UNFINISHED)
    .groupBy('state')
    .execute();
  return new Map(rows.map((r) => [r.state, Number(r.n)]));
}

export async function oldestPendingCreated(db: Q, types: readonly string[]): Promise<number | null> {
  const row = await db
    .selectFrom('jobs')
    .select((eb) => eb.fn.min('created').as('oldest'))
    .where('type', 'in', types)
    .where('state', 'in', ['queued', 'running'])
    .executeTakeFirst();
  return row?.oldest == null ? null : Number(row.oldest);
}

/** The most recent errors of jobs that have not succeeded. */
export async function recentErrors(db: Q, types: readonly string[], limit: number): Promise<JobRow[]> {
  return db
    .selectFrom('jobs')
    .selectAll()
    .where('last_error', 'is not', null)
    .where('type', 'in', types)
    .where('state', 'in', UNFINISHED)
    .orderBy('last_error_at', 'desc')
    .orderBy('seq', 'desc')
    .limit(limit)
    .execute();
}

/** Forgets finished jobs older than `before`; unfinished ones are kept however old. */
export async function pruneFinished(db: Q, before: number): Promise<number> {
  const result = await db
    .deleteFrom('jobs')
    .where('state', 'in', ['succeeded', 'cancelled'])
    .where('finished_at', '<', before)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
