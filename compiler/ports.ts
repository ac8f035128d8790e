/**
 * EXPOSE port specs exactly as BuildKit's parsePortSpec: `[ip:][hostPort:]port[-end][/proto]`, proto tcp (default),
 * udp or sctp; a range expands to one `port/proto` per port.
 */
import { TsbuildError } from '../util/errors.ts';

function bad(message: string): TsbuildError {
  return new TsbuildError('compile/invalid-port', message, { suggestion: 'ports look like 80, 80/tcp, 53/udp or 8000-8002' });
}

function parseRange(s: string): [number, number] | undefined {
  const one = (x: string): number | undefined => (/^\d+$/.test(x) && Number(x) <= 65535 ? Number(x) : undefined);
  if (!s.includes('-')) {
    const n = one(s);
    return n === undefined ? undefined : [n, n];
  }
  const parts = s.split('-');
  if (parts.length !== 2) return undefined;
  const a = one(parts[0]!);
  const b = one(parts[1]!);
  if (a === undefined || b === undefined || b < a) return undefined;
  return [a, b];
}

/** Expands one EXPOSE word into `port/proto` entries; throws TsbuildError `compile/invalid-port` (no range). */
export function parsePortSpec(raw: string): string[] {
  const parts = raw.split(':');
  const containerRaw = parts[parts.length - 1]!;
  const hostPort = parts.length >= 2 ? parts[parts.length - 2]! : '';
  const [port = '', protoRaw = ''] = splitOnce(containerRaw, '/');
  if (port === '') throw bad(`no port specified: ${raw}<empty>`);
  const proto = protoRaw.toLowerCase() === '' ? 'tcp' : protoRaw.toLowerCase();
  if (proto !== 'tcp' && proto !== 'udp' && proto !== 'sctp') throw bad(`invalid proto: ${proto}`);
  const r = parseRange(port);
  if (!r) throw bad(`invalid containerPort: ${port}`);
  if (hostPort !== '') {
    const h = parseRange(hostPort);
    if (!h) throw bad(`invalid hostPort: ${hostPort}`);
    if (r[1] - r[0] !== h[1] - h[0] && r[1] !== r[0]) {
      throw bad(`invalid ranges specified for container and host Ports: ${port} and ${hostPort}`);
    }
  }
  const out: string[] = [];
  for (let p = r[0]; p <= r[1]; p++) out.push(`${p}/${proto}`);
  return out;
}

function splitOnce(s: string, sep: string): [string, string] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, ''] : [s.slice(0, i), s.slice(i + 1)];
}
