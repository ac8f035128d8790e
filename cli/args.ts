/**
 * A small docker-style argument parser shared by the subcommands: long and short options, `--opt=value` and
 * `--opt value`, repeatable options, `--` ends options, and unknown options rejected with a "did you mean" hint
 * (exit code 2). node:util's parseArgs has no did-you-mean and no per-option repeat/boolean mixing, hence this.
 */
import { TsbuildError, closest } from '../util/errors.ts';

export interface OptionSpec {
  /** Long name without dashes, e.g. `tag`. */
  readonly name: string;
  /** One-letter alias without the dash, e.g. `t`. */
  readonly short?: string;
  /** `string` options take a value; `boolean` ones do not (`--flag=false` is accepted). */
  readonly type: 'string' | 'boolean';
  readonly multiple?: boolean;
}

export interface ParsedArgs {
  readonly values: Record<string, string | boolean | string[] | undefined>;
  readonly positionals: string[];
}

export function parseArgs(command: string, args: readonly string[], specs: readonly OptionSpec[]): ParsedArgs {
  const byLong = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.filter((s) => s.short).map((s) => [s.short!, s]));
  const values: Record<string, string | boolean | string[] | undefined> = {};
  for (const s of specs) if (s.multiple) values[s.name] = [];
  const positionals: string[] = [];

  const set = (spec: OptionSpec, v: string | boolean): void => {
    if (spec.multiple) (values[spec.name] as string[]).push(String(v));
    else values[spec.name] = v;
  };
  const unknown = (flag: string): never => {
    const names = specs.map((s) => `--${s.name}`);
    const hint = flag.startsWith('--') ? closest(flag, names) : undefined;
    throw new TsbuildError('usage/unknown-flag', `unknown flag: ${flag} (tsbuild ${command})`, {
      exitCode: 2,
      suggestion: hint ? `did you mean ${hint}?` : `run "tsbuild ${command} --help" for the options`,
    });
  };

  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq === -1 ? a.slice(2) : a.slice(2, eq);
      const spec = byLong.get(name) ?? unknown(eq === -1 ? a : a.slice(0, eq));
      if (spec.type === 'boolean') {
        const v = eq === -1 ? true : !['false', '0', 'no'].includes(a.slice(eq + 1).toLowerCase());
        set(spec, v);
      } else if (eq !== -1) set(spec, a.slice(eq + 1));
      else {
        const v = args[++i];
        if (v === undefined) throw new TsbuildError('usage/missing-value', `flag needs an argument: --${name}`, { exitCode: 2 });
        set(spec, v);
      }
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      // -q, -t name, -tname, -qf file
      for (let j = 1; j < a.length; j++) {
        const spec = byShort.get(a[j]!) ?? unknown(`-${a[j]}`);
        if (spec.type === 'boolean') {
          set(spec, true);
          continue;
        }
        const rest = a.slice(j + 1);
        const v = rest !== '' ? rest.replace(/^=/, '') : args[++i];
        if (v === undefined) throw new TsbuildError('usage/missing-value', `flag needs an argument: -${a[j]}`, { exitCode: 2 });
        set(spec, v);
        break;
      }
      continue;
    }
    positionals.push(a);
  }
  return { values, positionals };
}

export const str = (v: ParsedArgs['values'][string]): string | undefined => (typeof v === 'string' ? v : undefined);
export const list = (v: ParsedArgs['values'][string]): string[] => (Array.isArray(v) ? v : []);
export const bool = (v: ParsedArgs['values'][string]): boolean => v === true;

/** `K=V` or `K` (value from the environment, as docker does; absent from env = skipped). */
export function parseKeyValues(items: readonly string[], env: NodeJS.ProcessEnv, what: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq === 0) throw new TsbuildError('usage/bad-key-value', `invalid ${what} "${item}": empty name`, { exitCode: 2 });
    if (eq === -1) {
      const v = env[item];
      if (v !== undefined) out.set(item, v);
    } else out.set(item.slice(0, eq), item.slice(eq + 1));
  }
  return out;
}

/** Parses `a=b,c=d` attribute lists as buildx does for --output, --secret, --cache-to. */
export function parseAttrs(spec: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of spec.split(',')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq === -1) out.set(part, '');
    else out.set(part.slice(0, eq).trim(), part.slice(eq + 1));
  }
  return out;
}
