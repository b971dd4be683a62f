/**
 * A client address as the key of a per-address limit (login throttle, peer
 * handshake budget): IPv4 as is (an IPv4-mapped IPv6 address as its IPv4
 * form), IPv6 by its /64, since one host usually holds a whole /64 and could
 * otherwise take a new address for every attempt.
 */
export function addressKey(ip: string): string {
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (v4?.[1]) return `addr:${v4[1]}`;
  if (!ip.includes(':')) return `addr:${ip}`;
  const [head = '', tail] = ip.toLowerCase().split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `addr:${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}
