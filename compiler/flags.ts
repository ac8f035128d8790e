/**
 * Per-instruction flag validation (BuildKit's BFlags): which `--flags` each instruction accepts, their types,
 * and the errors for unknown, duplicate, valueless or non-boolean flags.
 */
import type { Flag, InstructionKind } from '../grammar/ast.ts';
import { compileError, didYouMean } from './diag.ts';

type FlagType = 'string' | 'strings' | 'bool';

/** Accepted flags per instruction kind; kinds not listed accept none. */
export const FLAG_SPECS: Partial<Record<InstructionKind, Readonly<Record<string, FlagType>>>> = {
  FROM: { platform: 'string' },
  RUN: { mount: 'strings', network: 'string', security: 'string' },
  COPY: { from: 'string', chown: 'string', chmod: 'string', link: 'bool', parents: 'bool', exclude: 'strings' },
  ADD: {
    chown: 'string',
    chmod: 'string',
    link: 'bool',
    'keep-git-dir': 'bool',
    checksum: 'string',
    exclude: 'strings',
    unpack: 'bool',
  },
  HEALTHCHECK: { interval: 'string', timeout: 'string', 'start-period': 'string', 'start-interval': 'string', retries: 'string' },
};

/** Parsed flags: strings by name, repeated flags as lists, booleans; each with the flag node for positions. */
export interface ParsedFlags {
  readonly strings: ReadonlyMap<string, { value: string; flag: Flag }>;
  readonly lists: ReadonlyMap<string, readonly { value: string; flag: Flag }[]>;
  readonly bools: ReadonlyMap<string, { value: boolean; flag: Flag }>;
}

/** Validates an instruction's flags against its spec; throws TsbuildError with the offending flag's range. */
export function parseFlags(kind: InstructionKind, flags: readonly Flag[], file: string | undefined): ParsedFlags {
  const spec = FLAG_SPECS[kind] ?? {};
  const strings = new Map<string, { value: string; flag: Flag }>();
  const lists = new Map<string, { value: string; flag: Flag }[]>();
  const bools = new Map<string, { value: boolean; flag: Flag }>();
  for (const f of flags) {
    const type = spec[f.name];
    const at = { file, range: f.range };
    if (type === undefined) {
      throw compileError('compile/unknown-flag', `unknown flag: --${f.name}`, { file, range: f.range }, didYouMean(f.name, Object.keys(spec), (c) => `--${c}`) ?? (Object.keys(spec).length === 0 ? `${kind} takes no flags` : `${kind} accepts ${Object.keys(spec).map((k) => `--${k}`).join(', ')}`));
    }
    if (type !== 'strings' && (strings.has(f.name) || bools.has(f.name))) {
      throw compileError('compile/duplicate-flag', `Duplicate flag specified: --${f.name}`, at);
    }
    if (type === 'bool') {
      let v = true;
      if (f.value !== null) {
        const b = parseGoBool(f.value);
        if (b === undefined) {
          throw compileError('compile/invalid-flag-value', `expecting boolean value for flag ${f.name}, not: ${f.value}`, { file, range: f.valueRange ?? f.range });
        }
        v = b;
      }
      bools.set(f.name, { value: v, flag: f });
      continue;
    }
    if (f.value === null) {
      throw compileError('compile/missing-flag-value', `missing a value on flag: --${f.name}`, at, `write --${f.name}=<value>`);
    }
    if (type === 'string') strings.set(f.name, { value: f.value, flag: f });
    else lists.set(f.name, [...(lists.get(f.name) ?? []), { value: f.value, flag: f }]);
  }
  return { strings, lists, bools };
}

/** Go's strconv.ParseBool. */
export function parseGoBool(s: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  return undefined;
}
