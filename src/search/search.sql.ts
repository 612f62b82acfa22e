import { type RawBuilder, type SqlBool, sql } from 'kysely';
import type { DatabaseConfig } from '../config.js';
import { isWindowed, windowsArray, windowsColumn } from '../db/migrations.search-windows.js';
import { digitWindows, fold } from '../db/search-row.js';
import type { Clause, SearchQuery, StringField } from './search.query.js';

// A parsed query as SQL, for either dialect. Every clause is evaluated exactly against the
// folded columns of `customer_search` (alias `s`) and `customers.created` (alias `c`): substring
// by position (`instr`, `strpos`), never by LIKE, so `_` and `%` are literal and so is any
// character. The trigram indexes only narrow the candidates; these predicates decide.

type Dialect = DatabaseConfig['dialect'];
type Predicate = RawBuilder<SqlBool>;

/** Which trigram index serves a field: first and last names are found inside `name`. */
const TRIGRAM_COLUMN: Record<StringField, 'email' | 'name' | 'phone' | 'company_name'> = {
  email: 'email',
  name: 'name',
  first_name: 'name',
  last_name: 'name',
  phone: 'phone',
  company_name: 'company_name',
};

/** The folded value a clause looks at: null when the field is null or the metadata key absent. */
function fieldValue(
  clause: Clause & { field: { kind: 'string' | 'metadata' } },
  dialect: Dialect,
): RawBuilder<unknown> {
  if (clause.field.kind === 'string') return sql.ref(`s.${clause.field.name}`);
  const key = clause.field.key;
  return dialect === 'sqlite'
    ? sql`(select value from json_each(s.metadata) where key = ${key})`
    : sql`(s.metadata::jsonb ->> ${key})`;
}

function contains(value: RawBuilder<unknown>, term: string, dialect: Dialect): Predicate {
  return dialect === 'sqlite' ? sql`instr(${value}, ${term}) > 0` : sql`strpos(${value}, ${term}) > 0`;
}

const COMPARISONS = { ':': '=', '>': '>', '>=': '>=', '<': '<', '<=': '<=' } as const;

/**
 * One clause, exactly. A clause about a null field is false (not unknown), so that its negation
 * is true: `-phone~"555"` finds the customers without a phone too.
 */
export function clausePredicate(clause: Clause, dialect: Dialect): Predicate {
  let predicate: Predicate;
  if (clause.field.kind === 'created') {
    predicate = sql`c.created ${sql.raw(COMPARISONS[clause.op as keyof typeof COMPARISONS])} ${clause.value}`;
  } else {
    const value = fieldValue(clause as Clause & { field: { kind: 'string' | 'metadata' } }, dialect);
    if (clause.value === null) predicate = sql`${value} is null`;
    else {
      const term = fold(clause.value as string);
      predicate =
        clause.op === '~'
          ? sql`(${value} is not null and ${contains(value, term, dialect)})`
          : sql`(${value} is not null and ${value} = ${term})`;
    }
  }
  return clause.negated ? sql`not (${predicate})` : predicate;
}

/** The whole query: its clauses joined as it says. */
export function queryPredicate(query: SearchQuery, dialect: Dialect): Predicate {
  const parts = query.clauses.map((clause) => clausePredicate(clause, dialect));
  return sql`(${sql.join(parts, sql.raw(query.join === 'and' ? ' and ' : ' or '))})`;
}

/** A clause a trigram index can answer: a positive match of a text field's value. */
export interface IndexedTerm {
  column: (typeof TRIGRAM_COLUMN)[StringField];
  term: string;
}

/**
 * Whether a term gives the index something to look up. FTS5's trigram tokenizer indexes every
 * three characters; pg_trgm only letters and digits, and a pattern without three of them in a
 * row would make it read its whole index.
 */
function lookupable(term: string, column: IndexedTerm['column'], dialect: Dialect): boolean {
  if (isWindowed(column) && digitWindows(term).length > 0) return true;
  return dialect === 'sqlite' ? Array.from(term).length >= 3 : /[\p{L}\p{N}]{3}/u.test(term);
}

function indexedTerm(clause: Clause, dialect: Dialect): IndexedTerm | undefined {
  if (clause.negated || clause.field.kind !== 'string' || typeof clause.value !== 'string') return undefined;
  const term = fold(clause.value);
  const column = TRIGRAM_COLUMN[clause.field.name];
  return lookupable(term, column, dialect) ? { column, term } : undefined;
}

