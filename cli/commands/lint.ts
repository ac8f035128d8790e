import { existsSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Command, Io } from '../command.ts';
import { bool, list, parseArgs, parseKeyValues, str } from '../args.ts';
import { TsbuildError } from '../../util/errors.ts';
import { parseTolerant } from '../../grammar/index.ts';
import type { Dockerfile } from '../../grammar/ast.ts';
import {
  RULES,
  atLeast,
  formatFindings,
  FORMATS,
  lint,
  lintConfigFrom,
  loadShellSyntax,
  type Finding,
  type LintOptions,
  type OutputFormat,
  type RuleLevel,
  type ShellSyntaxChecker,
} from '../../compiler/lint/index.ts';
import { fixUntilStable, unifiedDiff } from '../../compiler/lint/fix.ts';
import { PatternMatcher, cleanPath, parseIgnoreFile } from '../../cache/context/patterns.ts';
import { findIgnoreFile } from '../../cache/context/context.ts';

const LEVELS: readonly RuleLevel[] = ['error', 'warning', 'info', 'style', 'ignore'];

/** Loads sh-syntax's WASM once per process (other commands never pay for it). */
export async function shellSyntaxChecker(): Promise<ShellSyntaxChecker> {
  const require = createRequire(import.meta.url);
  return loadShellSyntax(readFileSync(require.resolve('sh-syntax/main.wasm')));
}

/** Reads YAML config files: `.tsbuild.yaml` (its `lint:` section) and `.hadolint.yaml`, from `dir` and the cwd. */
async function readConfig(explicit: string | undefined, dirs: readonly string[]): Promise<ReturnType<typeof lintConfigFrom>> {
  const files: { file: string; section: string | undefined }[] = [];
  if (explicit !== undefined) {
    if (!existsSync(explicit)) throw new TsbuildError('lint/bad-config', `config file ${explicit} does not exist`, { exitCode: 2 });
    files.push({ file: explicit, section: path.basename(explicit).startsWith('.tsbuild') ? 'lint' : undefined });
  } else {
    const seen = new Set<string>();
    for (const d of dirs) {
      for (const [name, section] of [['.hadolint.yaml', undefined], ['.hadolint.yml', undefined], ['.tsbuild.yaml', 'lint'], ['.tsbuild.yml', 'lint']] as const) {
        const f = path.resolve(d, name);
        if (seen.has(f) || !existsSync(f)) continue;
        seen.add(f);
        files.push({ file: f, section });
      }
    }
  }
  // the YAML parser (70 modules) is loaded only when there is a config file to read
  const parseYaml = files.length > 0 ? (await import('yaml')).parse : undefined;
  const sources: { where: string; data: unknown }[] = [];
  for (const { file, section } of files) {
    let data: unknown;
    try {
      data = parseYaml!(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new TsbuildError('lint/bad-config', `cannot read ${file}: ${(e as Error).message}`, { exitCode: 2 });
    }
    if (section !== undefined) data = data && typeof data === 'object' ? (data as Record<string, unknown>)[section] : undefined;
    sources.push({ where: file, data });
  }
  const cfg = lintConfigFrom(sources);
  if (cfg.problems.length > 0) throw new TsbuildError('lint/bad-config', cfg.problems.join('\n'), { exitCode: 2 });
  return cfg;
}

/** Size of a directory tree in bytes, stopping early past `limit` (only "is it large" matters). */
function treeSize(dir: string, limit: number): number {
  let total = 0;
  const stack = [dir];
  while (stack.length > 0 && total <= limit) {
    const d = stack.pop()!;
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) stack.push(p);
      else if (e.isFile()) {
        try {
          total += statSync(p).size;
        } catch {
          // vanished: ignore
        }
      }
    }
  }
  return total;
}

/** Writes a file atomically: temp file, fsync, rename. */
function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.tsbuild-fix-${process.pid}`;
  writeFileSync(tmp, text);
  const fd = openSync(tmp, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

interface Target {
  display: string;
  file?: string;
  context?: string;
  text: string;
}

async function readStdin(io: Io): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of io.stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

export const command: Command = {
  name: 'lint',
  summary: 'Check Dockerfiles: BuildKit checks, hadolint rules and tsbuild rules',
  help: `Usage: tsbuild lint [OPTIONS] [PATH...]

