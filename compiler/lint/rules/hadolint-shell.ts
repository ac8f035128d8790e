/**
 * hadolint's RUN rules, read from the parsed shell commands (argv with offsets), not from regexes over text:
 * package managers (apt-get, apk, pip, npm, gem, yum, dnf, zypper, go install, yarn), sudo, cd, wget/curl,
 * useradd, pipefail, SHELL changes, and commands that make no sense in a container.
 */
import type { RunInstruction } from '../../../grammar/ast.ts';
import type { LintContext, RunScript } from '../context.ts';
import type { ShCommand, ShWord } from '../shell/parse.ts';
import type { Fix, Rule } from '../types.ts';
import { argsOf, hadolint, hasFlag, mountedAway, nameOf, positionalsAfter } from './helpers.ts';

type Each = (ctx: LintContext, cmd: ShCommand, r: RunScript) => void;

/**
 * A rule that looks at the simple commands of each RUN named in `only` (command names, or a test of the name): it
 * visits those commands only, through the context's per-file index, instead of every command of the file. `each`
 * sees only commands whose name (`nameOf`) passed `only`, so it need not test the name again.
 */
function perCommand(code: string, name: string, severity: Rule['severity'], description: string, only: readonly string[] | ((name: string) => boolean), each: Each): Rule {
  return hadolint(code, name, severity, description, (ctx) => {
    const names = typeof only === 'function' ? [...ctx.commandNames()].filter(only) : only;
    for (const n of names) for (const { cmd, run } of ctx.commandsNamed(n)) each(ctx, cmd, run);
  });
}

/** Whether any RUN of the file runs one of `tools`. */
const usesAny = (ctx: LintContext, tools: readonly string[]): boolean => tools.some((t) => ctx.commandsNamed(t).length > 0);

const at = (ctx: LintContext, r: RunScript, w: { start: number; end: number }) => ctx.shRange(r, w.start, w.end);
const cmdRange = (ctx: LintContext, r: RunScript, c: ShCommand) => ctx.shRange(r, c.start, c.end);

/** Inserts `text` right after a shell word (source offsets through the script's map). */
function insertAfter(r: RunScript, w: ShWord, text: string, description: string): Fix {
  const pos = r.map.source(w.end - 1) + 1;
  return { description, safe: true, edits: [{ start: pos, end: pos, text }] };
}

const isApt = (c: ShCommand): boolean => nameOf(c) === 'apt-get';
const aptInstall = (c: ShCommand): ShWord[] | undefined => (isApt(c) ? positionalsAfter(c, ['install'], ['-o', '-t', '--target-release', '-c']) : undefined);
const installWord = (c: ShCommand, sub: string): ShWord | undefined => argsOf(c).find((w) => w.value === sub);

const dl3008 = perCommand('DL3008', 'apt-get-pin', 'warning', 'Pin versions in apt-get install', ['apt-get'], (ctx, c, r) => {
  for (const p of aptInstall(c) ?? []) {
    if (p.value.includes('=') || p.value.endsWith('.deb') || p.value.startsWith('/') || p.value.startsWith('./')) continue;
    ctx.report(at(ctx, r, p), 'Pin versions in apt get install. Instead of `apt-get install <package>` use `apt-get install <package>=<version>`', { instruction: r.run });
  }
});

const dl3009 = hadolint('DL3009', 'apt-lists-cleanup', 'info', 'Delete the apt-get lists after installing something', (ctx) => {
  // The RUNs that install with apt-get (found through the command index), then their cleanup.
  const installing = new Set<RunInstruction>();
  for (const { cmd, run } of ctx.commandsNamed('apt-get')) if (aptInstall(cmd) !== undefined) installing.add(run.run);
  for (const run of installing) {
    const scripts = ctx.runsByInstruction().get(run)!;
    if (mountedAway(run, '/var/lib/apt/lists')) continue;
    const cleaned = scripts.some((s) => s.script.commands.some((c) => nameOf(c) === 'rm' && argsOf(c).some((a) => /^\/var\/lib\/apt\/lists(\/\*?)?$/.test(a.value))));
    if (cleaned) continue;
    const main = scripts.find((s) => !s.heredoc);
    const fix: Fix | undefined =
      main && !main.heredoc && run.command.form === 'shell'
        ? { description: 'append rm -rf /var/lib/apt/lists/*', safe: true, edits: [{ start: main.map.source(main.text.trimEnd().length - 1) + 1, end: main.map.source(main.text.trimEnd().length - 1) + 1, text: ' && rm -rf /var/lib/apt/lists/*' }] }
        : undefined;
    ctx.report(run.range, 'Delete the apt-get lists after installing something', { instruction: run, ...(fix ? { fix } : {}) });
  }
});