/**
 * The windows of six digits a phone or email term is looked up by, in its column's windows'
 * index (search-row.ts digitWindows): under `few` its first, middle and last, under `all` every
 * one. None for a term of fewer than six digits, or of another column: its trigrams answer it.
 * Any one window leaves a handful of candidates at a million customers; three leave about one.
 */
export function termWindows(column: IndexedTerm['column'], term: string, narrowing: Narrowing): string[] {
  if (!isWindowed(column)) return [];
  const windows = digitWindows(term);
  if (narrowing === 'all' || windows.length <= 3) return windows;
  const at = [0, Math.floor((windows.length - 1) / 2), windows.length - 1];
  return at.map((i) => windows[i] as string);
}

/**
 * The terms whose index matches hold every answer: for an AND query, those of its clauses the
 * index can answer (all must hold, so any of them narrows); for an OR query, all of its clauses
 * or none (a clause the index cannot answer could match anything).
 */
export function indexedTerms(
  query: SearchQuery,
  dialect: Dialect,
): { join: 'and' | 'or'; terms: IndexedTerm[] } {
  const terms = query.clauses.map((clause) => indexedTerm(clause, dialect));
  const usable = terms.filter((t): t is IndexedTerm => t !== undefined);
  if (query.join === 'or' && usable.length < terms.length) return { join: 'or', terms: [] };
  return { join: query.join, terms: usable };
}

/**
 * How much of a term the index is asked about. `few`: a handful of its trigrams, spread over it
 * (`sampledTrigrams`); `all`: the whole term. A trigram common to many customers (a digit
 * triple, "+1 ", a frequent first name's letters) has a list of matches as long as a good part
 * of the table, and asking for the whole term makes the index read and merge every such list:
 * the cost grows with the table. A few trigrams narrow nearly as well and read far less; the
 * exact predicates then decide, so the answers are the same. `all` is the fallback when the few
 * leave more candidates than the cap.
 */
export type Narrowing = 'few' | 'all';

/** The trigram of `chars` that starts at `at`: three characters (code points) in a row. */
export const trigramsOf = (chars: readonly string[], at: number): string => chars.slice(at, at + 3).join('');

/**
 * How common a trigram is in an indexed column: the share of its values that hold it, estimated
 * from a sample (search.shares.ts); 0 for one the sample did not see often.
 */
export type ShareOf = (column: IndexedTerm['column'], trigram: string) => number;

/** `shareOf` for the trigrams of one column, as sampledTrigrams takes it. */
export const sharesIn = (shareOf: ShareOf | undefined, column: IndexedTerm['column']) =>
  shareOf && ((trigram: string) => shareOf(column, trigram));

/**
 * A trigram held by at least this share of a column's values is common: its list in the index is
 * long (a fifth of a million for a first name shared by one customer in eight), and reading it
 * narrows little that a rarer trigram of the same term does not narrow already.
 */
export const COMMON_SHARE = 0.02;

/**
 * The trigrams of `term` the index is asked about under `few`: as many as the term has usable
 * among its first, middle and last (up to three), the rarest by `share`, in the term's order.
 * Where the shares do not tell them apart (no sample yet, or all rare), those three themselves.
 * Another trigram of the term takes the place of a common one, and a common one is asked about
 * only while nothing rarer has been picked: its list is long and narrows little that a rare
 * one's does not. SQLite ANDs them in any order, so they may overlap (a term of five characters
 * or more gives three); PostgreSQL's `%a%b%` needs them `apart`, so there a term of six to eight
 * characters gives two, one of nine or more up to three. A shorter term is asked about whole.
 * Every value that contains the term contains them (apart and in this order, when asked), so the
 * index still finds every answer. `usable` keeps a trigram only if the dialect's index has it
 * (pg_trgm indexes letters and digits only); when none of the three is, the whole term is asked
 * about: pg_trgm then takes every trigram of its words, which narrows more than any one would.
 *
 * Three, not fewer: each candidate the index gives costs a lookup of its rows, and with two
 * trigrams of digits a million customers left a hundred candidates to a term that matches one.
 */
