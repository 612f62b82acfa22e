import { type Static, Type } from '@sinclair/typebox';
import { NO_NUL, NullableString } from '../http/schemas.js';

export const EMAIL_PATTERN = '^[^@\\s\\u0000\\p{Cs}]+@[^@\\s\\u0000\\p{Cs}]+$';
export const METADATA_MAX_KEYS = 20;
export const METADATA_KEY_MAX = 40;
export const METADATA_VALUE_MAX = 500;

/** The fields a request may never set; naming one gets a `parameter_unknown` that says why. */
export const READ_ONLY_FIELDS = [
  'id',
  'object',
  'livemode',
  'stripe_customer_id',
  'created',
  'updated',
] as const;

const seed = {
  id: 'cus_01JRZK2Q4T9ZS0VCNA3HX7W9EY',
  object: 'customer',
  livemode: false,
  email: 'ada@example.com',
  first_name: 'Ada',
  last_name: 'Lovelace',
  phone: '+18765551234',
  company_name: 'Analytical Engines Ltd.',
  notes: 'VIP — priority support',
  metadata: { internal_id: 'ACCT-42' },
  stripe_customer_id: 'cus_Pxxxxxxxxxxxx',
  created: 1713100800,
  updated: 1713100800,
} as const;

export const Customer = Type.Object(
  {
    id: Type.String({ description: 'Unique identifier, prefixed with `cus_`.', examples: [seed.id] }),
    object: Type.Literal('customer', { description: 'Always `"customer"`.' }),
    livemode: Type.Boolean({ description: 'True if created with a live-mode key.' }),
    email: Type.String({ description: 'Customer email. Used for receipts and portal magic links.' }),
    first_name: Type.String({ description: 'Given name; `""` when not given.' }),
    last_name: Type.String({ description: 'Family name; `""` when not given.' }),
    phone: Type.Union([Type.String(), Type.Null()], {
      description: 'Phone number in any format you prefer to store.',
    }),
    company_name: Type.Union([Type.String(), Type.Null()], {
      description: 'Business name shown on invoices.',
    }),
    notes: Type.Union([Type.String(), Type.Null()], {
      description: 'Free-form internal notes. Never shown to the customer and never sent to Stripe.',
    }),
    metadata: Type.Union([Type.Record(Type.String(), Type.String()), Type.Null()], {
      description: 'Up to 20 key/value pairs for your bookkeeping; `null` when there are none.',
    }),
    stripe_customer_id: Type.Union([Type.String(), Type.Null()], {
      description:
        'The Stripe Customer id provisioned for this record on your connected account. Managed by LuniPay: it cannot be set.',
    }),
    created: Type.Integer({ description: 'Creation time, unix seconds.' }),
    updated: Type.Integer({ description: 'Time of the last change to any field, unix seconds.' }),
  },
  { $id: 'Customer', title: 'Customer', additionalProperties: false, examples: [seed] },
);
export type Customer = Static<typeof Customer>;

export const DeletedCustomer = Type.Object(
  {
    id: Type.String({ examples: [seed.id] }),
    object: Type.Literal('customer'),
    deleted: Type.Literal(true),
  },
  {
    $id: 'DeletedCustomer',
    title: 'DeletedCustomer',
    additionalProperties: false,
    examples: [{ id: seed.id, object: 'customer', deleted: true }],
  },
);
export type DeletedCustomer = Static<typeof DeletedCustomer>;

export const CustomerList = Type.Object(
  {
    object: Type.Literal('list'),
    url: Type.Literal('/v1/customers'),
    has_more: Type.Boolean({
      description: 'Whether more customers exist past this page, in the direction of the pagination.',
    }),
    data: Type.Array(Type.Ref(Customer)),
  },
  {
    $id: 'CustomerList',
    title: 'CustomerList',
    additionalProperties: false,
    examples: [{ object: 'list', url: '/v1/customers', has_more: false, data: [seed] }],
  },
);
export type CustomerList = Static<typeof CustomerList>;

