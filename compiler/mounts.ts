/**
 * `RUN --mount=…` parsing with BuildKit's keys, defaults and error messages (instructions/commands_runmount.go).
 * Values are expanded by the caller-supplied expander; `from=` must not contain a variable.
 */
import { TsbuildError } from '../util/errors.ts';
import { parseGoBool } from './flags.ts';
import { closest } from '../util/errors.ts';

export type MountType = 'bind' | 'cache' | 'tmpfs' | 'secret' | 'ssh';
const TYPES: readonly MountType[] = ['bind', 'cache', 'tmpfs', 'secret', 'ssh'];
const SHARING = ['shared', 'private', 'locked'] as const;
const ALL_KEYS = ['type', 'from', 'source', 'target', 'readonly', 'id', 'sharing', 'required', 'mode', 'uid', 'gid', 'src', 'dst', 'destination', 'ro', 'rw', 'readwrite', 'size', 'env'];

/** A mount as written, after expansion and defaults, before stage/context resolution. */
export interface ParsedMount {
  readonly type: MountType;
  readonly target: string;
  readonly source: string;
  readonly from?: string;
  readonly readonly: boolean;
  readonly id: string;
  readonly sharing?: 'shared' | 'private' | 'locked';
  readonly size?: number;
  readonly required: boolean;
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
  readonly env?: string;
}

function bad(message: string, suggestion?: string): TsbuildError {
  return new TsbuildError('compile/invalid-mount', message, suggestion !== undefined ? { suggestion } : {});
}