const dl3014 = perCommand('DL3014', 'apt-get-yes', 'warning', 'Use the -y switch to avoid manual input', ['apt-get'], (ctx, c, r) => {
  if (aptInstall(c) === undefined) return;
  const args = argsOf(c);
  if (hasFlag(args, ['--yes', '--assume-yes', '--quiet'], ['y']) || args.some((a) => a.value === '-qq' || a.value === '-q=2')) return;
  const w = installWord(c, 'install')!;
  ctx.report(cmdRange(ctx, r, c), 'Use the -y switch to avoid manual input `apt-get -y install <package>`', { instruction: r.run, fix: insertAfter(r, w, ' -y', 'add -y') });
});

const dl3015 = perCommand('DL3015', 'apt-get-no-recommends', 'info', 'Avoid additional packages by specifying --no-install-recommends', ['apt-get'], (ctx, c, r) => {
  if (aptInstall(c) === undefined) return;
  const args = argsOf(c);
  if (hasFlag(args, ['--no-install-recommends'])) return;
  if (args.some((a) => /APT::Install-Recommends=(?:false|0)/i.test(a.value))) return;
  const w = installWord(c, 'install')!;
  ctx.report(cmdRange(ctx, r, c), 'Avoid additional packages by specifying `--no-install-recommends`', { instruction: r.run, fix: insertAfter(r, w, ' --no-install-recommends', 'add --no-install-recommends') });
});

const dl3027 = perCommand('DL3027', 'no-apt', 'warning', 'Do not use apt as it is meant to be an end-user tool, use apt-get or apt-cache instead', ['apt'], (ctx, c, r) => {
  if (argsOf(c).length > 0) ctx.report(cmdRange(ctx, r, c), 'Do not use apt as it is meant to be a end-user tool, use apt-get or apt-cache instead', { instruction: r.run });
});

const dl3018 = perCommand('DL3018', 'apk-pin', 'warning', 'Pin versions in apk add', ['apk'], (ctx, c, r) => {
  const pkgs = positionalsAfter(c, ['add'], ['-t', '--virtual', '-X', '--repository', '--root', '-p']);
  for (const p of pkgs ?? []) {
    if (p.value.includes('=') || p.value.endsWith('.apk') || p.dynamic) continue;
    ctx.report(at(ctx, r, p), 'Pin versions in apk add. Instead of `apk add <package>` use `apk add <package>=<version>`', { instruction: r.run });
  }
});

const dl3019 = perCommand('DL3019', 'apk-no-cache', 'info', 'Use the --no-cache switch to avoid the need to use --update and remove /var/cache/apk/*', ['apk'], (ctx, c, r) => {
  if (!argsOf(c).some((a) => a.value === 'add')) return;
  if (hasFlag(argsOf(c), ['--no-cache']) || mountedAway(r.run, '/var/cache/apk') || mountedAway(r.run, '/etc/apk/cache')) return;
  ctx.report(cmdRange(ctx, r, c), 'Use the `--no-cache` switch to avoid the need to use `--update` and remove `/var/cache/apk/*` when done installing packages', { instruction: r.run });
});

