import type { ErrorBody } from '@tessera/protocol';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isTesseraError, TesseraError } from '../errors.js';

/**
 * Maps every error to DESIGN §9's body. A `TesseraError` keeps its code; Fastify's own errors (bad JSON, body too
 * large, schema validation) are mapped to ours; anything else is a bug: logged by name and request id, answered as
 * a generic 500 without internals.
 */
export function installErrorHandler(
  app: FastifyInstance,
  /** Answers a route-less request itself when it is a page of the web app (`web-app.ts`). */
  page?: (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply> | undefined,
): void {
  app.setErrorHandler((error: FastifyError | Error, request, reply) => {
    let e: TesseraError;
    if (isTesseraError(error)) e = error;
    else if ('validation' in error && error.validation) e = new TesseraError('invalid_request', error.message);
    else if ('code' in error && error.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      e = new TesseraError('payload_too_large', 'request body too large');
    else if ('code' in error && error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
      e = new TesseraError('unsupported_media_type', 'unsupported content type');
    else if (
      'code' in error &&
      (error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || error.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH')
    )
      e = new TesseraError('invalid_body', error.message);
    else if (error instanceof SyntaxError || ('statusCode' in error && error.statusCode === 400))
      e = new TesseraError('invalid_json', 'request body is not valid JSON');
    else {
      request.log.error(
        { err: { name: error.name, message: error.message, stack: error.stack }, reqId: request.id },
        'unhandled error',
      );
      e = new TesseraError('internal', 'internal error');
    }
    if (e.retryAfter !== undefined) reply.header('retry-after', String(e.retryAfter));
    const body: ErrorBody & { error: { details?: unknown } } = {
      error: {
        code: e.code,
        message: e.message,
        requestId: String(request.id),
        ...(e.details ? { details: e.details } : {}),
      },
    };
    if (e.status >= 400 && e.status < 500) request.log.info({ code: e.code, reqId: request.id }, 'request refused');
    reply.status(e.status).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    const answered = page?.(request, reply);
    if (answered) return answered;
    reply.status(404).send({
      error: {
        code: 'not_found',
        message: `no route ${request.method} ${request.url.split('?')[0]}`,
        requestId: String(request.id),
      },
    });
  });
}