export function sampledTrigrams(
  term: string,
  options: { apart: boolean; usable?: (trigram: string) => boolean; share?: (trigram: string) => number },
): string[] {
  const chars = Array.from(term);
  if (chars.length < (options.apart ? 6 : 5)) return [term];
  const last = chars.length - 3;
  const usable = options.usable ?? (() => true);
  const spread = (options.apart && chars.length < 9 ? [0, last] : [0, Math.floor(last / 2), last]).filter(
    (at) => usable(trigramsOf(chars, at)),
  );
  if (spread.length === 0) return [term];
  const share = options.share ?? (() => 0);
  const others = Array.from({ length: last + 1 }, (_, at) => at).filter(
    (at) => !spread.includes(at) && usable(trigramsOf(chars, at)),
  );
  // Rarest first; among equals, the spread positions first, then the rest in order (a stable sort).
  const ranked = [...spread, ...others]
    .map((at) => {
      const trigram = trigramsOf(chars, at);
      return { at, trigram, share: share(trigram) };
    })
    .sort((a, b) => a.share - b.share);
  const picked: typeof ranked = [];
  for (const pick of ranked) {
    if (picked.length === spread.length) break;
    if (pick.share >= COMMON_SHARE && picked.some((p) => p.share < COMMON_SHARE)) break;
    if (options.apart && picked.some((p) => Math.abs(p.at - pick.at) < 3)) continue;
    picked.push(pick);
  }
  return picked.sort((a, b) => a.at - b.at).map((p) => p.trigram);
}

const ftsString = (text: string) => `"${text.replaceAll('"', '""')}"`;

/**
 * SQLite: the FTS5 query for one term, in its column's own table: the whole term as one phrase
 * (`all`), or its sampled trigrams each on its own, ANDed (`few`: a phrase would make FTS5
 * check their positions too, which the exact recheck does anyway).
 */
export function ftsMatch(
  term: string,
  narrowing: Narrowing = 'all',
  share?: (trigram: string) => number,
): string {
  return narrowing === 'all'
    ? ftsString(term)
    : sampledTrigrams(term, { apart: false, share }).map(ftsString).join(' AND ');
}

/** SQLite: the FTS5 query of a phone term's windows, each a token, ANDed. */
export const windowsMatch = (windows: readonly string[]): string => windows.map(ftsString).join(' AND ');

const likeEscape = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);
const PG_INDEXED = /^[\p{L}\p{N}]{3}$/u;

/**
 * PostgreSQL: the same as LIKE patterns on `s`, which pg_trgm's GIN indexes answer, and a phone
 * or email term's windows as an array its windows' GIN index holds (termWindows). `few`: the
 * sampled trigrams in order, `%a%b%`, so pg_trgm looks up those and no others (it takes a
 * pattern's trigrams from each of its fixed fragments); only trigrams of letters and digits,
 * the ones it indexes whole.
 */
export function trigramCondition(
  join: 'and' | 'or',
  terms: readonly IndexedTerm[],
  narrowing: Narrowing = 'all',
  shareOf?: ShareOf,
): Predicate {
  const parts = terms.map(({ column, term }) => {
    const windows = termWindows(column, term, narrowing);
    if (windows.length > 0 && isWindowed(column))
      return sql`${sql.raw(windowsArray(`s.${windowsColumn(column)}`))} @> ${windows}::text[]`;
    const share = sharesIn(shareOf, column);
    const fragments =
      narrowing === 'all'
        ? [term]
        : sampledTrigrams(term, { apart: true, usable: (t) => PG_INDEXED.test(t), share });
    return sql`${sql.ref(`s.${column}`)} like ${`%${fragments.map(likeEscape).join('%')}%`}`;
  });
  return sql`(${sql.join(parts, sql.raw(join === 'and' ? ' and ' : ' or '))})`;
}

/** A positive exact email clause of an AND query: the customers' own email index answers it. */
export function exactEmail(query: SearchQuery): string | undefined {
  if (query.join !== 'and') return undefined;
  for (const clause of query.clauses) {
    if (
      !clause.negated &&
      clause.field.kind === 'string' &&
      clause.field.name === 'email' &&
      clause.op === ':'
    ) {
      if (typeof clause.value === 'string') return fold(clause.value);
    }
  }
  return undefined;
}