const PIP_VALUED = ['-r', '--requirement', '-c', '--constraint', '-e', '--editable', '-t', '--target', '-i', '--index-url', '--extra-index-url', '-f', '--find-links', '--prefix', '--root', '--platform', '--python-version', '--implementation', '--abi', '--trusted-host', '--src', '--upgrade-strategy', '--progress-bar', '--cache-dir'];
const PIP = /^pip[0-9.]*$/;
const PYTHON = /^python[0-9.]*$/;
/** Names isPip can accept (pip, pip3, python3 -m pip, ...). */
const mayBePip = (n: string): boolean => PIP.test(n) || PYTHON.test(n);
const isPip = (c: ShCommand): boolean => {
  const n = nameOf(c);
  if (PIP.test(n)) return true;
  const a = argsOf(c);
  return PYTHON.test(n) && a[0]?.value === '-m' && PIP.test(a[1]?.value ?? '');
};
const pipInstall = (c: ShCommand): ShWord[] | undefined => (isPip(c) ? positionalsAfter(c, ['install'], PIP_VALUED) : undefined);

const dl3013 = perCommand('DL3013', 'pip-pin', 'warning', 'Pin versions in pip', mayBePip, (ctx, c, r) => {
  const pkgs = pipInstall(c);
  if (!pkgs) return;
  if (argsOf(c).some((a) => a.value === '-r' || a.value === '--requirement' || a.value.startsWith('--requirement='))) return;
  for (const p of pkgs) {
    const v = p.value;
    if (/[=<>~!@]/.test(v) || /^[./]/.test(v) || /\.(whl|tar\.gz|zip)$/.test(v) || v.includes('://') || p.dynamic) continue;
    ctx.report(at(ctx, r, p), 'Pin versions in pip. Instead of `pip install <package>` use `pip install <package>==<version>` or `pip install --requirement <requirements file>`', { instruction: r.run });
  }
});

const dl3042 = perCommand('DL3042', 'pip-no-cache-dir', 'warning', 'Avoid use of cache directory with pip. Use `pip install --no-cache-dir <package>`', mayBePip, (ctx, c, r) => {
  if (!pipInstall(c)) return;
  if (hasFlag(argsOf(c), ['--no-cache-dir']) || mountedAway(r.run, '/root/.cache/pip') || mountedAway(r.run, '/root/.cache')) return;
  if (c.assignments.some((a) => a.value.startsWith('PIP_NO_CACHE_DIR='))) return;
  if (stageEnvHas(ctx, r, 'PIP_NO_CACHE_DIR')) return;
  ctx.report(cmdRange(ctx, r, c), 'Avoid use of cache directory with pip. Use `pip install --no-cache-dir <package>`', { instruction: r.run });
});

function stageEnvHas(ctx: LintContext, r: RunScript, name: string): boolean {
  const st = ctx.stages[r.stage];
  if (!st) return false;
  for (const ins of st.instructions) {
    if (ins === r.run) break;
    if (ins.kind === 'ENV' && ins.pairs.some((p) => p.key.value === name)) return true;
  }
  return false;
}

const dl3016 = perCommand('DL3016', 'npm-pin', 'warning', 'Pin versions in npm', ['npm'], (ctx, c, r) => {
  const pkgs = positionalsAfter(c, ['install', 'i', 'add'], ['--prefix', '--registry', '--cache']);
  for (const p of pkgs ?? []) {
    const v = p.value;
    // scoped packages have a leading @: the version is the second @
    const at2 = v.startsWith('@') ? v.indexOf('@', 1) : v.indexOf('@');
    if (at2 > 0 || /^[./~]/.test(v) || v.includes('://') || v.startsWith('git') || v.endsWith('.tgz') || p.dynamic) continue;
    ctx.report(at(ctx, r, p), 'Pin versions in npm. Instead of `npm install <package>` use `npm install <package>@<version>`', { instruction: r.run });
  }
});

const dl3028 = perCommand('DL3028', 'gem-pin', 'warning', 'Pin versions in gem install', ['gem'], (ctx, c, r) => {
  if (hasFlag(argsOf(c), ['--version'], ['v'])) return;
  for (const p of positionalsAfter(c, ['install', 'i'], ['--install-dir', '-i', '--bindir', '-n', '--source', '-s']) ?? []) {
    if (p.value.includes(':') || p.value.endsWith('.gem') || p.dynamic) continue;
    ctx.report(at(ctx, r, p), 'Pin versions in gem install. Instead of `gem install <gem>` use `gem install <gem>:<version>`', { instruction: r.run });
  }
});

