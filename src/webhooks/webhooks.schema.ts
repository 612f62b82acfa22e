import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { MetadataObject, MetadataParam } from '../http/metadata.js';
import { ListOf, ListQuery } from '../http/pagination.js';
import { IdParams, NO_NUL, NullableString } from '../http/schemas.js';
import { URL_MAX_LENGTH } from './webhooks.address.js';

/** The wire format events are rendered in. */
export const API_VERSION = '2026-12-01';
export const MAX_ENDPOINTS = 16;
/** What `enabled_events` may hold: an event type, every customer event, or every event. */
export const EVENT_SELECTORS = [
  'customer.created',
  'customer.updated',
  'customer.deleted',
  'customer.*',
  '*',
] as const;
export type EventSelector = (typeof EVENT_SELECTORS)[number];
export const ROLL_EXPIRES_MAX = 604_800;
export const ROLL_EXPIRES_DEFAULT = 86_400;

/** One JSON Schema `enum`: one clear error for a value outside it, and a union type in the SDK. */
const Selector = () => Type.Unsafe<EventSelector>({ type: 'string', enum: [...EVENT_SELECTORS] });

const seed = {
  id: 'we_01JRZK2Q4T9ZS0VCNA3HX7W9EY',
  object: 'webhook_endpoint',
  url: 'https://example.com/hooks/lunipay',
  enabled_events: ['customer.*'],
  status: 'enabled',
  description: 'Order system',
  metadata: null,
  api_version: API_VERSION,
  livemode: false,
  created: 1713100800,
} as const;
const SECRET_EXAMPLE = 'whsec_9c4Xq0w2cVd0l8JwYk3m8v0b1Qf6T2rZpN5sH7uE4aA=';

const endpointFields = {
  id: Type.String({ description: 'Unique identifier, prefixed with `we_`.', examples: [seed.id] }),
  object: Type.Literal('webhook_endpoint', { description: 'Always `"webhook_endpoint"`.' }),
  url: Type.String({ description: 'Where events are sent, with a POST.' }),
  enabled_events: Type.Array(Selector(), {
    description: 'The event types sent here: types such as `customer.created`, `customer.*`, or `*` for all.',
  }),
  status: Type.Union([Type.Literal('enabled'), Type.Literal('disabled')], {
    description: '`disabled` endpoints receive nothing, and events meanwhile are not queued for them.',
  }),
  description: Type.Union([Type.String(), Type.Null()], { description: 'Your description of the endpoint.' }),
  metadata: MetadataObject('Up to 20 key/value pairs for your bookkeeping; `null` when there are none.'),
  api_version: Type.String({ description: 'The wire format of the events sent here.' }),
  livemode: Type.Boolean({
    description: 'True if created with a live-mode key; it receives only that mode’s events.',
  }),
  created: Type.Integer({ description: 'Creation time, unix seconds.' }),
};

export const WebhookEndpoint = Type.Object(endpointFields, {
  $id: 'WebhookEndpoint',
  title: 'WebhookEndpoint',
  additionalProperties: false,
  examples: [seed],
});
export type WebhookEndpoint = Static<typeof WebhookEndpoint>;

export const WebhookEndpointWithSecret = Type.Object(
  {
    ...endpointFields,
    secret: Type.String({
      description:
        'The signing secret, `whsec_…`. Shown only in the answers to create and roll_secret: keep it then.',
      examples: [SECRET_EXAMPLE],
    }),
  },
  {
    $id: 'WebhookEndpointWithSecret',
    title: 'WebhookEndpointWithSecret',
    additionalProperties: false,
    examples: [{ ...seed, secret: SECRET_EXAMPLE }],
  },
);
export type WebhookEndpointWithSecret = Static<typeof WebhookEndpointWithSecret>;

