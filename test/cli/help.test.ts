/**
 * `--help` for every registered command against golden files (test/cli/golden/help/<cmd>.txt; `UPDATE_GOLDEN=1`
 * regenerates them), the shape every help text must have, and the hints and exit codes of usage errors.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import { commands, summaries } from '../../cli/commands/index.ts';
import { repoRoot } from '../helpers/env.ts';
import { tsbuildCli } from '../helpers/cli.ts';
import { fakeIo } from './fake-io.ts';

const goldenDir = path.join(repoRoot, 'test/cli/golden/help');
const update = process.env.UPDATE_GOLDEN === '1';

function golden(name: string, actual: string): void {
  const file = path.join(goldenDir, `${name}.txt`);
  if (update) {
    mkdirSync(goldenDir, { recursive: true });
    writeFileSync(file, actual);
    return;
  }
  if (!existsSync(file)) throw new Error(`no golden file ${path.relative(repoRoot, file)}: run with UPDATE_GOLDEN=1 to create it`);
  expect(actual, `${name} help differs from ${path.relative(repoRoot, file)} (UPDATE_GOLDEN=1 regenerates)`).toBe(readFileSync(file, 'utf8'));
}

async function run(argv: string[], opts: Parameters<typeof fakeIo>[0] = {}) {
  const io = fakeIo(opts);
  const code = await main(argv, io);
  return { code, stdout: io.out(), stderr: io.err() };
}

describe('--help', () => {
  const names = Object.keys(commands);

  it('registers every command issue 6 lists that exists so far', () => {
    for (const n of ['build', 'parse', 'plan', 'run', 'images', 'inspect', 'history', 'tag', 'rmi', 'prune', 'du', 'fsck', 'version'])
      expect(names).toContain(n);
  });

  for (const name of names) {
    it(`${name} --help matches its golden file and has usage, options and examples`, async () => {
      const r = await run([name, '--help']);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      const help = r.stdout;
      expect(help).toMatch(name === 'build' ? /^Usage: tsbuild \[build\] / : new RegExp(`^Usage: tsbuild ${name}\\b`));
      // A command whose usage takes [OPTIONS] lists them (`Options:` or `Options (subcommand):`).
      if (help.split('\n\n')[0]!.includes('[OPTIONS]')) expect(help).toMatch(/\nOptions( \([^)]*\))?:\n +-/);
      const examples = help.split('\nExamples:\n')[1];
      expect(examples, `${name} help has an Examples section`).toBeDefined();
      expect(examples!.split('\n').filter((l) => l.startsWith('  tsbuild ') || l.startsWith('  cat ')).length).toBeGreaterThan(0);
      // -h and `tsbuild help NAME` print the same text.
      expect((await run([name, '-h'])).stdout).toBe(help);
      expect((await run(['help', name])).stdout).toBe(help);
      golden(name, help);
    });
  }

  it('top-level help lists every command with its own summary and matches its golden file', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    for (const name of names) {
      const cmd = await commands[name]!();
      expect(r.stdout).toContain(`  ${name.padEnd(10)} ${cmd.summary}\n`);
      if (summaries[name] !== undefined) expect(summaries[name], `summaries.${name} in cli/commands/index.ts`).toBe(cmd.summary);
    }
    expect(r.stdout).toMatch(/\nExamples:\n/);
    expect((await run([])).stdout).toBe(r.stdout);
    golden('tsbuild', r.stdout);
  });

  it('build is the default command: its help and its options work without the word "build"', async () => {
    expect((await run(['-t', 'x', '--help'])).stdout).toBe((await run(['build', '--help'])).stdout);
  });
});

describe('usage errors: did-you-mean hints and exit code 2', () => {
  it('an unknown command suggests the closest one', async () => {
    const r = await run(['biuld']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('error: unknown command "biuld"\n  hint: did you mean "tsbuild build"?\n');
    const far = await run(['frobnicate']);
    expect(far.code).toBe(2);
    expect(far.stderr).toContain('hint: run "tsbuild --help" for the list of commands');
  });

  it('an unknown flag suggests the closest one, for build and for other commands', async () => {
    const r = await run(['build', '--tagg', 'x', '.']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('error: unknown flag: --tagg (tsbuild build)\n  hint: did you mean --tag?\n');
    const d = await run(['--no-cach', '.']);
    expect(d.code).toBe(2);
    expect(d.stderr).toContain('did you mean --no-cache?');
    const i = await run(['images', '--quite']);
    expect(i.code).toBe(2);
    expect(i.stderr).toContain('did you mean --quiet?');
    const s = await run(['build', '-Z', '.']);
    expect(s.code).toBe(2);
    expect(s.stderr).toContain('unknown flag: -Z');
  });

  it('bad build arguments are usage errors with a clear message', async () => {
    const cwd = repoRoot;
    const cases: [string[], RegExp][] = [
      [['build'], /requires exactly 1 argument \(the context\), got 0/],
      [['build', 'a', 'b'], /requires exactly 1 argument \(the context\), got 2/],
      [['--progress', 'fancy', '.'], /invalid --progress "fancy"[\s\S]*use auto, tty, plain, rawjson or quiet/],
      [['--platform', 'linux/s390x', '.'], /platform "linux\/s390x" is not supported: tsbuild builds for the native platform linux\/\w+ only/],
      [['--network', 'bridge2', '.'], /invalid --network "bridge2"/],
      [['-t'], /flag needs an argument: -t/],
      [['--file'], /flag needs an argument: --file/],
      [['-o', 'type=floppy,dest=x', '.'], /invalid --output "type=floppy,dest=x": unknown type/],
      [['--secret', 'src=/etc/hostname', '.'], /invalid --secret "src=\/etc\/hostname": id is required/],
      [['-f', '-', '-'], /cannot read both the Dockerfile and the context from stdin/],
    ];
    for (const [argv, msg] of cases) {
      const r = await run(argv, { cwd });
      expect(r.code, `tsbuild ${argv.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr).not.toMatch(/\n\s+at /); // never a stack trace
    }
  });

  it('a context that does not exist fails with exit code 1, as docker does', async () => {
    const r = await run(['-t', 'x', './no/such/dir']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: unable to prepare context: path "./no/such/dir" not found\n');
  });

  it('the real executable exits with the same codes', async () => {
    const bad = await tsbuildCli(['biuld']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('did you mean "tsbuild build"?');
    const ok = await tsbuildCli(['version']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^tsbuild \d+\.\d+\.\d+ \(node v\d+/);
    const flag = await tsbuildCli(['version', '--json']);
    expect(flag.code).toBe(2);
  });
});
