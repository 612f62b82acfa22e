import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { callerOf } from '../http/auth.js';
import { pathIdHook } from '../http/route-hooks.js';
import { errorResponses } from '../http/schemas.js';
import { EventIdParams, EventList, Event as EventSchema, ListEventsQuery } from './events.schema.js';
import type { EventDeps } from './events.service.js';
import * as service from './events.service.js';

const tags = ['Events'];

/** Thin: parse (Fastify does, from the schemas), call the service, reply. */
export const eventRoutes: FastifyPluginAsyncTypebox<{ deps: EventDeps }> = async (app, { deps }) => {
  // A path id that is not an event id is a 404 before anything is looked up.
  app.addHook('preHandler', pathIdHook('evt', service.notFound));

  app.get(
    '/v1/events/:id',
    {
      schema: {
        operationId: 'retrieveEvent',
        summary: 'Retrieve an event',
        description: 'Fetches one event of this account and mode by id.',
        tags,
        params: EventIdParams,
        response: { 200: Type.Ref(EventSchema), ...errorResponses(['resource_missing']) },
      },
    },
    async (request) => service.retrieveEvent(deps, callerOf(request), request.params.id),
  );

  app.get(
    '/v1/events',
    {
      schema: {
        operationId: 'listEvents',
        summary: 'List events',
        description:
          'Without `sequence_after`: a cursor-paginated list, newest first, with filters that combine with each ' +
          'other and with the cursors. With `sequence_after`: the feed, the events after that sequence, oldest ' +
          'first. A write whose response has been sent is in both.',
        tags,
        querystring: ListEventsQuery,
        response: {
          200: Type.Ref(EventList),
          ...errorResponses(['parameter_unknown', 'parameter_invalid', 'parameters_exclusive']),
        },
      },
    },
    async (request) => service.listEvents(deps, callerOf(request), request.query),
  );
};
