/** Output formats: SARIF 2.1.0 validated against its schema, checkstyle, gitlab, json and the tty code frame. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { RULES, formatFindings } from '../../compiler/lint/index.ts';
import { lintText, repoRoot } from './helpers.ts';

const src = 'from debian:latest as Build\nRUN apt-get update && \\\n    apt-get install curl\nCMD echo "a<b>&"\n';
const files = [{ file: 'sub/Dockerfile', source: src, findings: lintText(src) }];

describe('formats', () => {
  it('SARIF validates against the SARIF 2.1.0 schema and carries rules with help and results with regions', () => {
    const raw = JSON.parse(readFileSync(path.join(repoRoot, 'node_modules/@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json'), 'utf8'));
    // the schema is draft-04 (root `id`); Ajv 8 reads it as draft-07 once the root id is spelled `$id` (it uses
    // no draft-04-only keywords such as boolean exclusiveMinimum)
    const { id, $schema: _draft, ...rest } = raw;
    const schema = { $id: id, ...rest };
    const ajv = new (Ajv as unknown as typeof Ajv.default)({ allErrors: true, strict: false, validateSchema: false, unicodeRegExp: false });
    (addFormats as unknown as typeof addFormats.default)(ajv);
    const validate = ajv.compile(schema);
    const log = JSON.parse(formatFindings('sarif', files, RULES));
    const ok = validate(log);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
    const run = log.runs[0];
    expect(run.results.length).toBe(files[0]!.findings.length);
    const r0 = run.results.find((r: { ruleId: string }) => r.ruleId === 'DL3008');
    expect(r0.locations[0].physicalLocation.region).toMatchObject({ startLine: 3, startColumn: 21 });
    expect(r0.locations[0].physicalLocation.artifactLocation.uri).toBe('sub/Dockerfile');
    const rule = run.tool.driver.rules[r0.ruleIndex];
    expect(rule.id).toBe('DL3008');
    expect(rule.help.text).toContain('hadolint');
    // an invalid log is rejected: the validation can fail
    expect(validate({ version: '2.1.0', runs: [{ results: [] }] })).toBe(false);
  });
  it('checkstyle is escaped XML with one error per finding', () => {
    const x = formatFindings('checkstyle', files, RULES);
    expect(x).toMatch(/^<\?xml/);
    expect(x.match(/<error /g)?.length).toBe(files[0]!.findings.length);
    expect(x).not.toMatch(/message="[^"]*<[^"]*"/);
  });
  it('gitlab code quality has fingerprints, severities and locations', () => {
    const g = JSON.parse(formatFindings('gitlab', files, RULES));
    expect(g[0]).toMatchObject({ type: 'issue', location: { path: 'sub/Dockerfile' } });
    expect(new Set(g.map((x: { fingerprint: string }) => x.fingerprint)).size).toBe(g.length);
  });
  it('tty shows the source line with the range underlined', () => {
    const t = formatFindings('tty', files, RULES);
    expect(t).toContain('sub/Dockerfile:3:21: warning DL3008: Pin versions');
    expect(t).toContain('3 |     apt-get install curl\n  |                     ^^^^\n');
    expect(t).toMatch(/\d+ problems \(/);
  });
  it('json lists findings with fixability', () => {
    const j = JSON.parse(formatFindings('json', files, RULES));
    expect(j.find((x: { code: string }) => x.code === 'FromAsCasing')).toBeUndefined(); // from…as agree in case
    expect(j.find((x: { code: string }) => x.code === 'ConsistentInstructionCasing').fixable).toBe('safe');
  });
});
