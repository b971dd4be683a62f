/**
 * Child process: the ceiling Node itself sets on this machine for the tracker
 * load — a server that answers every announce with a constant bencoded body
 * and does no work. `http`: node:http; `net`: a raw socket that reads up to
 * the end of the request head and writes a fixed HTTP/1.0 answer; `cluster`:
 * the node:http server in one worker process per core sharing the port (what
 * a multi-process tracker could reach at best, before sharing any swarm
 * state). Sends {port} over IPC.
 */
import cluster from 'node:cluster';
import { createServer as createHttp, type Server } from 'node:http';
import { createServer as createNet } from 'node:net';
import { availableParallelism } from 'node:os';

const BODY = 'd8:intervali30e12:min intervali15e8:completei1e10:incompletei1e5:peers0:e';
const mode = process.argv[2] ?? 'http';

function ready(port: number): void {
  process.send?.({ port });
}

function portOf(srv: Server | ReturnType<typeof createNet>): number {
  const a = srv.address();
  return typeof a === 'object' && a ? a.port : 0;
}

function httpServer(): Server {
  return createHttp((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': BODY.length });
    res.end(BODY);
  });
}

if (mode === 'http') {
  const srv = httpServer();
  srv.listen(0, '127.0.0.1', () => ready(portOf(srv)));
} else if (mode === 'cluster') {
  if (cluster.isPrimary) {
    // The kernel spreads connections over the workers' shared socket; round robin would make the primary a bottleneck.
    cluster.schedulingPolicy = cluster.SCHED_NONE;
    const workers = availableParallelism();
    let listening = 0;
    for (let i = 0; i < workers; i++) {
      cluster.fork().on('message', (m: { port: number }) => {
        if (++listening === workers) ready(m.port);
      });
    }
    const stop = (): void => {
      for (const w of Object.values(cluster.workers ?? {})) w?.kill();
      process.exit(0);
    };
    process.on('SIGTERM', stop);
    process.on('disconnect', stop);
  } else {
    // Workers given port 0 share one port the primary picks.
    const srv = httpServer();
    srv.listen(0, '127.0.0.1', () => process.send?.({ port: portOf(srv) }));
  }
} else {
  const answer = Buffer.from(`HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${BODY.length}\r\nConnection: close\r\n\r\n${BODY}`);
  const srv = createNet((socket) => {
    let head = '';
    socket.setEncoding('latin1');
    socket.on('error', () => undefined);
    socket.on('data', (s: string) => {
      head += s;
      if (head.includes('\r\n\r\n')) socket.end(answer);
      else if (head.length > 16_384) socket.destroy();
    });
  });
  srv.listen(0, '127.0.0.1', () => ready(portOf(srv)));
}
if (!cluster.isWorker) process.on('disconnect', () => process.exit(0));