/** yum/dnf/microdnf/zypper family rules. */
function rpmRules(): Rule[] {
  const yesRule = (code: string, tools: string[], msg: string): Rule =>
    perCommand(code, `${tools[0]}-yes`, 'warning', msg, tools, (ctx, c, r) => {
      const args = argsOf(c);
      if (!args.some((a) => ['install', 'groupinstall', 'localinstall', 'in', 'update', 'upgrade', 'remove'].includes(a.value))) return;
      const ok = nameOf(c) === 'zypper' ? hasFlag(args, ['--non-interactive', '--no-confirm'], ['n', 'y']) : hasFlag(args, ['--assumeyes'], ['y']);
      if (!ok) ctx.report(cmdRange(ctx, r, c), msg, { instruction: r.run });
    });
  const cleanRule = (code: string, tools: string[], msg: string, cacheDir: string): Rule =>
    hadolint(code, `${tools[0]}-clean`, 'warning', msg, (ctx) => {
      if (!usesAny(ctx, tools)) return;
      for (const [run, scripts] of ctx.runsByInstruction()) {
        const cmds = scripts.flatMap((s) => s.script.commands);
        const inst = cmds.find((c) => tools.includes(nameOf(c)) && argsOf(c).some((a) => a.value === 'install' || a.value === 'in'));
        if (!inst) continue;
        const cleaned = cmds.some(
          (c) =>
            (tools.includes(nameOf(c)) && argsOf(c).some((a) => a.value === 'clean')) ||
            (nameOf(c) === 'rm' && argsOf(c).some((a) => a.value.startsWith(cacheDir))),
        );
        if (!cleaned && !mountedAway(run, cacheDir)) ctx.report(run.range, msg, { instruction: run });
      }
    });
  const pinRule = (code: string, tools: string[], msg: string, pinned: (v: string) => boolean): Rule =>
    perCommand(code, `${tools[0]}-pin`, 'warning', msg, tools, (ctx, c, r) => {
      const pkgs = positionalsAfter(c, ['install', 'in'], ['--setopt', '-x', '--exclude', '--enablerepo', '--disablerepo', '--repo', '--releasever', '--installroot']);
      for (const p of pkgs ?? []) {
        if (pinned(p.value) || p.dynamic || p.value.endsWith('.rpm') || p.value.includes('/')) continue;
        ctx.report(at(ctx, r, p), msg, { instruction: r.run });
      }
    });
  const rpmPinned = (v: string): boolean => /-\d/.test(v) || /[<>=]/.test(v);
  return [
    yesRule('DL3030', ['yum'], 'Use the -y switch to avoid manual input `yum install -y <package`'),
    cleanRule('DL3032', ['yum'], '`yum clean all` missing after yum command.', '/var/cache/yum'),
    pinRule('DL3033', ['yum'], 'Specify version with `yum install -y <package>-<version>`.', rpmPinned),
    yesRule('DL3034', ['zypper'], 'Non-interactive switch missing from `zypper` command: `zypper install -y`'),
    perCommand('DL3035', 'zypper-dist-upgrade', 'warning', 'Do not use `zypper dist-upgrade`.', ['zypper'], (ctx, c, r) => {
      if (argsOf(c).some((a) => a.value === 'dist-upgrade' || a.value === 'dup')) ctx.report(cmdRange(ctx, r, c), 'Do not use `zypper dist-upgrade`.', { instruction: r.run });
    }),
    cleanRule('DL3036', ['zypper'], '`zypper clean` missing after zypper use.', '/var/cache/zypp'),
    pinRule('DL3037', ['zypper'], 'Specify version with `zypper install -y <package>=<version>`.', (v) => /[<>=]/.test(v)),
    yesRule('DL3038', ['dnf', 'microdnf'], 'Use the -y switch to avoid manual input `dnf install -y <package`'),
    cleanRule('DL3040', ['dnf', 'microdnf'], '`dnf clean all` missing after dnf command.', '/var/cache/dnf'),
    pinRule('DL3041', ['dnf', 'microdnf'], 'Specify version with `dnf install -y <package>-<version>`.', rpmPinned),
  ];
}

