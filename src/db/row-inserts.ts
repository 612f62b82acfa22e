import { CompiledQuery, type Insertable, type Transaction } from 'kysely';
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
  /** Statement texts by dialect (told apart by how a one-row insert compiles) and row count. */
  private readonly texts = new Map<string, string>();
  private readonly columns: readonly string[];

  /**
   * `columns` names every column of `Row` (a record, so that the compiler says when a column
   * is added to the table and not here); they are inserted in that order.
   */
  constructor(
    private readonly table: T,
    columns: Record<keyof Row & string, true>,
    private readonly maxRows: number,
  ) {
    this.columns = Object.keys(columns);
  }

  async insert(trx: Transaction<Database>, rows: readonly Row[], maxRows = this.maxRows): Promise<void> {
    for (let i = 0; i < rows.length; ) {
      let size = maxRows;
      while (size > rows.length - i) size = Math.floor(size / 2);
      const parameters: unknown[] = [];
      for (let r = i; r < i + size; r++) {
        const row = rows[r] as Record<string, unknown>;
        for (const column of this.columns) {
          const value = row[column];
          if (value === undefined) throw new Error(`${this.table}.${column} is missing from a row to insert`);
          parameters.push(value);
        }
      }
      await trx.executeQuery(CompiledQuery.raw(this.text(trx, size), parameters));
      i += size;
    }
  }

  private text(trx: Transaction<Database>, size: number): string {
    // Cheap to build: one row, so it costs a few nodes; it names the dialect's placeholders.
    const dialect = this.build(trx, 1);
    const key = `${size}:${dialect}`;
    let text = this.texts.get(key);
    if (text === undefined) {
      text = size === 1 ? dialect : this.build(trx, size);
      this.texts.set(key, text);
    }
    return text;
  }

  private build(trx: Transaction<Database>, size: number): string {
    const placeholder = Object.fromEntries(this.columns.map((c) => [c, null]));
    const rows = Array.from({ length: size }, () => placeholder);
    // biome-ignore lint/suspicious/noExplicitAny: the table is generic; the columns are checked above
    return (trx.insertInto(this.table) as any).values(rows).compile().sql as string;
  }
}
