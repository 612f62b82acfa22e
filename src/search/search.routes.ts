import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { Customer } from '../customers/customers.schema.js';
import { callerOf } from '../http/auth.js';
import { errorResponses } from '../http/schemas.js';
import { exportCustomers } from './export.js';
import { CustomerSearchResult, ExportCustomersQuery, SearchCustomersQuery } from './search.schema.js';
import type { SearchDeps } from './search.service.js';
import * as service from './search.service.js';

const tags = ['Customers'];
const QUERY_ERRORS = ['parameter_missing', 'parameter_unknown', 'parameter_invalid'] as const;

/**
 * Thin: parse (Fastify does, from the schemas), call the service, reply. Both paths are static,
 * so the router prefers them to `/v1/customers/:id` whatever the order routes are added in.
 */
export const searchRoutes: FastifyPluginAsyncTypebox<{ deps: SearchDeps }> = async (app, { deps }) => {
  app.get(
    '/v1/customers/search',
    {
      schema: {
        operationId: 'searchCustomers',
        summary: 'Search customers',
        description:
          "The customers matching a query in Stripe's search language, newest first. A write that has been " +
          'answered is found by its new values at once (and a deleted customer no longer is).',
        tags,
        querystring: SearchCustomersQuery,
        response: { 200: Type.Ref(CustomerSearchResult), ...errorResponses([...QUERY_ERRORS]) },
      },
    },
    async (request) => service.searchCustomers(deps, callerOf(request), request.query),
  );

  app.get(
    '/v1/customers/export',
    {
      schema: {
        operationId: 'exportCustomers',
        summary: 'Export customers',
        description:
          'Streams every customer matching the filters, newest first, as NDJSON (one customer object a line) or ' +
          'CSV (a header row, then one row a customer; metadata as JSON text; cells that a spreadsheet would run ' +
          "as a formula prefixed with `'`), as an attachment.",
        tags,
        querystring: ExportCustomersQuery,
        response: {
          200: {
            description: 'The customers, streamed.',
            content: {
              'application/x-ndjson': { schema: Type.Ref(Customer) },
              'text/csv': { schema: Type.String() },
            },
          },
          ...errorResponses(['parameter_unknown', 'parameter_invalid']),
        },
      },
    },
    async (request, reply) => {
      const result = await exportCustomers(deps.db, callerOf(request), request.query);
      return reply
        .type(result.contentType)
        .header('content-disposition', `attachment; filename="${result.filename}"`)
        .send(result.body as never); // a stream: Fastify pipes it, with backpressure, unserialised
    },
  );
};
