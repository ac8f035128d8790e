/**
 * Environment helpers around word expansion: `K=V` lists (image config `Env`, `--build-arg`) to lookup maps and
 * back, and the expansion BuildKit applies to ENV / LABEL / ARG key-value pairs.
 */
import { processWord, type ShellEnv, type ShellLexOptions } from './lexer.ts';

/**
 * `K=V` entries to a lookup map. Splits at the first `=`; an entry without `=` is `K` set to ''. The last entry
 * for a key wins, and it also moves to the end of the map's order so that a later case-insensitive fold (Windows)
 * sees the entries in the order they were written, as BuildKit does.
 */
export function envListToMap(entries: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const e of entries) {
    const eq = e.indexOf('=');
    const key = eq < 0 ? e : e.slice(0, eq);
    const value = eq < 0 ? '' : e.slice(eq + 1);
    map.delete(key);
    map.set(key, value);
  }
  return map;
}

/** A lookup map back to a `K=V` list, in map order. */
export function envMapToList(env: ShellEnv): string[] {
  const out: string[] = [];
  for (const [k, v] of env) out.push(`${k}=${v}`);
  return out;
}

/**
 * One ENV/LABEL/ARG pair as the parser leaves it: quotes and escapes still in place (`name="a b"` arrives as key
 * `name`, value `"a b"`). `value` is undefined for a bare `ARG name`.
 */
export interface RawKeyValue<V extends string | undefined = string> {
  readonly key: string;
  readonly value: V;
}

/** Pairs after expansion, plus which variables they referenced. */
export interface ExpandedKeyValues<V extends string | undefined = string> {
  readonly pairs: RawKeyValue<V>[];
  readonly matched: ReadonlySet<string>;
  readonly unmatched: ReadonlySet<string>;
}

/**
 * Expand ENV / LABEL / ARG pairs the way BuildKit's dispatcher does: key and value each go through
 * {@link processWord} (removing quotes, resolving escapes, substituting variables), and every pair of one
 * instruction sees the same `env`, so `ENV abc=bye def=$abc` gives def the value abc had *before* the
 * instruction. A legacy `ENV k v w` value (`v w`, verbatim) keeps its inner whitespace since processWord never
 * splits. Throws ShellExpansionError.
 */
export function expandKeyValuePairs<V extends string | undefined>(
  pairs: readonly RawKeyValue<V>[],
  env: ShellEnv,
  opts: ShellLexOptions = {},
): ExpandedKeyValues<V> {
  const matched = new Set<string>();
  const unmatched = new Set<string>();
  const absorb = (r: { matched: ReadonlySet<string>; unmatched: ReadonlySet<string> }): void => {
    for (const n of r.matched) matched.add(n);
    for (const n of r.unmatched) unmatched.add(n);
  };
  const out = pairs.map((p) => {
    const key = processWord(p.key, env, opts);
    absorb(key);
    let value = p.value;
    if (p.value !== undefined) {
      const v = processWord(p.value, env, opts);
      absorb(v);
      value = v.value as V;
    }
    return { key: key.value, value };
  });
  return { pairs: out, matched, unmatched };
}
