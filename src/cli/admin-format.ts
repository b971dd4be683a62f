/** Plain-text tables for `gatecast admin` listings. */
import type { SessionView } from '../control/schemas.js';
import { formatBitRate } from '../peer/status-line.js';

export function table(headers: string[], rows: string[][]): string {
  if (rows.length === 0) return '(none)\n';
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

/** ISO time without milliseconds, easier to read in a terminal. */
export function shortTime(iso: string | null): string {
  return iso === null ? '-' : iso.replace(/\.\d{3}Z$/, 'Z');
}

/** The parts of a disconnect view the console prints. */
export interface DisconnectLine {
  id: string;
  session: string;
  user: string;
  program: string;
  state: 'pending' | 'completed';
  outcome: string | null;
  reason: string;
  timeline: Array<{ event: string; ms: number }>;
}

/** "command_sent +2ms, tracker_ack +4ms, client_stopped +31ms, control_ack +31ms". */
export function timelineSummary(d: Pick<DisconnectLine, 'timeline'>): string {
  return d.timeline.length === 0 ? '-' : d.timeline.map((e) => `${e.event} +${e.ms}ms`).join(', ');
}

export function disconnectState(d: Pick<DisconnectLine, 'state' | 'outcome'>): string {
  return d.state === 'completed' ? `completed (${d.outcome ?? '?'})` : 'pending';
}

export function disconnectTable(list: DisconnectLine[]): string {
  return table(
    ['DISCONNECT', 'USER', 'SESSION', 'STATE', 'REASON', 'TIMELINE'],
    list.map((d) => [d.id, d.user, d.session, disconnectState(d), d.reason, timelineSummary(d)]),
  );
}

/** What `kick` and `revoke` print for each session they told to end. */
export function kickLine(d: DisconnectLine): string {
  const what = d.state === 'pending' ? 'told to end' : d.outcome === 'not_joined' ? 'ended at once (it had not joined a swarm)' : `already ended (${d.outcome ?? '?'})`;
  return `  session ${d.session} (user ${d.user}, program ${d.program}): ${what} [disconnect ${d.id}]\n`;
}

const pct = (v: number | null | undefined, digits = 0): string => (v === null || v === undefined ? '-' : `${(v * 100).toFixed(digits)}%`);

/** `gatecast admin sessions`: who is in the system, and how well it plays for them (the client's latest QoE report). */
export function sessionTable(list: SessionView[]): string {
  return table(
    ['SESSION', 'USER', 'PROGRAM', 'STATE', 'FROM', 'SINCE', 'CONTINUITY', 'BEHIND', 'FROM PEERS', 'DOWN', 'PEERS'],
    list.map((s) => {
      const q = s.qoe ?? null;
      return [
        s.id,
        s.user,
        s.program,
        s.state === 'ended' && s.end_reason ? `ended (${s.end_reason})` : s.state,
        s.ip === null ? '-' : `${s.ip.includes(':') ? `[${s.ip}]` : s.ip}:${s.port ?? '?'}`,
        shortTime(s.since),
        pct(q?.continuity, 1),
        q?.behind_live_s === null || q?.behind_live_s === undefined ? '-' : `${q.behind_live_s.toFixed(1)} s`,
        pct(q?.from_peers_share),
        q ? formatBitRate(q.down_bps) : '-',
        q ? String(q.peers) : '-',
      ];
    }),
  );
}
