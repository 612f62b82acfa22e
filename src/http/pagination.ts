import { type Static, type TProperties, type TSchema, Type } from '@sinclair/typebox';
import type { CreatedRange as CreatedFilter, KeysetPage } from '../db/keyset.js';
import { AppError } from '../errors.js';
import { type IdPrefix, isId } from '../ids.js';

// The rules every list of the API shares (customers, events, webhook endpoints): the query
// parameters, what they may be combined with, and how a page of rows is shown. The SQL is in
// db/keyset.ts.

const PAGE_SIZE = { min: 1, max: 100, default: 10 };

/** `limit`, `starting_after` and `ending_before`, described for one resource. */
export function pageParams(anId: string, items: string) {
  return {
    limit: Type.Optional(
      Type.Integer({
        minimum: PAGE_SIZE.min,
        maximum: PAGE_SIZE.max,
        default: PAGE_SIZE.default,
        description: `Page size, ${PAGE_SIZE.min}–${PAGE_SIZE.max}.`,
      }),
    ),
    starting_after: Type.Optional(
      Type.String({ maxLength: 64, description: `${anId}: the page of ${items} older than it.` }),
    ),
    ending_before: Type.Optional(
      Type.String({ maxLength: 64, description: `${anId}: the page of ${items} just newer than it.` }),
    ),
  };
}

/** A list route's query: the page parameters, then the resource's own filters; nothing else. */
export function ListQuery<F extends TProperties>(anId: string, items: string, filters: F) {
  return Type.Object({ ...pageParams(anId, items), ...filters }, { additionalProperties: false });
}

export const CreatedRange = Type.Object(
  {
    gt: Type.Optional(Type.Integer({ description: 'Created after this unix time.' })),
    gte: Type.Optional(Type.Integer({ description: 'Created at or after this unix time.' })),
    lt: Type.Optional(Type.Integer({ description: 'Created before this unix time.' })),
    lte: Type.Optional(Type.Integer({ description: 'Created at or before this unix time.' })),
  },
  { additionalProperties: false },
);

/** The `created` parameter: an exact unix time, or a range of them. */
export function createdParam() {
  return Type.Optional(
    Type.Unsafe<number | Static<typeof CreatedRange>>({
      type: ['integer', 'object'],
      properties: CreatedRange.properties,
      additionalProperties: false,
      description:
        'Exact unix time, or a range with `created[gt]`, `created[gte]`, `created[lt]`, `created[lte]`.',
    }),
  );
}

/** What the store filters on for a `created` parameter. */
export function createdRange(
  created: number | Static<typeof CreatedRange> | undefined,
): CreatedFilter | undefined {
  return typeof created === 'number' ? { eq: created } : created;
}

export interface PageQuery {
  limit?: number;
  starting_after?: string;
  ending_before?: string;
}

/** A page walks one way from one cursor. */
export function assertOneCursor(query: PageQuery): void {
  if (query.starting_after !== undefined && query.ending_before !== undefined) {
    throw new AppError('parameters_exclusive', 'Only one of starting_after and ending_before may be given.');
  }
}

/**
 * The page a list query asks for. A cursor must be an id of the listed resource (`prefix`,
 * named `anId` in the error): anything else is a 400, not an empty page.
 */
export function pageOf(query: PageQuery, prefix: IdPrefix, anId: string): KeysetPage {
  assertOneCursor(query);
  const newer = query.ending_before !== undefined;
  const param = newer ? 'ending_before' : 'starting_after';
  const cursor = query[param];
  if (cursor !== undefined && !isId(prefix, cursor)) {
    throw new AppError('parameter_invalid', `Invalid ${param}: '${cursor}' is not ${anId}.`, param);
  }
  return { limit: query.limit ?? PAGE_SIZE.default, cursor, direction: newer ? 'newer' : 'older' };
}

/**
 * The rows to show of the `limit + 1` the store fetched, and whether more exist. Walking newer,
 * rows come oldest first; every page is shown newest first.
 */
export function shown<R>(rows: R[], page: KeysetPage): { rows: R[]; has_more: boolean } {
  const shownRows = rows.slice(0, page.limit);
  if (page.direction === 'newer') shownRows.reverse();
  return { rows: shownRows, has_more: rows.length > page.limit };
}

/** The list object a list route answers with: one page of `item`s, newest first. */
export function ListOf<T extends TSchema, U extends string>(
  item: T,
  url: U,
  options: { title: string; hasMore: string; example: unknown },
) {
  return Type.Object(
    {
      object: Type.Literal('list'),
      url: Type.Literal(url),
      has_more: Type.Boolean({ description: options.hasMore }),
      data: Type.Array(Type.Ref(item)),
    },
    {
      $id: options.title,
      title: options.title,
      additionalProperties: false,
      examples: [{ object: 'list', url, has_more: false, data: [options.example] }],
    },
  );
}
