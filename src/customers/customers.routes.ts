import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { callerOf } from '../http/auth.js';
import { pathIdHook } from '../http/route-hooks.js';
import { BODY_ERRORS, errorResponses, IDEMPOTENT } from '../http/schemas.js';
import { updateMethods } from '../http/update-methods.js';
import {
  beforeCommitOf,
  IdempotencyHeaders,
  idempotentRoute,
  originOf,
  replayable,
} from '../idempotency/idempotency.hooks.js';
import type { IdempotencyDeps } from '../idempotency/idempotency.service.js';
import { eraseDeletedCustomer } from './customers.hooks.js';
import {
  CreateCustomerBody,
  Customer,
  CustomerIdParams,
  CustomerList,
  DeletedCustomer,
  ListCustomersQuery,
  READ_ONLY_MESSAGES,
  UpdateCustomerBody,
} from './customers.schema.js';
import type { CustomerDeps } from './customers.service.js';
import * as service from './customers.service.js';

const tags = ['Customers'];
// Naming a field the customer owns (`id`, `stripe_customer_id`, …) says why it cannot be set.
const config = { readOnlyFields: READ_ONLY_MESSAGES };

/** Thin: parse (Fastify does, from the schemas), call the service, reply. */
export const customerRoutes: FastifyPluginAsyncTypebox<{
  deps: CustomerDeps;
  idempotency: IdempotencyDeps;
}> = async (app, options) => {
  // A deleted customer's stored responses are erased with it, whatever else the app hooks in.
  const deps = { ...options.deps, hooks: [...(options.deps.hooks ?? []), eraseDeletedCustomer] };
  // Every write takes an Idempotency-Key; reads ignore the header.
  const idempotent = idempotentRoute(options.idempotency);
  app.addHook('preHandler', pathIdHook('cus', service.notFound));
  app.post(
    '/v1/customers',
    {
      ...idempotent,
      config,
      schema: {
        operationId: 'createCustomer',
        summary: 'Create a customer',
        description:
          'Creates a new customer record. Provisioning into Stripe happens afterwards, never blocking this call.',
        tags,
        headers: IdempotencyHeaders,
        body: CreateCustomerBody,
        response: {
          200: replayable(Type.Ref(Customer)),
          ...errorResponses(
            [...BODY_ERRORS, 'parameter_missing', 'parameter_unknown', 'parameter_invalid'],
            IDEMPOTENT,
          ),
        },
      },
    },
    async (request) =>
      service.createCustomer(
        deps,
        callerOf(request),
        request.body,
        originOf(request),
        beforeCommitOf(request),
      ),
  );

  app.get(
    '/v1/customers/:id',
    {
      schema: {
        operationId: 'retrieveCustomer',
        summary: 'Retrieve a customer',
        description: 'Fetches a customer by id.',
        tags,
        params: CustomerIdParams,
        response: { 200: Type.Ref(Customer), ...errorResponses(['resource_missing']) },
      },
    },
    async (request, reply) => {
      const text = await service.retrieveCustomer(deps, callerOf(request), request.params.id);
      // Already the JSON of a Customer: sent as it is, not serialised again.
      return reply.type('application/json; charset=utf-8').send(text as unknown as Customer);
    },
  );

  const update = {
    ...idempotent,
    config,
    schema: {
      summary: 'Update a customer',
      description:
        'Updates any subset of the customer fields; fields not sent are unchanged, and metadata is merged key by key. ' +
        'An empty body changes nothing.',
      tags,
      headers: IdempotencyHeaders,
      params: CustomerIdParams,
      body: UpdateCustomerBody,
      response: {
        200: replayable(Type.Ref(Customer)),
        ...errorResponses(
          [...BODY_ERRORS, 'parameter_unknown', 'parameter_invalid', 'resource_missing'],
          IDEMPOTENT,
        ),
      },
    },
  };
  for (const { method, ...names } of updateMethods('updateCustomer', update.schema.summary)) {
    app.route({
      method,
      url: '/v1/customers/:id',
      ...update,
      schema: { ...update.schema, ...names },
      handler: async (request) =>
        service.updateCustomer(
          deps,
          callerOf(request),
          request.params.id,
          request.body,
          originOf(request),
          beforeCommitOf(request),
        ),
    });
  }

  app.delete(
    '/v1/customers/:id',
    {
      ...idempotent,
      schema: {
        operationId: 'deleteCustomer',
        summary: 'Delete a customer',
        description:
          'Permanently deletes a customer and every copy of its personal data, and deletes its Stripe customer on the connected account.',
        tags,
        headers: IdempotencyHeaders,
        params: CustomerIdParams,
        response: {
          200: replayable(Type.Ref(DeletedCustomer)),
          // It takes no parameters, but a body sent anyway is read like any other.
          ...errorResponses([...BODY_ERRORS, 'resource_missing'], IDEMPOTENT),
        },
      },
    },
    async (request) =>
      service.deleteCustomer(
        deps,
        callerOf(request),
        request.params.id,
        originOf(request),
        beforeCommitOf(request),
      ),
  );

  app.get(
    '/v1/customers',
    {
      config,
      schema: {
        operationId: 'listCustomers',
        summary: 'List customers',
        description:
          'Returns a cursor-paginated list of customers, newest first. Filters combine with each other and with the cursors.',
        tags,
        querystring: ListCustomersQuery,
        response: {
          200: Type.Ref(CustomerList),
          ...errorResponses(['parameter_unknown', 'parameter_invalid', 'parameters_exclusive']),
        },
      },
    },
    async (request, reply) => {
      const text = await service.listCustomers(deps, callerOf(request), request.query);
      // Already the JSON of a CustomerList: sent as it is, not serialised again.
      return reply.type('application/json; charset=utf-8').send(text as unknown as CustomerList);
    },
  );
};
