/**
 * Child process: the ceiling Node itself sets on this machine for the tracker
 * load — a server that answers every announce with a constant bencoded body
 * and does no work. `http`: node:http; `net`: a raw socket that reads up to
 * the end of the request head and writes a fixed HTTP/1.0 answer. Sends
 * {port} over IPC.
 */
import { createServer as createHttp } from 'node:http';
import { createServer as createNet } from 'node:net';

const BODY = 'd8:intervali30e12:min intervali15e8:completei1e10:incompletei1e5:peers0:e';
const mode = process.argv[2] ?? 'http';

function ready(port: number): void {
  process.send?.({ port });
}

if (mode === 'http') {
  const srv = createHttp((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': BODY.length });
    res.end(BODY);
  });
  srv.listen(0, '127.0.0.1', () => {
    const a = srv.address();
    ready(typeof a === 'object' && a ? a.port : 0);
  });
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
  srv.listen(0, '127.0.0.1', () => {
    const a = srv.address();
    ready(typeof a === 'object' && a ? a.port : 0);
  });
}
process.on('disconnect', () => process.exit(0));