/** Go encoding/csv for one record (comma separated, `"` quoting with `""` escapes). */
export function splitCsv(s: string): string[] {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (s[i] === '"') {
      i++;
      for (;;) {
        if (i >= s.length) throw bad(`failed to parse csv mounts: extraneous or missing " in quoted-field`);
        if (s[i] === '"') {
          if (s[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += s[i++];
      }
      if (i < s.length && s[i] !== ',') throw bad(`failed to parse csv mounts: extraneous or missing " in quoted-field`);
    } else {
      while (i < s.length && s[i] !== ',') {
        if (s[i] === '"') throw bad(`failed to parse csv mounts: bare " in non-quoted-field`);
        field += s[i++];
      }
    }
    out.push(field);
    if (i >= s.length) return out;
    i++; // the comma
  }
}

/** docker/go-units RAMInBytes: `64m`, `1g`, `512KiB`, plain bytes; binary multipliers. */
export function ramInBytes(s: string): number | undefined {
  const m = /^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(s);
  if (!m) return undefined;
  const n = Number(m[1]);
  if (!Number.isFinite(n)) return undefined;
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 }[(m[2] ?? '').toLowerCase()] ?? 1;
  return Math.floor(n * mult);
}

/** Parses one `--mount` value. `expand` processes each value (not keys); it may throw ShellExpansionError. */
export function parseMount(val: string, expand: (w: string) => string, sshIndex: number): ParsedMount {
  let type: MountType = 'bind';
  let target = '';
  let source = '';
  let from: string | undefined;
  let ro: boolean | undefined;
  let id = '';
  let sharing: ParsedMount['sharing'];
  let size: number | undefined;
  let required = false;
  let mode: number | undefined;
  let uid: number | undefined;
  let gid: number | undefined;
  let env: string | undefined;
  for (const field of splitCsv(val)) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    if (eq < 0) {
      if (key === 'readonly' || key === 'ro') ro = true;
      else if (key === 'readwrite' || key === 'rw') ro = false;
      else if (key === 'required') {
        if (type !== 'secret' && type !== 'ssh') throw bad(`unexpected key '${key}' for mount type '${type}'`);
        required = true;
      } else throw bad(`invalid field '${field}' must be a key=value pair`);
      continue;
    }
    const raw = field.slice(eq + 1);
    if (key === 'from' && /\$./.test(raw)) {
      throw bad(`'from' doesn't support variable expansion, define alias stage instead`, 'add `FROM $X AS name` and use from=name');
    }
    const value = key === 'from' ? raw : expand(raw);
    const boolOf = (): boolean => {
      const b = parseGoBool(value);
      if (b === undefined) throw bad(`invalid value for ${key}: ${value}`);
      return b;
    };
    const uintOf = (radix: 8 | 10): number => {
      const ok = radix === 8 ? /^[0-7]+$/.test(value) : /^\d+$/.test(value);
      const n = ok ? parseInt(value, radix) : NaN;
      if (!ok || n > 0xffffffff) throw bad(`invalid value ${value} for ${key}`);
      return n;
    };
    switch (key) {
      case 'type': {
        const v = value.toLowerCase() as MountType;
        if (!TYPES.includes(v)) {
          const c = closest(value, TYPES);
          throw bad(`unsupported mount type ${JSON.stringify(value)}`, c ? `did you mean ${c}?` : `types: ${TYPES.join(', ')}`);
        }
        type = v;
        break;
      }
      case 'from':
        from = value;
        break;
      case 'source':
      case 'src':
        source = value;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        target = value;
        break;
      case 'readonly':
      case 'ro':
        ro = boolOf();
        break;
      case 'readwrite':
      case 'rw':
        ro = !boolOf();
        break;
      case 'required':
        if (type !== 'secret' && type !== 'ssh') throw bad(`unexpected key '${key}' for mount type '${type}'`);
        required = boolOf();
        break;
      case 'size': {
        if (type !== 'tmpfs') throw bad(`unexpected key '${key}' for mount type '${type}'`);
        const n = ramInBytes(value);
        if (n === undefined) throw bad(`invalid value for ${key}: ${value}`);
        size = n;
        break;
      }
      case 'id':
        id = value;
        break;
      case 'sharing': {
        const v = value.toLowerCase();
        if (!(SHARING as readonly string[]).includes(v)) {
          const c = closest(value, SHARING);
          throw bad(`unsupported sharing value ${JSON.stringify(value)}`, c ? `did you mean ${c}?` : `values: ${SHARING.join(', ')}`);
        }
        sharing = v as ParsedMount['sharing'];
        break;
      }
      case 'mode':
        mode = uintOf(8);
        break;
      case 'uid':
        uid = uintOf(10);
        break;
      case 'gid':
        gid = uintOf(10);
        break;
      case 'env':
        if (type !== 'secret') throw bad(`unexpected key '${key}' for mount type '${type}'`);
        env = value;
        break;
      default: {
        const c = closest(key, ALL_KEYS);
        throw bad(`unexpected key '${key}' in '${field}'`, c ? `did you mean ${c}?` : undefined);
      }
    }
  }
  const fileInfoAllowed = type === 'secret' || type === 'ssh' || type === 'cache';
  if (!fileInfoAllowed) {
    if (mode !== undefined) throw bad(`mode not allowed for ${JSON.stringify(type)} type mounts`);
    if (uid !== undefined) throw bad(`uid not allowed for ${JSON.stringify(type)} type mounts`);
    if (gid !== undefined) throw bad(`gid not allowed for ${JSON.stringify(type)} type mounts`);
  }
  const readonly = ro ?? !(type === 'cache' || type === 'tmpfs');
  if (type === 'secret') {
    if (from !== undefined) throw bad('secret mount should not have a from');
    if (sharing !== undefined) throw bad('secret mount should not define sharing');
    if (source === '' && target === '' && id === '' && env === undefined) throw bad('invalid secret mount. one of source, target required');
    if (source !== '' && id !== '') throw bad("both source and id can't be set");
    if (source !== '') id = source;
    if (id === '') id = target === '' ? '' : target.split('/').filter(Boolean).pop() ?? '';
    if (id === '') throw bad('invalid secret mount. one of source, target required');
    if (target === '' && env === undefined) target = `/run/secrets/${id}`;
  }
  if (sharing !== undefined && type !== 'cache') throw bad(`invalid cache sharing set for ${type} mount`);
  if (type === 'ssh') {
    if (id === '') id = 'default';
    if (target === '') target = `/run/buildkit/ssh_agent.${sshIndex}`;
  }
  // No target is not an error in BuildKit: a relative (even empty) target resolves against WORKDIR.
  return {
    type,
    target,
    source,
    ...(from !== undefined ? { from } : {}),
    readonly,
    id,
    ...(sharing !== undefined ? { sharing } : {}),
    ...(size !== undefined ? { size } : {}),
    required,
    ...(mode !== undefined ? { mode } : {}),
    ...(uid !== undefined ? { uid } : {}),
    ...(gid !== undefined ? { gid } : {}),
    ...(env !== undefined ? { env } : {}),
  };
}
