/** Plain-text tables for `gatecast admin` listings. */
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
