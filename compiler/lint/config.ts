/**
 * Lint configuration from `.tsbuild.yaml` (its `lint:` section) and hadolint's `.hadolint.yaml`, read as-is:
 * `ignored`, `failure-threshold`, `override: {error: [...], warning: [...], info: [...], style: [...]}`,
 * `trustedRegistries`, `label-schema`, `strict-labels`. The CLI reads the files; this turns their parsed YAML
 * into options (pure). Unknown keys are reported, not ignored silently.
 */
import type { RuleLevel } from './types.ts';

export interface LintConfig {
  ignored: string[];
  failureThreshold?: RuleLevel;
  overrides: Map<string, RuleLevel>;
  trustedRegistries: string[];
  labelSchema: Map<string, string>;
  strictLabels: boolean;
  /** Problems with the config itself (unknown keys, bad values), as messages. */
  problems: string[];
}

const LEVELS = ['error', 'warning', 'info', 'style', 'ignore'] as const;
const KNOWN = new Set(['ignored', 'failure-threshold', 'failureThreshold', 'override', 'trustedRegistries', 'trusted-registries', 'label-schema', 'labelSchema', 'strict-labels', 'strictLabels', 'no-fail', 'no-color', 'format', 'verbose', 'disable-ignore-pragma']);

/** Merges parsed config objects (later wins for scalars, lists concatenate). `where` names each for messages. */
export function lintConfigFrom(sources: readonly { where: string; data: unknown }[]): LintConfig {
  const cfg: LintConfig = { ignored: [], overrides: new Map(), trustedRegistries: [], labelSchema: new Map(), strictLabels: false, problems: [] };
  for (const { where, data } of sources) {
    if (data === null || data === undefined) continue;
    if (typeof data !== 'object' || Array.isArray(data)) {
      cfg.problems.push(`${where}: expected a mapping`);
      continue;
    }
    const o = data as Record<string, unknown>;
    for (const k of Object.keys(o)) if (!KNOWN.has(k)) cfg.problems.push(`${where}: unknown key "${k}"`);
    const list = (v: unknown, key: string): string[] => {
      if (v === undefined) return [];
      if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
      cfg.problems.push(`${where}: "${key}" must be a list of strings`);
      return [];
    };
    cfg.ignored.push(...list(o.ignored, 'ignored'));
    const ft = o['failure-threshold'] ?? o.failureThreshold;
    if (ft !== undefined) {
      if (typeof ft === 'string' && (LEVELS as readonly string[]).includes(ft === 'none' ? 'ignore' : ft)) cfg.failureThreshold = (ft === 'none' ? 'ignore' : ft) as RuleLevel;
      else cfg.problems.push(`${where}: failure-threshold must be one of error, warning, info, style, none`);
    }
    if (o.override !== undefined) {
      if (typeof o.override !== 'object' || o.override === null) cfg.problems.push(`${where}: override must be a mapping`);
      else {
        for (const [level, codes] of Object.entries(o.override as Record<string, unknown>)) {
          if (!(LEVELS as readonly string[]).includes(level)) {
            cfg.problems.push(`${where}: override level "${level}" is not one of ${LEVELS.join(', ')}`);
            continue;
          }
          for (const c of list(codes, `override.${level}`)) cfg.overrides.set(c, level as RuleLevel);
        }
      }
    }
    cfg.trustedRegistries.push(...list(o.trustedRegistries ?? o['trusted-registries'], 'trustedRegistries'));
    const ls = o['label-schema'] ?? o.labelSchema;
    if (ls !== undefined) {
      if (typeof ls !== 'object' || ls === null) cfg.problems.push(`${where}: label-schema must be a mapping`);
      else for (const [k, v] of Object.entries(ls as Record<string, unknown>)) cfg.labelSchema.set(k, String(v));
    }
    const sl = o['strict-labels'] ?? o.strictLabels;
    if (sl !== undefined) cfg.strictLabels = sl === true;
  }
  return cfg;
}
