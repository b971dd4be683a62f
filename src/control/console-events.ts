/**
 * GET /v1/console/events: the console's overview, live, as server-sent
 * events. Each period (CONSOLE_EVENTS_MS) a signed-in console gets one
 * `stats` event: every program with its QoE aggregates (the same figures as
 * GET /v1/admin/programs/:id/stats). The session is checked again before
 * each event, so sign-out, expiry or a password change ends the stream with
 * an `end` event. Streams close when the server does.
 */
import type { FastifyInstance } from 'fastify';
import type { Clock, TimerHandle } from '../core/clock.js';
import { ClientError } from '../core/errors.js';
import type { ControlStore } from '../core/ports.js';
import { checkSameOrigin, consoleCookie } from './console-routes.js';
import type { ConsoleSessions } from './console-sessions.js';
import { CONSOLE_SECURITY } from './openapi.js';
import type { QoeBoard } from './qoe-board.js';

/** How often the overview's figures are pushed. */
export const CONSOLE_EVENTS_MS = 1000;
/** Open event streams per server (each costs a timer and a stats pass per period). */
export const CONSOLE_MAX_STREAMS = 100;

export interface ConsoleEventsDeps {
  sessions: ConsoleSessions;
  store: ControlStore;
  qoe: QoeBoard;
  clock: Clock;
  periodMs?: number;
}

export function consoleEvents(deps: ConsoleEventsDeps) {
  const { sessions, store, qoe, clock } = deps;
  const open = new Set<() => void>();
  return async (app: FastifyInstance): Promise<void> => {
    app.addHook('preClose', async () => {
      for (const end of [...open]) end();
    });

    app.get(
      '/v1/console/events',
      {
        schema: {
          tags: ['console'],
          summary: 'The overview, live (text/event-stream): a stats event per second with every program and its QoE aggregates',
          security: CONSOLE_SECURITY,
          response: { 200: { type: 'string', description: 'server-sent events: `stats` {programs:[{id,title,stats}]}, `end` when the session ends' } },
        },
      },
      async (request, reply) => {
        checkSameOrigin(request);
        const id = consoleCookie(request);
        if (!(await sessions.resolve(id))) throw new ClientError('login_required', 'not signed in to the console (or the session ended): sign in again');
        if (open.size >= CONSOLE_MAX_STREAMS) throw new ClientError('conflict', `too many open console event streams (${CONSOLE_MAX_STREAMS})`);
        reply.hijack();
        const res = reply.raw;
        res.writeHead(200, {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-store',
          'x-content-type-options': 'nosniff',
        });
        let busy = false;
        const end = (): void => {
          timer.cancel();
          open.delete(end);
          if (!res.writableEnded) res.end();
        };
        open.add(end);
        res.on('close', end);
        const push = async (): Promise<void> => {
          if (busy || res.writableEnded) return;
          busy = true;
          try {
            if (!(await sessions.resolve(id))) {
              res.write('event: end\ndata: {"reason":"signed out"}\n\n');
              end();
              return;
            }
            const programs = await store.listPrograms();
            const stats = await Promise.all(programs.map(async (p) => ({ id: p.id, title: p.title, stats: await qoe.programStats(p.id) })));
            if (!res.writableEnded) res.write(`event: stats\ndata: ${JSON.stringify({ programs: stats })}\n\n`);
          } catch (err) {
            request.log.warn({ err }, 'console events: stats failed');
          } finally {
            busy = false;
          }
        };
        const timer: TimerHandle = clock.setInterval(() => void push(), deps.periodMs ?? CONSOLE_EVENTS_MS);
        void push();
      },
    );
  };
}