Lint Dockerfiles. PATH is a Dockerfile or a directory holding one (default: ./Dockerfile).
Runs BuildKit's 22 build checks, hadolint's DL rules (default severities) and tsbuild's cross-stage and
cache-efficiency rules. RUN commands are analysed as shell (parsed, not matched with regexes).

Options:
  -f, --file FILE               Dockerfile to lint ("-" reads stdin)
      --format FORMAT           tty (default), json, sarif, checkstyle, gitlab
      --failure-threshold LEVEL exit 1 when a finding is at least this severe: error, warning (default), info,
                                style, none
      --fix                     apply safe fixes in place (casing, MAINTAINER, ENV k=v, ADD→COPY, exec-form CMD,
                                apt-get -y / --no-install-recommends / list cleanup)
      --fix=unsafe              apply every fix
      --diff                    with --fix: print the patch instead of writing
      --target STAGE            lint for this build target (unused stages are those it does not need)
      --build-arg K=V           a build argument value (constant ARG substitution)
      --ignore RULE             skip a rule (repeatable)
      --config FILE             a .hadolint.yaml or .tsbuild.yaml (default: looked up in the context and cwd)
      --experimental            enable experimental checks (CopyIgnoredFile, InvalidDefinitionDescription)
      --shell-check=all         send every RUN through sh-syntax (default: only those that look malformed)
      --list-rules              print every rule and exit
      --no-color                plain tty output

Suppressions: "# hadolint ignore=DL3008,DL3009" or "# tsbuild ignore=RULE -- reason" above an instruction;
"# tsbuild ignore-stage=RULE" above a FROM; "# hadolint global ignore=RULE" or "# tsbuild ignore-file=RULE"
anywhere; BuildKit's "# check=skip=RULE;error=true" directive.

Examples:
  tsbuild lint .
  tsbuild lint --format sarif -f build/Dockerfile > lint.sarif
  tsbuild lint --fix --diff .
