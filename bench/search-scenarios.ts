import { seededPerson } from './seed.js';
import type { Template } from './wrk.js';

/**
 * The search part of `npm run bench`, by name, for `--scenario`: the three searches
 * (`search_email`, `search_name`, `search_phone`), the write cost of the search index
 * (`search_write_cost`) and the export of the whole table (`export`). `--scenario search` runs all
 * of them.
 */
export const SEARCHES = ['search_email', 'search_name', 'search_phone'] as const;
export const SEARCH_PART = [...SEARCHES, 'search_write_cost', 'export'] as const;
export type SearchName = (typeof SEARCHES)[number];
export type SearchPartName = (typeof SEARCH_PART)[number];

/** The parts `--scenario` asks for (all when it names none, or names `search`). */
export function wantedSearchPart(wanted: readonly string[] | undefined): Set<SearchPartName> {
  if (wanted === undefined || wanted.includes('search')) return new Set(SEARCH_PART);
  return new Set(SEARCH_PART.filter((name) => wanted.includes(name)));
}

/** Seeded customers each search looks for, spread evenly over the table. */
const TARGETS = 64;

export const SEARCH_DESCRIPTIONS: Record<SearchName, string> = {
  search_email: 'email~".NNNNNNN@": the seven digits of one seeded email between its dot and its @; 1 match',
  search_name: 'name~"First Lastname": one seeded full name (8 first names shared by all); 1 match',
  search_phone: 'phone~"DDDDDDD": the last 7 digits of one seeded phone; 1 match, rarely 2',
};

/** What each search asks about seeded customer `i`: a part only that customer (or few others) has. */
const TERMS: Record<SearchName, (i: number) => string> = {
  search_email: (i) => `email~".${seededPerson(i).email.split(/[.@]/)[1]}@"`,
  search_name: (i) => {
    const p = seededPerson(i);
    return `name~"${p.firstName} ${p.lastName}"`;
  },
  search_phone: (i) => `phone~"${seededPerson(i).phone.slice(-7)}"`,
};

/**
 * A search's requests at a table of `count` seeded customers: one fixed request per target
 * customer, chosen at random with equal weights, so that the database's cache holds no single
 * answer.
 */
export function searchTemplates(name: SearchName, secret: string, count: number): Template[] {
  const targets = Math.min(TARGETS, count);
  return Array.from({ length: targets }, (_, k) => {
    const i = Math.floor(((k + 0.5) * count) / targets);
    return {
      weight: 1,
      method: 'GET',
      path: `/v1/customers/search?limit=10&query=${encodeURIComponent(TERMS[name](i))}`,
      headers: { Authorization: `Bearer ${secret}` },
    };
  });
}
