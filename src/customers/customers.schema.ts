import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { METADATA_MAX_KEYS, MetadataParam } from '../http/metadata.js';
import { createdParam, ListOf, ListQuery } from '../http/pagination.js';
import { IdParams, NO_NUL, NullableString } from '../http/schemas.js';

export const EMAIL_PATTERN = '^[^@\\s\\u0000\\p{Cs}]+@[^@\\s\\u0000\\p{Cs}]+$';
const EMAIL_LENGTH = { min: 3, max: 512 };
const NAME_MAX = 255;
const PHONE_MAX = 64;
const COMPANY_NAME_MAX = 255;
const NOTES_MAX = 5000;

/** The fields a request may never set; naming one gets a `parameter_unknown` that says why. */
export const READ_ONLY_FIELDS = [
  'id',
  'object',
  'livemode',
  'stripe_customer_id',
  'created',
  'updated',
] as const;

/** What naming a read-only field answers: its route `config`, read by the validation errors. */
export const READ_ONLY_MESSAGES: Readonly<Record<string, string>> = Object.fromEntries(
  READ_ONLY_FIELDS.map((field) => [
    field,
    field === 'stripe_customer_id'
      ? 'stripe_customer_id is managed by LuniPay and cannot be set.'
      : `${field} is read-only and cannot be set.`,
  ]),
);

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
      description: `Up to ${METADATA_MAX_KEYS} key/value pairs for your bookkeeping; \`null\` when there are none.`,
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

export const CustomerList = ListOf(Customer, '/v1/customers', {
  title: 'CustomerList',
  hasMore: 'Whether more customers exist past this page, in the direction of the pagination.',
  example: seed,
});
export type CustomerList = Static<typeof CustomerList>;

const email = {
  minLength: EMAIL_LENGTH.min,
  maxLength: EMAIL_LENGTH.max,
  pattern: EMAIL_PATTERN,
  description: `One \`@\` with text on both sides and no whitespace; ${EMAIL_LENGTH.min}–${EMAIL_LENGTH.max} characters. Stored as given.`,
  examples: [seed.email],
};
const name = (description: string, example: string) =>
  Type.String({
    maxLength: NAME_MAX,
    pattern: NO_NUL,
    description: `${description} 0–${NAME_MAX} characters.`,
    examples: [example],
  });

const writable = {
  first_name: Type.Optional(name('Given name.', seed.first_name)),
  last_name: Type.Optional(name('Family name.', seed.last_name)),
  phone: Type.Optional(
    NullableString({
      maxLength: PHONE_MAX,
      description: `Free-form, up to ${PHONE_MAX} characters; \`""\` or \`null\` clears it.`,
      example: seed.phone,
    }),
  ),
  company_name: Type.Optional(
    NullableString({
      maxLength: COMPANY_NAME_MAX,
      description: `Up to ${COMPANY_NAME_MAX} characters; \`""\` or \`null\` clears it.`,
      example: seed.company_name,
    }),
  ),
  notes: Type.Optional(
    NullableString({
      maxLength: NOTES_MAX,
      description: `Internal notes, up to ${NOTES_MAX.toLocaleString('en-US')} characters; never sent to Stripe. \`""\` or \`null\` clears them.`,
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

export const CustomerIdParams = IdParams('The customer id, `cus_…`.', seed.id);

// Where it was first defined: the lists' shared schema pieces are in http/pagination.ts now.
export { CreatedRange } from '../http/pagination.js';

export const ListCustomersQuery = ListQuery('A customer id', 'customers', {
  email: Type.Optional(
    Type.String({
      maxLength: EMAIL_LENGTH.max,
      pattern: NO_NUL,
      description: 'Only customers with this email, compared case-insensitively.',
    }),
  ),
  created: createdParam(),
});
export type ListCustomersQuery = Static<typeof ListCustomersQuery>;

/**
 * Named in the OpenAPI document's components: the objects, and the bodies the SDK's types take.
 * Registered once at the root (app.ts), so other resources' schemas can refer to them (an event
 * holds a customer).
 */
export const CUSTOMER_SCHEMAS: TSchema[] = [
  Customer,
  CustomerList,
  DeletedCustomer,
  CreateCustomerBody,
  UpdateCustomerBody,
];