`,
  async run(rawArgs, io) {
    const args = rawArgs.map((a) => (a === '--fix=unsafe' ? '--fix-unsafe' : a === '--shell-check=all' ? '--shell-check-all' : a));
    const { values, positionals } = parseArgs('lint', args, [
      { name: 'file', short: 'f', type: 'string', multiple: true },
      { name: 'format', type: 'string' },
      { name: 'failure-threshold', type: 'string' },
      { name: 'fix', type: 'boolean' },
      { name: 'fix-unsafe', type: 'boolean' },
      { name: 'diff', type: 'boolean' },
      { name: 'target', type: 'string' },
      { name: 'build-arg', type: 'string', multiple: true },
      { name: 'ignore', type: 'string', multiple: true },
      { name: 'config', type: 'string' },
      { name: 'experimental', type: 'boolean' },
      { name: 'shell-check-all', type: 'boolean' },
      { name: 'list-rules', type: 'boolean' },
      { name: 'no-color', type: 'boolean' },
    ]);
    if (bool(values['list-rules'])) {
      for (const r of RULES) io.stdout.write(`${r.code.padEnd(32)} ${r.severity.padEnd(8)} ${r.source.padEnd(9)} ${r.experimental ? '(experimental) ' : ''}${r.description}\n`);
      return 0;
    }
    const format = (str(values.format) ?? 'tty') as OutputFormat;
    if (!FORMATS.includes(format)) {
      throw new TsbuildError('usage/bad-format', `unknown --format "${format}"`, { exitCode: 2, suggestion: `use one of ${FORMATS.join(', ')}` });
    }
    const ftRaw = str(values['failure-threshold']);
    const ftValue = ftRaw === 'none' ? 'ignore' : ftRaw;
    if (ftValue !== undefined && !LEVELS.includes(ftValue as RuleLevel)) {
      throw new TsbuildError('usage/bad-threshold', `unknown --failure-threshold "${ftRaw}"`, { exitCode: 2, suggestion: 'use error, warning, info, style or none' });
    }
    const fixUnsafe = bool(values['fix-unsafe']);
    const fix = fixUnsafe || bool(values.fix);
    const diff = bool(values.diff);
    if (diff && !fix) throw new TsbuildError('usage/diff-without-fix', '--diff shows what --fix would change: give --fix too', { exitCode: 2 });

    // what to lint
    const targets: Target[] = [];
    for (const f of list(values.file)) {
      if (f === '-') targets.push({ display: '<stdin>', text: await readStdin(io) });
      else targets.push(readTarget(path.resolve(io.cwd, f), f, io.cwd));
    }
    for (const p of positionals) {
      const abs = path.resolve(io.cwd, p);
      const st = statSafe(abs);
      if (st?.isDirectory()) targets.push(readTarget(path.join(abs, 'Dockerfile'), path.join(p, 'Dockerfile'), abs));
      else targets.push(readTarget(abs, p, path.dirname(abs)));
    }
    if (targets.length === 0) targets.push(readTarget(path.resolve(io.cwd, 'Dockerfile'), 'Dockerfile', io.cwd));

    const cfg = await readConfig(str(values.config), [...new Set(targets.map((t) => t.context ?? io.cwd)), io.cwd]);
    const threshold: RuleLevel = (ftValue as RuleLevel | undefined) ?? cfg.failureThreshold ?? 'warning';
    const shellSyntax = await shellSyntaxChecker();
    const buildArgs = parseKeyValues(list(values['build-arg']), io.env, '--build-arg');

    const results: { file: string; source: string; findings: Finding[] }[] = [];
    let failed = false;
    for (const t of targets) {
      const options: LintOptions = {
        ...(str(values.target) !== undefined ? { target: str(values.target)! } : {}),
        buildArgs,
        overrides: cfg.overrides,
        ignored: [...cfg.ignored, ...list(values.ignore)],
        experimental: bool(values.experimental),
        trustedRegistries: cfg.trustedRegistries,
        labelSchema: cfg.labelSchema,
        strictLabels: cfg.strictLabels,
        shellSyntax,
        shellSyntaxAll: bool(values['shell-check-all']),
        ...(t.context !== undefined ? contextFacts(t.context, t.file) : {}),
      };
      const { dockerfile, errors } = parseTolerant(t.text, { file: t.display });
      let findings = lint(dockerfile, options);
      // parse errors are findings too: a broken file still gets every other finding
      const parseFindings: Finding[] = errors.map((e) => ({
        ...e,
        range: e.range ?? { start: { line: 1, col: 1, offset: 0 }, end: { line: 1, col: 1, offset: 0 } },
        rule: e.code,
        source: 'tsbuild',
        docsUrl: `https://github.com/tsbuild/tsbuild/blob/main/docs/rules/${e.code.replace('/', '-')}.md`,
      }));
      if (fix) {
        const res = fixUntilStable(dockerfile.source, lint, { ...options, file: t.display }, { unsafe: fixUnsafe });
        if (res.applied.length > 0) {
          if (diff) io.stdout.write(unifiedDiff(dockerfile.source, res.text, t.display));
          else if (t.file) writeAtomic(t.file, res.text);
          else io.stdout.write(res.text);
          if (!diff) {
            const again = parseTolerant(res.text, { file: t.display }).dockerfile;
            findings = lint(again, options);
            io.stderr.write(`${t.display}: fixed ${res.applied.length} finding${res.applied.length === 1 ? '' : 's'}\n`);
            results.push({ file: t.display, source: res.text, findings: [...parseFindings, ...findings] });
            if (findings.some((f) => threshold !== 'ignore' && atLeast(f.severity, threshold)) || errors.length > 0) failed = true;
            continue;
          }
        }
      }
      const all = [...parseFindings, ...findings].sort((a, b) => a.range.start.offset - b.range.start.offset);
      results.push({ file: t.display, source: dockerfile.source, findings: all });
      if (all.some((f) => threshold !== 'ignore' && atLeast(f.severity, threshold))) failed = true;
    }
    if (!(fix && diff)) {
      const color = format === 'tty' && io.stdout.isTTY === true && !bool(values['no-color']) && io.env.NO_COLOR === undefined;
      io.stdout.write(formatFindings(format, results, RULES, { color, version: '0.1.0' }));
    }
    return failed ? 1 : 0;
  },
};

