import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { Customer, DeletedCustomer } from '../customers/customers.schema.js';
import { createdParam, ListOf, ListQuery } from '../http/pagination.js';
import { IdParams } from '../http/schemas.js';

/** The wire format events are rendered in; stored with each event, which never changes after. */
export const API_VERSION = '2026-12-01';

export const EVENT_TYPES = ['customer.created', 'customer.updated', 'customer.deleted'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const EVENT_SOURCES = ['api', 'portal', 'dashboard', 'cli', 'stripe_sync', 'import'] as const;

/** The customer fields an update can change, so the ones `previous_attributes` may name. */
export const CHANGEABLE_FIELDS = [
  'email',
  'first_name',
  'last_name',
  'phone',
  'company_name',
  'notes',
  'metadata',
  'stripe_customer_id',
] as const;

const seed = {
  id: 'evt_01JRZK2Q4T9ZS0VCNA3HX7W9EY',
  object: 'event',
  type: 'customer.updated',
  api_version: API_VERSION,
  created: 1713100800,
  livemode: false,
  sequence: 42,
  data: {
    object: {
      id: 'cus_01JRZK2Q4T9ZS0VCNA3HX7W9EY',
      object: 'customer',
      livemode: false,
      email: 'ada@example.com',
      first_name: 'Ada',
      last_name: 'Lovelace',
      phone: '+18765551234',
      company_name: null,
      notes: null,
      metadata: { plan: 'pro' },
      stripe_customer_id: null,
      created: 1713100000,
      updated: 1713100800,
    },
    previous_attributes: { phone: null, metadata: { plan: 'free' } },
  },
  request: { id: 'req_01JRZK2Q4T9ZS0VCNA3HX7W9F0', idempotency_key: 'order-7', source: 'api' },
  pending_webhooks: 1,
} as const;

const PreviousAttributes = Type.Object(
  Object.fromEntries(CHANGEABLE_FIELDS.map((field) => [field, Type.Optional(Customer.properties[field])])),
  {
    additionalProperties: false,
    description:
      '`customer.updated` only: exactly the fields whose stored value changed (`updated` aside), each with its ' +
      'value before the change; `metadata` as the whole object it was (or `null`).',
  },
);

export const Event = Type.Object(
  {
    id: Type.String({
      description: 'Unique identifier, prefixed with `evt_`; also the `webhook-id` of its deliveries.',
    }),
    object: Type.Literal('event', { description: 'Always `"event"`.' }),
    type: Type.Union(
      EVENT_TYPES.map((t) => Type.Literal(t)),
      { description: 'What happened: `customer.created`, `customer.updated` or `customer.deleted`.' },
    ),
    api_version: Type.String({ description: 'The version of the wire format `data` is rendered in.' }),
    created: Type.Integer({ description: 'When the change was made, unix seconds.' }),
    livemode: Type.Boolean({ description: 'True for a change made in live mode.' }),
    sequence: Type.Integer({
      description:
        'Per account and mode, strictly increasing in commit order and without gaps: once an event can be ' +
        'read, every event of its account and mode with a smaller sequence can be read too.',
    }),
    data: Type.Object(
      {
        object: Type.Union([Type.Ref(Customer), Type.Ref(DeletedCustomer)], {
          description:
            'The customer as the API returned it after the change; for `customer.deleted`, and for every ' +
            'event of a customer deleted since, the deleted stub.',
        }),
        previous_attributes: Type.Optional(PreviousAttributes),
      },
      { additionalProperties: false },
    ),
    request: Type.Object(
      {
        id: Type.Union([Type.String(), Type.Null()], {
          description: 'The `Request-Id` of the API request that made the change; null for other changes.',
        }),
        idempotency_key: Type.Union([Type.String(), Type.Null()], {
          description: 'The `Idempotency-Key` that request carried, or null.',
        }),
        source: Type.Union(
          EVENT_SOURCES.map((s) => Type.Literal(s)),
          { description: 'Where the change came from.' },
        ),
      },
      { additionalProperties: false, description: 'What caused the change.' },
    ),
    pending_webhooks: Type.Integer({
      description: 'Webhook endpoints that have not yet received this event with a 2xx answer.',
    }),
  },
  { $id: 'Event', title: 'Event', additionalProperties: false, examples: [seed] },
);
export type Event = Static<typeof Event>;

export const EventList = ListOf(Event, '/v1/events', {
  title: 'EventList',
  hasMore: 'Whether more events exist past this page, in the direction of the pagination or the feed.',
  example: seed,
});
export type EventList = Static<typeof EventList>;

export const EventIdParams = IdParams('The event id, `evt_…`.', seed.id);

export const ListEventsQuery = ListQuery('An event id', 'events', {
  type: Type.Optional(
    Type.String({
      maxLength: 64,
      description: `One event type (${EVENT_TYPES.map((t) => `\`${t}\``).join(', ')}) or a prefix wildcard such as \`customer.*\`.`,
    }),
  ),
  created: createdParam(),
  object_id: Type.Optional(
    Type.String({
      maxLength: 64,
      description: "A customer id: that customer's history, deleted customers included.",
    }),
  ),
  sequence_after: Type.Optional(
    Type.Integer({
      minimum: 0,
      description:
        'The feed: the events with a larger sequence, oldest first. Combines with `type` and `object_id`, ' +
        'not with the cursors or `created`. Store the last sequence processed to resume after any outage.',
    }),
  ),
});
export type ListEventsQuery = Static<typeof ListEventsQuery>;

/** Registered once at the root (app.ts), beside the schemas they refer to. */
export const EVENT_SCHEMAS: TSchema[] = [Event, EventList];