const MetadataParam = Type.Unsafe<Record<string, string | null> | null | ''>({
  type: ['object', 'null', 'string'],
  maxLength: 0,
  propertyNames: { minLength: 1, maxLength: METADATA_KEY_MAX, pattern: '^[^\\[\\]\\u0000\\p{Cs}]*$' },
  additionalProperties: { type: ['string', 'null'], maxLength: METADATA_VALUE_MAX, pattern: NO_NUL },
  description:
    'Up to 20 keys (1–40 characters, no `[` or `]`) with string values of up to 500 characters. ' +
    'On update, keys are merged: a value of `""` or `null` removes that key; `metadata: null` or `""` removes them all.',
  examples: [seed.metadata],
});

const email = {
  minLength: 3,
  maxLength: 512,
  pattern: EMAIL_PATTERN,
  description: 'One `@` with text on both sides and no whitespace; 3–512 characters. Stored as given.',
  examples: [seed.email],
};
const name = (description: string, example: string) =>
  Type.String({
    maxLength: 255,
    pattern: NO_NUL,
    description: `${description} 0–255 characters.`,
    examples: [example],
  });

const writable = {
  first_name: Type.Optional(name('Given name.', seed.first_name)),
  last_name: Type.Optional(name('Family name.', seed.last_name)),
  phone: Type.Optional(
    NullableString({
      maxLength: 64,
      description: 'Free-form, up to 64 characters; `""` or `null` clears it.',
      example: seed.phone,
    }),
  ),
  company_name: Type.Optional(
    NullableString({
      maxLength: 255,
      description: 'Up to 255 characters; `""` or `null` clears it.',
      example: seed.company_name,
    }),
  ),
  notes: Type.Optional(
    NullableString({
      maxLength: 5000,
      description:
        'Internal notes, up to 5,000 characters; never sent to Stripe. `""` or `null` clears them.',
      example: seed.notes,
    }),
  ),
  metadata: Type.Optional(MetadataParam),
};

export const CreateCustomerBody = Type.Object(
  { email: Type.String(email), ...writable },
  {
    $id: 'CreateCustomerParams',
    title: 'CreateCustomerParams',
    additionalProperties: false,
    examples: [
      {
        email: seed.email,
        first_name: seed.first_name,
        last_name: seed.last_name,
        phone: seed.phone,
        company_name: seed.company_name,
        notes: seed.notes,
        metadata: seed.metadata,
      },
    ],
  },
);
export type CreateCustomerBody = Static<typeof CreateCustomerBody>;

export const UpdateCustomerBody = Type.Object(
  { email: Type.Optional(Type.String(email)), ...writable },
  {
    $id: 'UpdateCustomerParams',
    title: 'UpdateCustomerParams',
    additionalProperties: false,
    examples: [{ phone: seed.phone, metadata: { internal_id: 'ACCT-43', tier: '' } }],
  },
);
export type UpdateCustomerBody = Static<typeof UpdateCustomerBody>;

export const CustomerIdParams = Type.Object(
  { id: Type.String({ description: 'The customer id, `cus_…`.', examples: [seed.id] }) },
  { additionalProperties: false },
);

export const CreatedRange = Type.Object(
  {
    gt: Type.Optional(Type.Integer({ description: 'Created after this unix time.' })),
    gte: Type.Optional(Type.Integer({ description: 'Created at or after this unix time.' })),
    lt: Type.Optional(Type.Integer({ description: 'Created before this unix time.' })),
    lte: Type.Optional(Type.Integer({ description: 'Created at or before this unix time.' })),
  },
  { additionalProperties: false },
);

export const ListCustomersQuery = Type.Object(
  {
    limit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 100, default: 10, description: 'Page size, 1–100.' }),
    ),
    starting_after: Type.Optional(
      Type.String({ maxLength: 64, description: 'A customer id: the page of customers older than it.' }),
    ),
    ending_before: Type.Optional(
      Type.String({ maxLength: 64, description: 'A customer id: the page of customers just newer than it.' }),
    ),
    email: Type.Optional(
      Type.String({
        maxLength: 512,
        pattern: NO_NUL,
        description: 'Only customers with this email, compared case-insensitively.',
      }),
    ),
    created: Type.Optional(
      Type.Unsafe<number | Static<typeof CreatedRange>>({
        type: ['integer', 'object'],
        properties: CreatedRange.properties,
        additionalProperties: false,
        description:
          'Exact unix time, or a range with `created[gt]`, `created[gte]`, `created[lt]`, `created[lte]`.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type ListCustomersQuery = Static<typeof ListCustomersQuery>;
