/**
 * Errors fastify's router raises before any route, hook or error handler
 * runs (its `frameworkErrors` option): a path whose percent-encoding is
 * broken, a path parameter longer than the router's maxParamLength. Left to
 * fastify they go out in its own shape ({error:"Bad Request",code:"FST_ERR_…"});
 * here they get the one shape docs/API.md promises, with fastify's status.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { errorBody } from './error-handler.js';

/** The router's limit on a path parameter: the longest the route schemas allow (schemas.ts; fastify's default is 100). */
export const MAX_PARAM_LENGTH = 256;

const ANSWERS: Record<string, { status: number; message: string }> = {
  FST_ERR_BAD_URL: { status: 400, message: 'the URL path is not valid: a percent-encoding in it is broken (e.g. "%zz" or a cut-off "%E0%A4")' },
  FST_ERR_MAX_PARAM_LENGTH: { status: 414, message: `a path parameter is longer than ${MAX_PARAM_LENGTH} characters` },
};

export function answerFrameworkError(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const known = ANSWERS[err.code];
  if (known) {
    void reply.status(known.status).send(errorBody('invalid_request', known.message));
    return;
  }
  // FST_ERR_ASYNC_CONSTRAINT: a route constraint failed; the control server sets none, so it is a fault.
  request.log.error({ err }, 'router failed');
  void reply.status(500).send(errorBody('internal', 'internal error'));
}
