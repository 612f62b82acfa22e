import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { Customer } from '../customers/customers.schema.js';
import { createdParam } from '../http/pagination.js';
import { NO_NUL } from '../http/schemas.js';
import { MAX_CLAUSES, MIN_SUBSTRING } from './search.query.js';

const PAGE_SIZE = { min: 1, max: 100, default: 10 };
export const QUERY_MAX_LENGTH = 2000;

const QUERY_DESCRIPTION = [
  "Stripe's search query language over the customer's fields.",
  '`field:"value"` matches the whole value and `field~"value"` a substring (at least',
  `${MIN_SUBSTRING} characters), both case-insensitively, on \`email\`, \`first_name\`, \`last_name\`,`,
  '`name` (first and last name joined by a space), `phone`, `company_name` and `metadata["KEY"]`;',
  '`field:null` matches a null field or an absent metadata key; `created` takes `:`, `>`, `>=`,',
  '`<`, `<=` and unix seconds. `-` negates a clause. Clauses are joined by `AND` or `OR` (never',
  `both) or by a space, meaning AND; at most ${MAX_CLAUSES}. Values are quoted with \`"\` or \`'\`, and`,
  '`\\"`, `\\\'` and `\\\\` escape inside them.',
].join(' ');

export const SearchCustomersQuery = Type.Object(
  {
    query: Type.Optional(
      Type.String({
        maxLength: QUERY_MAX_LENGTH,
        description: QUERY_DESCRIPTION,
        examples: ['email~"lovelace" AND -phone:null'],
      }),
    ),
    limit: Type.Optional(
      Type.Integer({
        minimum: PAGE_SIZE.min,
        maximum: PAGE_SIZE.max,
        default: PAGE_SIZE.default,
        description: `Page size, ${PAGE_SIZE.min}–${PAGE_SIZE.max}.`,
      }),
    ),
    page: Type.Optional(
      Type.String({
        maxLength: 1000,
        description: 'The `next_page` of the previous page of the same query.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type SearchCustomersQuery = Static<typeof SearchCustomersQuery>;

export const CustomerSearchResult = Type.Object(
  {
    object: Type.Literal('search_result'),
    url: Type.Literal('/v1/customers/search'),
    has_more: Type.Boolean({ description: 'Whether more customers may match past this page.' }),
    next_page: Type.Union([Type.String(), Type.Null()], {
      description:
        'Pass it as `page`, with the same query, for the next page; null when `has_more` is false.',
    }),
    data: Type.Array(Type.Ref(Customer)),
  },
  {
    $id: 'CustomerSearchResult',
    title: 'CustomerSearchResult',
    additionalProperties: false,
    examples: [
      { object: 'search_result', url: '/v1/customers/search', has_more: false, next_page: null, data: [] },
    ],
  },
);
export type CustomerSearchResult = Static<typeof CustomerSearchResult>;

export const EXPORT_FORMATS = ['ndjson', 'csv'] as const;

export const ExportCustomersQuery = Type.Object(
  {
    format: Type.Optional(
      Type.Unsafe<(typeof EXPORT_FORMATS)[number]>({
        type: 'string',
        enum: [...EXPORT_FORMATS],
        default: 'ndjson',
        description: '`ndjson`: one customer object per line. `csv`: RFC 4180 with a header row.',
      }),
    ),
    email: Type.Optional(
      Type.String({
        maxLength: 512,
        pattern: NO_NUL,
        description: 'Only customers with this email, compared case-insensitively.',
      }),
    ),
    created: createdParam(),
  },
  { additionalProperties: false },
);
export type ExportCustomersQuery = Static<typeof ExportCustomersQuery>;

export const SEARCH_SCHEMAS: TSchema[] = [CustomerSearchResult];
