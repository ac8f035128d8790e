/** Suppressions, BuildKit's check directive, severities, configuration files and failure thresholds. */
import { describe, expect, it } from 'vitest';
import { lint, lintConfigFrom, RULES, type Rule } from '../../compiler/lint/index.ts';
import { parseTolerant } from '../../grammar/index.ts';
import { codes, lintText } from './helpers.ts';

describe('suppressions', () => {
  it('# hadolint ignore=… above an instruction', () => {
    const src = 'FROM debian:12\n# hadolint ignore=DL3008,DL3015\nRUN apt-get install -y curl && rm -rf /var/lib/apt/lists/*\n';
    expect(codes(src)).not.toContain('DL3008');
    expect(codes(src)).not.toContain('UnusedSuppression');
  });
  it('# tsbuild ignore=RULE -- reason; only the next instruction', () => {
    const src = 'FROM alpine:3\n# tsbuild ignore=DL3004 -- needed for the test\nRUN sudo a\nRUN sudo b\n';
    const f = lintText(src).filter((x) => x.code === 'DL3004');
    expect(f.map((x) => x.range.start.line)).toEqual([4]);
  });
  it('stage- and file-wide forms', () => {
    const stage = 'FROM alpine:3 AS a\nRUN sudo a\n# tsbuild ignore-stage=DL3004\nFROM alpine:3\nRUN sudo b\nRUN sudo c\n';
    expect(lintText(stage).filter((x) => x.code === 'DL3004').map((x) => x.range.start.line)).toEqual([2]);
    const file = '# hadolint global ignore=DL3004\nFROM alpine:3\nRUN sudo a\nFROM alpine:3\nRUN sudo b\n';
    expect(codes(file)).not.toContain('DL3004');
  });
  it('unused suppressions and unknown rule names are reported', () => {
    expect(codes('FROM alpine:3\n# hadolint ignore=DL3008\nRUN echo\n')).toContain('UnusedSuppression');
    expect(lintText('FROM alpine:3\n# tsbuild ignore=NoSuchRule\nRUN echo\n').find((x) => x.code === 'UnusedSuppression')?.message).toMatch(/unknown rule NoSuchRule/);
  });
  it("BuildKit's # check=skip=…;error=true directive", () => {
    expect(codes('# check=skip=StageNameCasing\nFROM alpine:3 AS Foo\n')).not.toContain('StageNameCasing');
    expect(codes('# check=skip=all\nFROM alpine:3 AS Foo\nMAINTAINER x\n')).toEqual(expect.not.arrayContaining(['StageNameCasing', 'MaintainerDeprecated']));
    const err = lintText('# check=error=true\nFROM alpine:3 AS Foo\n').find((x) => x.code === 'StageNameCasing');
    expect(err?.severity).toBe('error');
    expect(codes('# check=experimental=CopyIgnoredFile\nFROM alpine:3\nCOPY x /x\n', { isIgnored: () => true })).toContain('CopyIgnoredFile');
  });
  it('overrides and ignored from options', () => {
    expect(lintText('FROM alpine:3\nRUN sudo x\n', { overrides: new Map([['DL3004', 'info']]) }).find((x) => x.code === 'DL3004')?.severity).toBe('info');
    expect(codes('FROM alpine:3\nRUN sudo x\n', { ignored: ['DL3004'] })).not.toContain('DL3004');
  });
  it('a rule switched off by an override does not run; the defaults run when no option changes them', () => {
    expect(codes('FROM alpine:3\nRUN sudo x\n', { overrides: new Map([['DL3004', 'ignore']]) })).not.toContain('DL3004');
    expect(codes('FROM alpine:3\nRUN sudo x\n', { overrides: new Map(), ignored: [] })).toContain('DL3004');
    // experimental rules stay off by default, with or without options
    expect(codes('FROM alpine:3\nCOPY x /x\n', { isIgnored: () => true })).not.toContain('CopyIgnoredFile');
    expect(codes('FROM alpine:3\nCOPY x /x\n', { isIgnored: () => true, experimental: ['CopyIgnoredFile'] })).toContain('CopyIgnoredFile');
  });
});

describe('finding order', () => {
  it('by position, then by rule code in locale order (known and unknown codes alike)', () => {
    const at0 = (code: string): Rule => ({
      code,
      name: code,
      source: 'tsbuild',
      severity: 'warning',
      docsUrl: '',
      description: '',
      check: (ctx) => ctx.report(ctx.df.instructions[0]!.range, code),
    });
    const codesIn = ['StageNameCasing', 'zeta-custom', 'DL3006', 'Alpha-custom', 'dl3000', 'DeprecatedX', 'DL3004'];
    const df = parseTolerant('FROM alpine:3\n').dockerfile;
    const out = lint(df, { rules: codesIn.map(at0), reportUnusedSuppressions: false }).map((f) => f.code);
    expect(out).toEqual([...codesIn].sort((a, b) => a.localeCompare(b)));
  });
  it("the rule codes' code-unit order is their locale order (the ranks that spare start-up a collator rely on it)", () => {
    const known = [...new Set(RULES.map((r) => r.code))];
    expect([...known].sort()).toEqual([...known].sort((a, b) => a.localeCompare(b)));
  });
});

describe('config files', () => {
  it('reads .hadolint.yaml keys as-is and merges a .tsbuild.yaml lint section', () => {
    const cfg = lintConfigFrom([
      { where: '.hadolint.yaml', data: { ignored: ['DL3008'], 'failure-threshold': 'error', override: { info: ['DL3004'] }, trustedRegistries: ['docker.io'], 'label-schema': { maintainer: 'email' }, 'strict-labels': true } },
      { where: '.tsbuild.yaml', data: { ignored: ['DL3059'] } },
    ]);
    expect(cfg.problems).toEqual([]);
    expect(cfg.ignored).toEqual(['DL3008', 'DL3059']);
    expect(cfg.failureThreshold).toBe('error');
    expect(cfg.overrides.get('DL3004')).toBe('info');
    expect(cfg.labelSchema.get('maintainer')).toBe('email');
    expect(cfg.strictLabels).toBe(true);
  });
  it('reports unknown keys and bad values', () => {
    const cfg = lintConfigFrom([{ where: 'x.yaml', data: { ignore: ['DL1'], 'failure-threshold': 'loud', override: { fatal: ['DL1'] } } }]);
    expect(cfg.problems.join('\n')).toMatch(/unknown key "ignore"[\s\S]*failure-threshold[\s\S]*fatal/);
  });
});
