import { type Static, Type } from '@sinclair/typebox';
import { ListOf, ListQuery } from '../http/pagination.js';
import { IdParams, NO_NUL } from '../http/schemas.js';

export const EXPIRES_IN = { min: 60, max: 3600, default: 300 };
export const RETURN_URL_MAX_LENGTH = 2048;

const seed = {
  id: 'ps_01JRZK2Q4T9ZS0VCNA3HX7W9EY',
  object: 'portal_session',
  customer: 'cus_01JRZK2Q4T9ZS0VCNA3HX7W9EX',
  livemode: false,
  source: 'api',
  return_url: 'https://shop.example/account',
  status: 'open',
  created: 1713100800,
  expires_at: 1713101100,
  opened_at: null,
  last_active_at: null,
} as const;
const URL_EXAMPLE = 'http://127.0.0.1:4242/portal/session/Qm9vb3MgYXJlIG5pY2UgdGhpbmdzLCByZWFsbHk';

const Nullable = (description: string) => Type.Union([Type.Integer(), Type.Null()], { description });

const sessionFields = {
  id: Type.String({ description: 'Unique identifier, prefixed with `ps_`.', examples: [seed.id] }),
  object: Type.Literal('portal_session', { description: 'Always `"portal_session"`.' }),
  customer: Type.String({ description: 'The customer this portal sign-in is for.' }),
  livemode: Type.Boolean({ description: 'True for a live-mode customer.' }),
  source: Type.Union([Type.Literal('api'), Type.Literal('login')], {
    description: '`api`: made with this API; `login`: the customer signed in with their email.',
  }),
  return_url: Type.Union([Type.String(), Type.Null()], {
    description: 'Where the portal’s “Back to …” link leads; null when none was given.',
  }),
  status: Type.Union(
    [Type.Literal('open'), Type.Literal('active'), Type.Literal('expired'), Type.Literal('revoked')],
    {
      description:
        '`open`: not opened yet; `active`: opened, and the browser session it started is alive; ' +
        '`expired`: never opened in time, or its browser session ended; `revoked`: revoked through the API ' +
        'or by the customer signing out everywhere.',
    },
  ),
  created: Type.Integer({ description: 'Creation time, unix seconds.' }),
  expires_at: Type.Integer({ description: 'Until when `url` can be opened, unix seconds.' }),
  opened_at: Nullable('When the link was opened (or the customer signed in), unix seconds.'),
  last_active_at: Nullable('The browser session’s last request, unix seconds.'),
};

export const PortalSession = Type.Object(sessionFields, {
  $id: 'PortalSession',
  title: 'PortalSession',
  additionalProperties: false,
  examples: [seed],
});
export type PortalSession = Static<typeof PortalSession>;

export const PortalSessionWithUrl = Type.Object(
  {
    ...sessionFields,
    url: Type.String({
      description:
        'Where to send the customer’s browser: it can be opened once, before `expires_at`. Shown only in the ' +
        'answer to create.',
      examples: [URL_EXAMPLE],
    }),
  },
  {
    $id: 'PortalSessionWithUrl',
    title: 'PortalSessionWithUrl',
    additionalProperties: false,
    examples: [{ ...seed, url: URL_EXAMPLE }],
  },
);
export type PortalSessionWithUrl = Static<typeof PortalSessionWithUrl>;

export const CreatePortalSessionBody = Type.Object(
  {
    customer: Type.String({ maxLength: 64, description: 'The customer (`cus_…`) to sign in.' }),
    return_url: Type.Optional(
      Type.String({
        maxLength: RETURN_URL_MAX_LENGTH,
        pattern: NO_NUL,
        description:
          'An `http` or `https` URL (only `https` in live mode), with no user name or password, for the ' +
          'portal’s “Back to …” link.',
      }),
    ),
    expires_in: Type.Optional(
      Type.Integer({
        minimum: EXPIRES_IN.min,
        maximum: EXPIRES_IN.max,
        default: EXPIRES_IN.default,
        description: `Seconds the link can be opened for, ${EXPIRES_IN.min}–${EXPIRES_IN.max}.`,
      }),
    ),
  },
  { additionalProperties: false },
);
export type CreatePortalSessionBody = Static<typeof CreatePortalSessionBody>;

export const ListPortalSessionsQuery = ListQuery('A portal session id', 'portal sessions', {
  customer: Type.String({ maxLength: 64, description: 'The customer whose sessions to list (`cus_…`).' }),
});
export type ListPortalSessionsQuery = Static<typeof ListPortalSessionsQuery>;

export const PortalSessionList = ListOf(PortalSession, '/v1/portal_sessions', {
  title: 'PortalSessionList',
  hasMore: 'Whether more portal sessions follow this page.',
  example: seed,
});
export type PortalSessionList = Static<typeof PortalSessionList>;

export const PortalSessionIdParams = IdParams('The portal session’s id (`ps_…`).', seed.id);

export const PORTAL_SESSION_SCHEMAS = [PortalSession, PortalSessionWithUrl, PortalSessionList];
