import { type Static, type TSchema, Type } from '@sinclair/typebox';

const attemptSeed = {
  id: 'wha_01JRZK2Q4T9ZS0VCNA3HX7W9EY',
  object: 'webhook_attempt' as const,
  endpoint: 'we_01JRZK2Q4T9ZS0VCNA3HX7W9EY',
  event: 'evt_01JRZK2Q4T9ZS0VCNA3HX7W9EY',
  attempt: 1,
  status: 'failed' as const,
  http_status: 500,
  error: 'http_status' as const,
  duration_ms: 84,
  created: 1713100800,
  next_attempt_at: 1713100805,
};

export const WebhookAttempt = Type.Object(
  {
    id: Type.String({ description: '`wha_` + ULID.' }),
    object: Type.Literal('webhook_attempt'),
    endpoint: Type.String({ description: 'The webhook endpoint, `we_…`.' }),
    event: Type.String({ description: 'The event delivered, `evt_…`.' }),
    attempt: Type.Integer({ minimum: 1, description: 'Which attempt of its delivery this was, from 1.' }),
    status: Type.Union([Type.Literal('succeeded'), Type.Literal('failed')]),
    http_status: Type.Union([Type.Integer(), Type.Null()], {
      description: 'The status the receiver answered with; null when it did not answer.',
    }),
    error: Type.Union(
      [
        Type.Literal('timeout'),
        Type.Literal('connection_failed'),
        Type.Literal('address_blocked'),
        Type.Literal('http_status'),
        Type.Null(),
      ],
      { description: 'Why it failed; null when it succeeded.' },
    ),
    duration_ms: Type.Integer({ minimum: 0 }),
    created: Type.Integer({ description: 'When the attempt was made, unix seconds.' }),
    next_attempt_at: Type.Union([Type.Integer(), Type.Null()], {
      description: 'When the delivery is tried again, unix seconds; null when it is not.',
    }),
  },
  {
    $id: 'WebhookAttempt',
    title: 'WebhookAttempt',
    additionalProperties: false,
    description: 'One attempt to deliver an event. No request or response bodies are kept.',
    examples: [attemptSeed],
  },
);
export type WebhookAttempt = Static<typeof WebhookAttempt>;

export const WebhookAttemptList = Type.Object(
  {
    object: Type.Literal('list'),
    url: Type.String(),
    has_more: Type.Boolean({ description: 'Whether more attempts exist past this page.' }),
    data: Type.Array(Type.Ref(WebhookAttempt)),
  },
  { $id: 'WebhookAttemptList', title: 'WebhookAttemptList', additionalProperties: false },
);
export type WebhookAttemptList = Static<typeof WebhookAttemptList>;

export const ListAttemptsQuery = Type.Object(
  {
    limit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 100, default: 10, description: 'Page size, 1–100.' }),
    ),
    starting_after: Type.Optional(Type.String({ maxLength: 64, description: 'An attempt id: older ones.' })),
    ending_before: Type.Optional(Type.String({ maxLength: 64, description: 'An attempt id: newer ones.' })),
    event: Type.Optional(Type.String({ maxLength: 64, description: 'Only the attempts of this event.' })),
  },
  { additionalProperties: false },
);
export type ListAttemptsQuery = Static<typeof ListAttemptsQuery>;

export const ResendBody = Type.Object(
  { endpoint: Type.String({ maxLength: 64, description: 'The webhook endpoint to send it to, `we_…`.' }) },
  { additionalProperties: false },
);
export type ResendBody = Static<typeof ResendBody>;

export const Resend = Type.Object(
  {
    object: Type.Literal('resend'),
    event: Type.String(),
    endpoint: Type.String(),
  },
  {
    $id: 'Resend',
    title: 'Resend',
    additionalProperties: false,
    description: 'One more delivery of the event to the endpoint, queued now.',
  },
);
export type Resend = Static<typeof Resend>;

export const RecoverBody = Type.Object(
  {
    since: Type.Integer({
      description: 'Unix seconds, within event retention: events created since then are queued.',
    }),
  },
  { additionalProperties: false },
);
export type RecoverBody = Static<typeof RecoverBody>;

export const Recovery = Type.Object(
  {
    object: Type.Literal('recovery'),
    endpoint: Type.String(),
    queued: Type.Integer({ minimum: 0, description: 'How many deliveries were queued.' }),
  },
  { $id: 'Recovery', title: 'Recovery', additionalProperties: false },
);
export type Recovery = Static<typeof Recovery>;

export const DELIVERY_SCHEMAS: TSchema[] = [WebhookAttempt, WebhookAttemptList, Resend, Recovery];
