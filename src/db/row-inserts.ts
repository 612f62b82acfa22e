import { CompiledQuery, type Insertable, type QueryCreator, type Transaction } from 'kysely';
import { onPostgres } from './dialect.js';
import type { HeldWrites } from './held-writes.js';
import type { Database } from './schema.js';

/**
 * Multi-row INSERTs of one table and a fixed list of columns, built by Kysely once per row count
 * and dialect and then run with each batch's values. Kysely's builder makes, freezes and visits a
 * node per value: at a dozen columns a row, building the statement cost about as much as SQLite
 * took to insert the row. The text of an insert of n rows never changes, so it is built once,
 * from placeholder rows, and each batch only lays out its parameters in the same order.
 *
 * Rows go in statements of `maxRows`, then of half as many, and so on down to 1: a handful of
 * distinct texts, each prepared once. Every row must give every column (null, not undefined).
 */
export class RowInserter<T extends keyof Database, Row extends Insertable<Database[T]>> {
  /** Statement texts by dialect adapter and row count. */
  private readonly texts = new WeakMap<object, Map<number, string>>();
  /** PostgreSQL statement texts of `insertWith`, by companion table and row count. */
  private readonly paired = new Map<string, string>();
  private readonly columns: readonly string[];

  /**
   * `columns` names every column of `Row` (a record, so that the compiler says when a column
   * is added to the table and not here); they are inserted in that order.
   */
  constructor(
    readonly table: T,
    columns: Record<keyof Row & string, true>,
    private readonly maxRows: number,
  ) {
    this.columns = Object.keys(columns);
  }

  async insert(trx: Transaction<Database>, rows: readonly Row[], maxRows = this.maxRows): Promise<void> {
    for (const { sql, parameters } of this.statements(trx, rows, maxRows)) {
      await trx.executeQuery(CompiledQuery.raw(sql, parameters));
    }
  }

  /** The statements `insert` would run, handed to `held` to ride on a later one (PostgreSQL). */
  hold(trx: Transaction<Database>, rows: readonly Row[], held: HeldWrites, maxRows = this.maxRows): void {
    for (const { sql, parameters } of this.statements(trx, rows, maxRows)) held.hold(sql, parameters);
  }

  /** The chunks of `rows`, each as its statement's text and parameters. */
  private *statements(
    trx: Transaction<Database>,
    rows: readonly Row[],
    maxRows: number,
  ): Generator<{ sql: string; parameters: unknown[] }> {
    for (let i = 0; i < rows.length; ) {
      const size = chunk(maxRows, rows.length - i);
      const parameters: unknown[] = [];
      this.lay(rows, i, size, parameters);
      yield { sql: this.text(trx, size), parameters };
      i += size;
    }
  }

  /**
   * Inserts `rows` and, row for row, `companions` into another table. On PostgreSQL each chunk is
   * one statement (the companion insert as a data-modifying WITH), so the pair costs one round
   * trip; on SQLite, in-process, two statements cost no more.
   */
  async insertWith<C extends keyof Database, CRow extends Insertable<Database[C]>>(
    trx: Transaction<Database>,
    rows: readonly Row[],
    companion: RowInserter<C, CRow>,
    companions: readonly CRow[],
    maxRows = this.maxRows,
  ): Promise<void> {
    if (!onPostgres(trx)) {
      await this.insert(trx, rows, maxRows);
      await companion.insert(trx, companions, maxRows);
      return;
    }
    for (let i = 0; i < rows.length; ) {
      const size = chunk(maxRows, rows.length - i);
      const parameters: unknown[] = [];
      companion.lay(companions, i, size, parameters);
      this.lay(rows, i, size, parameters);
      const key = `with ${companion.table}:${size}`;
      let text = this.paired.get(key);
      if (text === undefined) {
        const inner = companion.builder(trx, size);
        const creator = trx.with('companion', () => inner) as unknown as QueryCreator<Database>;
        text = this.builder(creator, size).compile().sql as string;
        this.paired.set(key, text);
      }
      await trx.executeQuery(CompiledQuery.raw(text, parameters));
      i += size;
    }
  }

  /** Appends the parameters of rows i … i+size−1, column by column, in the statement's order. */
  private lay(rows: readonly Row[], i: number, size: number, parameters: unknown[]): void {
    for (let r = i; r < i + size; r++) {
      const row = rows[r] as Record<string, unknown>;
      for (const column of this.columns) {
        const value = row[column];
        if (value === undefined) throw new Error(`${this.table}.${column} is missing from a row to insert`);
        parameters.push(value);
      }
    }
  }

  private text(trx: Transaction<Database>, size: number): string {
    // The dialect is told by its adapter (one object per open database), so nothing is built
    // for a statement already made.
    const adapter = trx.getExecutor().adapter;
    let bySize = this.texts.get(adapter);
    if (bySize === undefined) {
      bySize = new Map();
      this.texts.set(adapter, bySize);
    }
    let text = bySize.get(size);
    if (text === undefined) {
      text = this.builder(trx, size).compile().sql as string;
      bySize.set(size, text);
    }
    return text;
  }

  // biome-ignore lint/suspicious/noExplicitAny: the table is generic; the columns are checked above
  private builder(creator: QueryCreator<Database>, size: number): any {
    const placeholder = Object.fromEntries(this.columns.map((c) => [c, null]));
    const rows = Array.from({ length: size }, () => placeholder);
    // biome-ignore lint/suspicious/noExplicitAny: as above
    return (creator.insertInto(this.table) as any).values(rows);
  }
}

/** The largest power-of-two fraction of `max` that `left` rows fill. */
function chunk(max: number, left: number): number {
  let size = max;
  while (size > left) size = Math.floor(size / 2);
  return size;
}
