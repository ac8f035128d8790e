/**
 * Output formats for findings: tty (source line with the range underlined), json, sarif (2.1.0, as GitHub code
 * scanning accepts it), checkstyle (XML) and gitlab (Code Quality JSON). Pure string builders.
 */
import { createHash } from 'node:crypto';
import type { Finding, Rule } from '../types.ts';
import { LineIndex } from '../source-map.ts';

export const FORMATS = ['tty', 'json', 'sarif', 'checkstyle', 'gitlab'] as const;
export type OutputFormat = (typeof FORMATS)[number];

/** One linted file: its display name, source text and findings. */
export interface LintedFile {
  readonly file: string;
  readonly source: string;
  readonly findings: readonly Finding[];
}

export function formatFindings(format: OutputFormat, files: readonly LintedFile[], rules: readonly Rule[], opts: { color?: boolean; version?: string } = {}): string {
  switch (format) {
    case 'tty':
      return tty(files, opts.color ?? false);
    case 'json':
      return JSON.stringify(files.flatMap((f) => f.findings.map((x) => ({
        file: f.file, line: x.range.start.line, column: x.range.start.col, endLine: x.range.end.line, endColumn: x.range.end.col,
        code: x.code, rule: x.rule, source: x.source, severity: x.severity, message: x.message, docsUrl: x.docsUrl, fixable: x.fix ? (x.fix.safe ? 'safe' : 'unsafe') : null,
      }))), null, 2) + '\n';
    case 'sarif':
      return sarif(files, rules, opts.version ?? '0.0.0');
    case 'checkstyle':
      return checkstyle(files);
    case 'gitlab':
      return gitlab(files);
  }
}

const COLORS: Record<string, string> = { error: '\x1b[31m', warning: '\x1b[33m', info: '\x1b[36m', style: '\x1b[35m' };

function tty(files: readonly LintedFile[], color: boolean): string {
  let out = '';
  const c = (code: string, s: string): string => (color ? `${code}${s}\x1b[0m` : s);
  let total = 0;
  for (const f of files) {
    const lines = new LineIndex(f.source);
    for (const x of f.findings) {
      total++;
      const { line, col } = x.range.start;
      out += `${f.file}:${line}:${col}: ${c(COLORS[x.severity] ?? '', x.severity)} ${c('\x1b[1m', x.code)}: ${x.message}\n`;
      const text = lines.lineText(line).replace(/\t/g, ' ');
      const gutter = String(line).length;
      out += `${' '.repeat(gutter)} |\n${line} | ${text}\n`;
      const endCol = x.range.end.line === line ? x.range.end.col : text.length + 1;
      const width = Math.max(1, endCol - col);
      out += `${' '.repeat(gutter)} | ${' '.repeat(col - 1)}${c(COLORS[x.severity] ?? '', '^'.repeat(Math.min(width, Math.max(1, text.length - col + 1))))}\n`;
      out += `${' '.repeat(gutter)} = ${x.docsUrl}${x.fix ? ` (fixable${x.fix.safe ? '' : ' with --fix=unsafe'})` : ''}\n\n`;
    }
  }
  const counts = new Map<string, number>();
  for (const f of files) for (const x of f.findings) counts.set(x.severity, (counts.get(x.severity) ?? 0) + 1);
  out += total === 0 ? 'no problems found\n' : `${total} problem${total === 1 ? '' : 's'} (${[...counts].map(([k, v]) => `${v} ${k}`).join(', ')})\n`;
  return out;
}

const SARIF_LEVEL: Record<string, string> = { error: 'error', warning: 'warning', info: 'note', style: 'note' };

function sarif(files: readonly LintedFile[], rules: readonly Rule[], version: string): string {
  const used = new Set(files.flatMap((f) => f.findings.map((x) => x.code)));
  const ruleList = rules.filter((r) => used.has(r.code));
  const index = new Map(ruleList.map((r, i) => [r.code, i]));
  const log = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'tsbuild lint',
            informationUri: 'https://github.com/tsbuild/tsbuild',
            version,
            rules: ruleList.map((r) => ({
              id: r.code,
              name: r.name.replace(/[^A-Za-z0-9]/g, '') || r.code,
              shortDescription: { text: r.description },
              fullDescription: { text: r.description },
              helpUri: r.docsUrl,
              help: { text: `${r.description}. See ${r.docsUrl}`, markdown: `${r.description}. [Documentation](${r.docsUrl})` },
              defaultConfiguration: { level: SARIF_LEVEL[r.severity] ?? 'none' },
              properties: { tags: [r.source] },
            })),
          },
        },
        results: files.flatMap((f) =>
          f.findings.map((x) => ({
            ruleId: x.code,
            ruleIndex: index.get(x.code) ?? 0,
            level: SARIF_LEVEL[x.severity] ?? 'note',
            message: { text: x.message },
            locations: [
              {
                physicalLocation: {
                  artifactLocation: { uri: f.file.replace(/\\/g, '/').replace(/^\.\//, '') },
                  region: {
                    startLine: x.range.start.line,
                    startColumn: x.range.start.col,
                    endLine: x.range.end.line,
                    endColumn: Math.max(x.range.end.col, x.range.end.line === x.range.start.line ? x.range.start.col + 1 : 1),
                  },
                },
              },
            ],
            partialFingerprints: { primaryLocationLineHash: fingerprint(f.file, x) },
          })),
        ),
      },
    ],
  };
  return JSON.stringify(log, null, 2) + '\n';
}

function fingerprint(file: string, x: Finding): string {
  return createHash('sha256').update(`${file}\0${x.code}\0${x.range.start.line}\0${x.message}`).digest('hex').slice(0, 32);
}

const xml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');

function checkstyle(files: readonly LintedFile[]): string {
  let out = '<?xml version="1.0" encoding="UTF-8"?>\n<checkstyle version="4.3">\n';
  for (const f of files) {
    out += `  <file name="${xml(f.file)}">\n`;
    for (const x of f.findings) {
      const sev = x.severity === 'style' ? 'info' : x.severity;
      out += `    <error line="${x.range.start.line}" column="${x.range.start.col}" severity="${sev}" message="${xml(x.message)}" source="${xml(x.code)}"/>\n`;
    }
    out += '  </file>\n';
  }
  return out + '</checkstyle>\n';
}

const GITLAB_SEVERITY: Record<string, string> = { error: 'critical', warning: 'major', info: 'info', style: 'minor' };

function gitlab(files: readonly LintedFile[]): string {
  return JSON.stringify(
    files.flatMap((f) =>
      f.findings.map((x) => ({
        type: 'issue',
        check_name: x.code,
        description: `${x.code}: ${x.message}`,
        content: { body: x.docsUrl },
        categories: [x.severity === 'style' ? 'Style' : 'Bug Risk'],
        fingerprint: fingerprint(f.file, x),
        severity: GITLAB_SEVERITY[x.severity] ?? 'info',
        location: { path: f.file, lines: { begin: x.range.start.line, end: x.range.end.line } },
      })),
    ),
    null,
    2,
  ) + '\n';
}