const dl3062 = perCommand('DL3062', 'go-install-pin', 'warning', 'Pin versions in go install', ['go'], (ctx, c, r) => {
  for (const p of positionalsAfter(c, ['install'], ['-ldflags', '-tags', '-gcflags', '-o']) ?? []) {
    const v = p.value;
    if (p.dynamic || v.startsWith('.') || !v.includes('/')) continue;
    const at2 = v.lastIndexOf('@');
    if (at2 > 0 && v.slice(at2 + 1) !== 'latest') continue;
    ctx.report(at(ctx, r, p), 'Pin versions in go install. Instead of `go install <package>` use `go install <package>@<version>`', { instruction: r.run });
  }
});

const dl3060 = hadolint('DL3060', 'yarn-cache-clean', 'info', '`yarn cache clean` missing after `yarn install` was run.', (ctx) => {
  if (!usesAny(ctx, ['yarn'])) return;
  for (const [run, scripts] of ctx.runsByInstruction()) {
    const cmds = scripts.flatMap((s) => s.script.commands);
    const inst = cmds.some((c) => nameOf(c) === 'yarn' && (argsOf(c).length === 0 || argsOf(c)[0]!.value === 'install' || argsOf(c)[0]!.value === 'add'));
    if (!inst) continue;
    const cleaned = cmds.some((c) => nameOf(c) === 'yarn' && argsOf(c)[0]?.value === 'cache' && argsOf(c)[1]?.value === 'clean');
    if (!cleaned && !mountedAway(run, '/usr/local/share/.cache/yarn') && !mountedAway(run, '/root/.cache/yarn') && !mountedAway(run, '/root/.yarn')) {
      ctx.report(run.range, '`yarn cache clean` missing after `yarn install` was run.', { instruction: run });
    }
  }
});

const BAD_COMMANDS = new Set(['ssh', 'vim', 'shutdown', 'service', 'ps', 'free', 'top', 'kill', 'mount', 'ifconfig']);
const dl3001 = perCommand('DL3001', 'pointless-command', 'info', 'For some bash commands it makes no sense running them in a Docker container like ssh, vim, shutdown, service, ps, free, top, kill, mount, ifconfig', [...BAD_COMMANDS], (ctx, c, r) => {
  if (!c.nested) ctx.report(cmdRange(ctx, r, c), `For some bash commands it makes no sense running them in a Docker container like \`${nameOf(c)}\``, { instruction: r.run });
});

const dl3003 = perCommand('DL3003', 'use-workdir', 'warning', 'Use WORKDIR to switch to a directory', ['cd'], (ctx, c, r) => {
  if (!c.nested) ctx.report(cmdRange(ctx, r, c), 'Use WORKDIR to switch to a directory', { instruction: r.run });
});

const dl3004 = perCommand('DL3004', 'no-sudo', 'error', 'Do not use sudo as it leads to unpredictable behavior. Use a tool like gosu to enforce root', ['sudo'], (ctx, c, r) => {
  ctx.report(cmdRange(ctx, r, c), 'Do not use sudo as it leads to unpredictable behavior. Use a tool like gosu to enforce root', { instruction: r.run });
});

const dl3046 = perCommand('DL3046', 'useradd-no-log-init', 'warning', '`useradd` without flag `-l` and high UID will result in excessively large Image.', ['useradd'], (ctx, c, r) => {
  const args = argsOf(c);
  if (hasFlag(args, ['--no-log-init'], ['l'])) return;
  const i = args.findIndex((a) => a.value === '-u' || a.value === '--uid');
  const uid = i >= 0 ? args[i + 1]?.value : args.find((a) => a.value.startsWith('--uid='))?.value.slice(6);
  if (uid !== undefined && /^\d{6,}$/.test(uid)) ctx.report(cmdRange(ctx, r, c), '`useradd` without flag `-l` and high UID will result in excessively large Image.', { instruction: r.run });
});

