/**
 * One error handler for every route: a ClientError goes out as-is, a request
 * fastify could not parse or validate is a 400 with a specific message (a
 * body that is not JSON at all: 415 unsupported_media_type), a database that
 * cannot be reached is a 503 `unavailable` with Retry-After (a transient
 * fault: clients retry, sessions go on), and anything else is a logged 500
 * that reveals nothing.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { RateLimitedError, isClientError } from '../core/errors.js';
import { isUnavailable, UNAVAILABLE } from '../core/unavailable.js';

/** Seconds a client is told to wait when the database cannot be reached. */
export const UNAVAILABLE_RETRY_AFTER_S = 2;

const PARSE_MESSAGES: Record<string, string> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'body is not valid JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'body is empty; send a JSON object',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported content type; send application/json',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'content-length does not match the body',
};

export function errorBody(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}

export function installErrorHandling(app: FastifyInstance, bodyLimit: number): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (isClientError(err)) {
      if (err.status === 401 && err.code === 'unauthorized') reply.header('www-authenticate', 'Basic realm="gatecast", charset="UTF-8"');
      if (err instanceof RateLimitedError) reply.header('retry-after', String(err.retryAfterS));
      return reply.status(err.status).send(err.toJSON());
    }
    if (err.validation) {
      return reply.status(400).send(errorBody('invalid_request', err.message));
    }
    const status = err.statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      const message =
        err.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
          ? `body is larger than ${bodyLimit} bytes`
          : (PARSE_MESSAGES[err.code] ?? err.message);
      const code = err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 'unsupported_media_type' : 'invalid_request';
      return reply.status(status).send(errorBody(code, message));
    }
    if (isUnavailable(err)) {
      request.log.error({ err }, 'request failed: the database cannot be reached');
      reply.header('retry-after', String(UNAVAILABLE_RETRY_AFTER_S));
      return reply.status(503).send(errorBody(UNAVAILABLE, 'the control server cannot reach its database right now; try again shortly'));
    }
    request.log.error({ err }, 'request failed');
    return reply.status(500).send(errorBody('internal', 'internal error'));
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? request.url;
    return reply.status(404).send(errorBody('not_found', `no route ${request.method} ${path.slice(0, 200)}`));
  });
}