function statSafe(p: string): ReturnType<typeof statSync> | undefined {
  try {
    return statSync(p);
  } catch {
    return undefined;
  }
}

function readTarget(file: string, display: string, context: string): Target {
  try {
    if (statSync(file).isDirectory()) throw new TsbuildError('lint/not-a-file', `${display} is a directory, not a Dockerfile`);
    return { display, file, context, text: readFileSync(file, 'utf8') };
  } catch (e) {
    if (e instanceof TsbuildError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new TsbuildError('lint/read-failed', `cannot read ${display}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`, {
      suggestion: 'name the Dockerfile with -f FILE or give its directory',
    });
  }
}

/**
 * .dockerignore matching and context size, for CopyIgnoredFile and NoDockerignore: the ignore file is the one a
 * build of `dir` with `dockerfile` reads (`<Dockerfile>.dockerignore` first, as BuildKit).
 */
function contextFacts(dir: string, dockerfile: string | undefined): Pick<LintOptions, 'isIgnored' | 'context'> {
  const found = findIgnoreFile(dir, dockerfile);
  const has = found !== undefined;
  // The size is measured (a walk of up to 16 MiB of the context) only if a rule asks: a build's BuildKit checks do not.
  let size: number | undefined;
  const out: { isIgnored?: (p: string) => boolean; context: { hasDockerignore: boolean; readonly sizeBytes: number } } = {
    context: {
      hasDockerignore: has,
      get sizeBytes(): number {
        return (size ??= has ? 0 : treeSize(dir, 16 * 1024 * 1024));
      },
    },
  };
  if (found) {
    // The build's own matcher (a port of moby/patternmatcher), so lint and COPY agree on what is ignored.
    const matcher = new PatternMatcher(parseIgnoreFile(found.text));
    out.isIgnored = (p) => {
      const clean = cleanPath(p);
      return clean !== '.' && !clean.startsWith('..') && matcher.matches(clean);
    };
  }
  return out;
}

/**
 * BuildKit's build checks for `tsbuild build`: only the 22 BuildKit rules, honouring the Dockerfile's
 * `# check=` directive, as `docker build` reports them. The AST comes back when it parsed without errors, so that
 * the build compiles it instead of parsing the Dockerfile a second time.
 */
export function buildCheckFindings(
  text: string,
  displayName: string,
  contextDir: string,
  opts: { target?: string; buildArgs?: ReadonlyMap<string, string>; dockerfilePath?: string },
): { findings: Finding[]; source: string; parsed?: Dockerfile } {
  const { dockerfile, errors } = parseTolerant(text, { file: displayName });
  const findings = lint(dockerfile, {
    rules: RULES.filter((r) => r.source === 'buildkit'),
    reportUnusedSuppressions: false,
    ...(opts.target !== undefined ? { target: opts.target } : {}),
    ...(opts.buildArgs ? { buildArgs: opts.buildArgs } : {}),
    ...contextFacts(contextDir, opts.dockerfilePath),
  });
  return { findings, source: dockerfile.source, ...(errors.length === 0 ? { parsed: dockerfile } : {}) };
}

/** BuildKit's summary after a build: ` 2 warnings found (use --check to expand):` and one line per finding. */
export function formatBuildWarnings(findings: readonly Finding[]): string {
  if (findings.length === 0) return '';
  let out = ` ${findings.length} warning${findings.length === 1 ? '' : 's'} found (use tsbuild build --check to expand):\n`;
  for (const f of findings) out += ` - ${f.code}: ${f.message} (line ${f.range.start.line})\n`;
  return out;
}

/** `tsbuild build --check`: every BuildKit finding with its source line, then BuildKit's summary line. */
export function formatCheckReport(findings: readonly Finding[], file: string, source: string): string {
  if (findings.length === 0) return 'Check complete, no warnings found.\n';
  const body = formatFindings('tty', [{ file, source, findings }], RULES, { color: false });
  const errors = findings.filter((f) => f.severity === 'error').length;
  return `${body.slice(0, body.lastIndexOf('\n', body.length - 2) + 1)}Check complete, ${findings.length} ${errors > 0 ? 'error' : 'warning'}${findings.length === 1 ? ' has' : 's have'} been found!\n`;
}