const dl3047 = perCommand('DL3047', 'wget-progress', 'info', '`wget` without flag `--progress` will result in excessively bloated build logs when downloading larger files.', ['wget'], (ctx, c, r) => {
  const args = argsOf(c);
  if (hasFlag(args, ['--progress', '--quiet', '--no-verbose', '--output-file', '--append-output'], ['q', 'o', 'a']) || args.some((a) => a.value === '-nv')) return;
  ctx.report(cmdRange(ctx, r, c), '`wget` without flag `--progress` will result in excessively bloated build logs when downloading larger files.', { instruction: r.run });
});

const dl4001 = hadolint('DL4001', 'wget-or-curl', 'warning', 'Either use Wget or Curl but not both', (ctx) => {
  if (!usesAny(ctx, ['wget']) || !usesAny(ctx, ['curl'])) return;
  // the wget and curl commands of each stage, in file order (one pass over the RUNs)
  const byStage = new Map<number, { c: ShCommand; r: RunScript }[]>();
  for (const r of ctx.runs) {
    for (const c of r.script.commands) {
      const n = nameOf(c);
      if (n !== 'wget' && n !== 'curl') continue;
      const l = byStage.get(r.stage);
      if (l) l.push({ c, r });
      else byStage.set(r.stage, [{ c, r }]);
    }
  }
  for (const st of ctx.stages) {
    const uses = byStage.get(st.index) ?? [];
    const tools = new Set(uses.map((u) => nameOf(u.c)));
    if (tools.size < 2) continue;
    const first = nameOf(uses[0]!.c);
    for (const u of uses) if (nameOf(u.c) !== first) ctx.report(cmdRange(ctx, u.r, u.c), 'Either use Wget or Curl but not both', { instruction: u.r.run });
  }
});

const dl4005 = perCommand('DL4005', 'use-shell', 'warning', 'Use SHELL to change the default shell', ['ln'], (ctx, c, r) => {
  if (argsOf(c).some((a) => a.value === '/bin/sh')) ctx.report(cmdRange(ctx, r, c), 'Use SHELL to change the default shell', { instruction: r.run });
});

const dl4006 = hadolint('DL4006', 'pipefail', 'warning', 'Set the SHELL option -o pipefail before RUN with a pipe in it', (ctx) => {
  for (const [run, scripts] of ctx.runsByInstruction()) {
    const main = scripts[0]!;
    if (run.command.form === 'exec' && !main) continue;
    const piped = scripts.find((s) => s.script.pipelines.length > 0);
    if (!piped) continue;
    // collectRuns recorded the shell of every RUN (an ONBUILD's trigger too): no search for the wrapper needed
    const argv = ctx.shellAt(ctx.stages[main.stage]!, run).argv;
    const sh = argv[0] ?? '';
    if (/pwsh|powershell|cmd(\.exe)?$/i.test(sh)) continue;
    if (argv.includes('pipefail') || argv.some((a) => /^-[a-z]*o$/.test(a) && argv[argv.indexOf(a) + 1] === 'pipefail')) continue;
    // `set -o pipefail` (or `set -euo pipefail`) before the pipe in the script itself
    const setsPipefail = piped.script.commands.some((c) => nameOf(c) === 'set' && c.start < piped.script.pipelines[0]!.start && argsOf(c).some((a) => a.value === 'pipefail'));
    if (setsPipefail) continue;
    const p = piped.script.pipelines[0]!;
    ctx.report(ctx.shRange(piped, p.start, p.end), 'Set the SHELL option -o pipefail before RUN with a pipe in it. If you are using /bin/sh in an alpine image or if your shell is symlinked to busybox then consider explicitly setting your SHELL to /bin/ash, or disable this check', { instruction: run });
  }
});

/** hadolint's shell rules. */
export const hadolintShellRules: readonly Rule[] = [
  dl3001,
  dl3003,
  dl3004,
  dl3008,
  dl3009,
  dl3013,
  dl3014,
  dl3015,
  dl3016,
  dl3018,
  dl3019,
  dl3027,
  dl3028,
  ...rpmRules(),
  dl3042,
  dl3046,
  dl3047,
  dl3060,
  dl3062,
  dl4001,
  dl4005,
  dl4006,
];

export type { RunInstruction };
