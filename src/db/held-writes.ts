import { CompiledQuery, type Transaction } from 'kysely';
import type { Database } from './schema.js';

interface Statement {
  readonly sql: string;
  readonly parameters: readonly unknown[];
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
   */
  take(statement: Statement): CompiledQuery {
    if (this.held.length === 0) return CompiledQuery.raw(statement.sql, [...statement.parameters]);
    const parameters = [...statement.parameters];
    const items: string[] = [];
    for (const [i, held] of this.held.entries()) {
      items.push(`held_${i} as (${renumbered(held.sql, parameters.length)})`);
      parameters.push(...held.parameters);
    }
    this.held = [];
    const own = /^with\s/i.exec(statement.sql);
    const sql = own
      ? `with ${items.join(', ')}, ${statement.sql.slice(own[0].length)}`
      : `with ${items.join(', ')} ${statement.sql}`;
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
