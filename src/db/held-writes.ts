import { CompiledQuery, type Transaction } from 'kysely';
import type { Database } from './schema.js';

interface Statement {
  readonly sql: string;
  readonly parameters: readonly unknown[];
}

/** Where a statement given to `take` wants the condition that its held inserts have run. */
export const HELD_DONE = '{held_done}';

/** `sql` with `items` as WITH items in front of its own, if it has any. */
function withItems(sql: string, items: readonly string[]): string {
  const own = /^with\s/i.exec(sql);
  return own ? `with ${items.join(', ')}, ${sql.slice(own[0].length)}` : `with ${items.join(', ')} ${sql}`;
}

/**
 * Inserts held back on PostgreSQL so that they ride on a later statement of their transaction as
 * data-modifying WITHs: there every statement is a round trip, and on a machine where the
 * database shares the cores each one also wakes its backend. A group-commit batch of creates
 * holds its customer and search rows, and the statement that numbers the batch's events takes
 * them (events.store.ts): BEGIN, one statement, COMMIT.
 *
 * What may be held: plain INSERTs whose result no one reads, of texts built from placeholders
 * alone (RowInserter's), so that their `$n` can be renumbered. What a held insert writes is not
 * there for the statements run before it is taken or released, so only a writer that knows
 * nothing after it in the phase reads those rows may hold: group commit gives one of these to
 * each phase's flushes and releases what is left before the phase ends.
 */
export class HeldWrites {
  private held: Statement[] = [];

  hold(sql: string, parameters: readonly unknown[]): void {
    this.held.push({ sql, parameters });
  }

  get empty(): boolean {
    return this.held.length === 0;
  }

  /**
   * `statement` with every held insert in front of it as a WITH item, their parameters after its
   * own; nothing is held afterwards. The held inserts run to completion with the statement (a
   * data-modifying WITH always does, read or not), in its snapshot: the statement must not read
   * what they write.
   *
   * When they run is PostgreSQL's choice: a WITH item no one reads runs after the rest of the
   * statement. A statement whose text has HELD_DONE gets there a condition that is true and can
   * only be evaluated once every held insert has run; what it guards comes after them. (The
   * events' numbering uses it so that the counter's lock is taken after the batch's customer and
   * search inserts, not held while they run.) With nothing held, the condition is `true`.
   */
  take(statement: Statement): CompiledQuery {
    const done = statement.sql.includes(HELD_DONE);
    if (this.held.length === 0) {
      const sql = done ? statement.sql.replace(HELD_DONE, 'true') : statement.sql;
      return CompiledQuery.raw(sql, [...statement.parameters]);
    }
    const parameters = [...statement.parameters];
    const items: string[] = [];
    for (const [i, held] of this.held.entries()) {
      const text = renumbered(held.sql, parameters.length);
      items.push(`held_${i} as (${done ? `${text} returning 1` : text})`);
      parameters.push(...held.parameters);
    }
    const counts = this.held.map((_, i) => `(select count(*) from held_${i})`).join(' + ');
    this.held = [];
    const sql = withItems(done ? statement.sql.replace(HELD_DONE, `${counts} >= 0`) : statement.sql, items);
    return CompiledQuery.raw(sql, parameters);
  }

  /** Runs whatever is still held, as one statement. */
  async release(trx: Transaction<Database>): Promise<void> {
    if (this.held.length === 0) return;
    const query =
      this.held.length === 1
        ? CompiledQuery.raw((this.held[0] as Statement).sql, [...(this.held[0] as Statement).parameters])
        : this.take({ sql: 'select 1', parameters: [] });
    this.held = [];
    await trx.executeQuery(query);
  }
}

/**
 * How many renumbered texts are kept. The texts held are RowInserter's, a handful per table, and
 * the offsets they are taken at follow from the batch's make-up (how many rows of each kind came
 * before), so under a steady load the same few pairs recur; the bound only caps a surprise, at a
 * few megabytes of the longest texts.
 */
const RENUMBERED_LIMIT = 256;
const renumberedTexts = new Map<string, Map<number, string>>();
let renumberedCount = 0;

/**
 * `sql` with each `$n` made `$(n + offset)`: sound for texts of placeholders alone (see above).
 * Kept once made: a pass over the longest text (64 rows of 14 columns) takes tens of
 * microseconds, and a batch of creates renumbers several such texts.
 */
function renumbered(sql: string, offset: number): string {
  if (offset === 0) return sql;
  let byOffset = renumberedTexts.get(sql);
  const kept = byOffset?.get(offset);
  if (kept !== undefined) return kept;
  const text = sql.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`);
  if (renumberedCount >= RENUMBERED_LIMIT) {
    renumberedTexts.clear();
    renumberedCount = 0;
    byOffset = undefined;
  }
  if (byOffset === undefined) {
    byOffset = new Map();
    renumberedTexts.set(sql, byOffset);
  }
  byOffset.set(offset, text);
  renumberedCount++;
  return text;
}
