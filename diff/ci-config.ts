/**
 * dive's CI configuration: a `.dive-ci` YAML file (`rules: { lowestEfficiency, highestWastedBytes,
 * highestUserWastedPercent }`), each value a number, a byte size (`20MB`) for highestWastedBytes, or `disabled`.
 */
import { parse as parseYaml } from 'yaml';
import { TsbuildError } from '../util/errors.ts';
import type { CiRules } from './analyze.ts';

/** Where a rule value came from, for error messages. */
export interface CiConfigSource {
  readonly file?: string;
}

const DEC: Record<string, number> = { '': 1, b: 1, k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, t: 1e12, tb: 1e12 };
const BIN: Record<string, number> = { kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4 };

/** go-humanize ParseBytes, as dive uses it: `20MB` = 20,000,000, `20MiB` = 20,971,520, `512` = 512. */
export function parseBytes(s: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(s);
  const unit = m?.[2]?.toLowerCase() ?? '';
  const mult = DEC[unit] ?? BIN[unit];
  if (!m || mult === undefined)
    throw new TsbuildError('analyze/bad-size', `invalid byte size ${JSON.stringify(s)}`, { exitCode: 2, suggestion: 'use e.g. 20MB, 1.5GiB or 512' });
  return Math.floor(Number(m[1]) * mult);
}

function ratio(name: string, v: unknown, src: CiConfigSource): number | undefined {
  if (v === undefined || v === null || v === 'disabled') return undefined;
  const n = typeof v === 'number' ? v : Number(String(v).trim());
  if (!Number.isFinite(n) || n < 0 || n > 1)
    throw new TsbuildError('analyze/bad-rule', `${name} must be a number between 0 and 1 or "disabled", got ${JSON.stringify(v)}${src.file ? ` in ${src.file}` : ''}`, { exitCode: 2 });
  return n;
}

/** Reads rules from `.dive-ci` text; absent rules stay undefined (the caller applies defaults). */
export function parseCiConfig(text: string, src: CiConfigSource = {}): { rules: CiRules; present: Set<keyof CiRules> } {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new TsbuildError('analyze/bad-ci-file', `cannot parse ${src.file ?? 'the CI file'}: ${(e as Error).message}`, { exitCode: 2 });
  }
  const rules = ((doc as { rules?: Record<string, unknown> } | null)?.rules ?? {}) as Record<string, unknown>;
  const present = new Set<keyof CiRules>();
  const out: { -readonly [K in keyof CiRules]: CiRules[K] } = {};
  for (const k of Object.keys(rules)) {
    if (k === 'lowestEfficiency' || k === 'highestUserWastedPercent') {
      present.add(k);
      const v = ratio(k, rules[k], src);
      if (v !== undefined) out[k] = v;
    } else if (k === 'highestWastedBytes') {
      present.add(k);
      const v = rules[k];
      if (v !== 'disabled' && v !== null && v !== undefined) out.highestWastedBytes = typeof v === 'number' ? v : parseBytes(String(v));
    } else {
      throw new TsbuildError('analyze/bad-rule', `unknown rule ${JSON.stringify(k)}${src.file ? ` in ${src.file}` : ''}`, {
        exitCode: 2,
        suggestion: 'rules are lowestEfficiency, highestWastedBytes and highestUserWastedPercent',
      });
    }
  }
  return { rules: out, present };
}
