import type { OperandValueExpressionOrList, SelectQueryBuilder } from 'kysely';
import type { Database } from './schema.js';

// Keyset pagination on the primary key, for the lists of the API (customers, events, webhook
// endpoints). Ids begin with the time they were made, so ordering by id is ordering by creation,
// and `id < cursor` finds the next page from the index alone, however deep the page.

/** The tables whose string `id` orders their rows by creation. */
type Keyed = { [T in keyof Database]: Database[T] extends { id: string } ? T : never }[keyof Database];
/** The tables whose rows also say when they were made, in unix seconds. */
type Dated = {
  [T in keyof Database]: Database[T] extends { id: string; created: number } ? T : never;
}[keyof Database];

export interface KeysetPage {
  limit: number;
  /** Exclusive: the page starts past this id. */
  cursor?: string;
  /** `older`: `id < cursor`, newest first; `newer`: `id > cursor`, oldest first. */
  direction: 'older' | 'newer';
}

export interface CreatedRange {
  eq?: number;
  gt?: number;
  gte?: number;
  lt?: number;
  lte?: number;
}

/**
 * One page in walking order: `limit + 1` rows, so the caller can tell whether more exist without
 * a second query. `query` is the table's filtered select; this adds the cursor, order and limit.
 */
export function keysetPage(page: KeysetPage) {
  const older = page.direction === 'older';
  return <T extends Keyed, O>(query: SelectQueryBuilder<Database, T, O>) =>
    (page.cursor === undefined
      ? query
      : query.where('id', older ? '<' : '>', page.cursor as OperandValueExpressionOrList<Database, T, 'id'>)
    )
      .orderBy('id', older ? 'desc' : 'asc')
      .limit(page.limit + 1);
}

/** `created` exactly, or within the bounds given (each optional, all combined). */
export function createdWithin(range: CreatedRange | undefined) {
  return <T extends Dated, O>(query: SelectQueryBuilder<Database, T, O>) => {
    // The table is not known here, so TypeScript cannot tell its `created` is a number: said once.
    const at = (seconds: number) => seconds as OperandValueExpressionOrList<Database, T, 'created'>;
    let q = query;
    if (range?.eq !== undefined) q = q.where('created', '=', at(range.eq));
    if (range?.gt !== undefined) q = q.where('created', '>', at(range.gt));
    if (range?.gte !== undefined) q = q.where('created', '>=', at(range.gte));
    if (range?.lt !== undefined) q = q.where('created', '<', at(range.lt));
    if (range?.lte !== undefined) q = q.where('created', '<=', at(range.lte));
    return q;
  };
}