export const DeletedWebhookEndpoint = Type.Object(
  {
    id: Type.String({ examples: [seed.id] }),
    object: Type.Literal('webhook_endpoint'),
    deleted: Type.Literal(true),
  },
  {
    $id: 'DeletedWebhookEndpoint',
    title: 'DeletedWebhookEndpoint',
    additionalProperties: false,
    examples: [{ id: seed.id, object: 'webhook_endpoint', deleted: true }],
  },
);
export type DeletedWebhookEndpoint = Static<typeof DeletedWebhookEndpoint>;

export const WebhookEndpointList = ListOf(WebhookEndpoint, '/v1/webhook_endpoints', {
  title: 'WebhookEndpointList',
  hasMore: 'Whether more endpoints exist past this page, in the direction of the pagination.',
  example: seed,
});
export type WebhookEndpointList = Static<typeof WebhookEndpointList>;

const url = Type.String({
  minLength: 1,
  maxLength: URL_MAX_LENGTH,
  pattern: NO_NUL,
  description:
    'An http or https URL (https only in live mode), at most 2,048 characters, with no user name or ' +
    'password, whose host is not localhost nor a loopback, private or other internal IP address.',
  examples: [seed.url],
});
const enabledEvents = Type.Array(Selector(), {
  minItems: 1,
  maxItems: 20,
  description:
    'The event types to send: `customer.created`, `customer.updated`, `customer.deleted`, `customer.*` or `*`.',
  examples: [seed.enabled_events],
});
const description = NullableString({
  maxLength: 5000,
  description: 'Up to 5,000 characters; `""` or `null` clears it.',
  example: seed.description,
});

export const CreateWebhookEndpointBody = Type.Object(
  {
    url,
    enabled_events: enabledEvents,
    description: Type.Optional(description),
    metadata: Type.Optional(MetadataParam),
  },
  {
    $id: 'CreateWebhookEndpointParams',
    title: 'CreateWebhookEndpointParams',
    additionalProperties: false,
    examples: [{ url: seed.url, enabled_events: seed.enabled_events, description: seed.description }],
  },
);
export type CreateWebhookEndpointBody = Static<typeof CreateWebhookEndpointBody>;

export const UpdateWebhookEndpointBody = Type.Object(
  {
    url: Type.Optional(url),
    enabled_events: Type.Optional(enabledEvents),
    description: Type.Optional(description),
    metadata: Type.Optional(MetadataParam),
    disabled: Type.Optional(
      Type.Boolean({ description: '`true` disables the endpoint, `false` enables it again.' }),
    ),
  },
  {
    $id: 'UpdateWebhookEndpointParams',
    title: 'UpdateWebhookEndpointParams',
    additionalProperties: false,
    examples: [{ enabled_events: ['customer.created'], disabled: false }],
  },
);
export type UpdateWebhookEndpointBody = Static<typeof UpdateWebhookEndpointBody>;

export const RollSecretBody = Type.Object(
  {
    expires_in: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: ROLL_EXPIRES_MAX,
        description:
          'Seconds the current secret keeps signing beside the new one, 0–604800 (7 days); default 86400. ' +
          'Older secrets still signing expire no later than it.',
        examples: [3600],
      }),
    ),
  },
  {
    $id: 'RollWebhookEndpointSecretParams',
    title: 'RollWebhookEndpointSecretParams',
    additionalProperties: false,
  },
);
export type RollSecretBody = Static<typeof RollSecretBody>;

export const WebhookEndpointIdParams = IdParams('The webhook endpoint id, `we_…`.', seed.id);

export const ListWebhookEndpointsQuery = ListQuery('An endpoint id', 'endpoints', {});
export type ListWebhookEndpointsQuery = Static<typeof ListWebhookEndpointsQuery>;

/** The schemas routes refer to by `$ref`; app.ts adds them once. */
export const WEBHOOK_SCHEMAS: TSchema[] = [
  WebhookEndpoint,
  WebhookEndpointWithSecret,
  WebhookEndpointList,
  DeletedWebhookEndpoint,
];
