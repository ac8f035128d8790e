import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from '../command.ts';
import { parseArgs, bool, str } from '../args.ts';
import { defaultStoreRoot } from '../store-root.ts';
import { openStore, type Store } from '../../cache/index.ts';
import { TsbuildError } from '../../util/errors.ts';
import type { CiRules } from '../../diff/index.ts';

export const command: Command = {
  name: 'analyze',
  summary: 'Show wasted space and layer efficiency of an image (as dive does)',
  help: `Usage: tsbuild analyze [OPTIONS] IMAGE

Per-layer sizes with the instruction that made each layer, the paths written by more than one layer (overwritten
or deleted later: wasted bytes), and dive's efficiency score (sum over paths of the smallest size seen, over the
sum of every size seen). IMAGE is a store name/ID, an OCI or docker-archive tar, an OCI layout directory, or
docker://REF (pulled into the store first).

Options:
      --format FORMAT                   text (default) or json
      --ci                              Check the CI rules and exit 1 when the image breaks one
      --ci-config FILE                  dive-compatible rules file (default: .dive-ci in the current directory)
      --lowestEfficiency R              Fail below this efficiency, 0..1 (default 0.9)
      --highestWastedBytes SIZE         Fail above this many wasted bytes (e.g. 20MB; default disabled)
      --highestUserWastedPercent R      Fail above this wasted/user-size ratio, 0..1 (default 0.1)
  -n, --top N                           Paths listed in the text output (default 20)

Rule values may be "disabled". Flags win over the file; the file wins over the defaults.

Examples:
  tsbuild analyze myapp:latest
  tsbuild analyze --ci --highestWastedBytes 10MB myapp:latest
`,
  async run(args, io) {
    const { values, positionals } = parseArgs('analyze', args, [
      { name: 'format', type: 'string' },
      { name: 'ci', type: 'boolean' },
      { name: 'ci-config', type: 'string' },
      { name: 'lowestEfficiency', type: 'string' },
      { name: 'highestWastedBytes', type: 'string' },
      { name: 'highestUserWastedPercent', type: 'string' },
      { name: 'top', short: 'n', type: 'string' },
    ]);
    if (positionals.length !== 1) throw new TsbuildError('usage/missing-argument', '"tsbuild analyze" requires exactly 1 image', { exitCode: 2, suggestion: 'usage: tsbuild analyze IMAGE' });
    const format = str(values.format) ?? 'text';
    if (format !== 'text' && format !== 'json') throw new TsbuildError('usage/format', `invalid --format "${format}"`, { exitCode: 2, suggestion: 'use text or json' });
    const top = Number(str(values.top) ?? '20');
    if (!Number.isInteger(top) || top < 0) throw new TsbuildError('usage/top', `invalid --top "${str(values.top)}"`, { exitCode: 2 });
    const d = await import('../../diff/index.ts');
    const ci = bool(values.ci);
    // Rules: defaults < file < flags (dive's order).
    let rules: { -readonly [K in keyof CiRules]: CiRules[K] } = { lowestEfficiency: 0.9, highestUserWastedPercent: 0.1 };
    if (ci) {
      const file = str(values['ci-config']) !== undefined ? resolve(io.cwd, str(values['ci-config'])!) : resolve(io.cwd, '.dive-ci');
      if (str(values['ci-config']) !== undefined && !existsSync(file)) throw new TsbuildError('analyze/no-ci-file', `CI config ${file} does not exist`, { exitCode: 2 });
      if (existsSync(file)) {
        const parsed = d.parseCiConfig(readFileSync(file, 'utf8'), { file });
        for (const k of parsed.present) {
          if (parsed.rules[k] === undefined) delete rules[k];
          else rules[k] = parsed.rules[k];
        }
      }
      const flag = (k: keyof CiRules): void => {
        const v = str(values[k]);
        if (v === undefined) return;
        if (v === 'disabled') {
          delete rules[k];
          return;
        }
        const parsed = d.parseCiConfig(`rules:\n  ${k}: ${JSON.stringify(v)}\n`, { file: `--${k}` });
        rules = { ...rules, [k]: parsed.rules[k] };
      };
      flag('lowestEfficiency');
      flag('highestWastedBytes');
      flag('highestUserWastedPercent');
    }
    let store: Store | undefined;
    const getStore = async (): Promise<Store> => (store ??= await openStore(defaultStoreRoot(io.env)));
    const { registryPull } = await import('./diff.ts');
    const img = await d.openImage(positionals[0]!, { store: getStore, cwd: io.cwd, pull: registryPull(getStore, io) });
    const a = await d.analyzeImage(img);
    const results = ci ? d.evaluateCi(a, rules) : [];
    const failed = results.some((r) => !r.passed);
    if (format === 'json') io.stdout.write(`${JSON.stringify({ ...a, ...(ci ? { ci: { rules, results, passed: !failed } } : {}) }, null, 2)}\n`);
    else {
      io.stdout.write(d.renderAnalysis(a, top));
      if (ci) io.stdout.write(`\nCI rules:\n${d.renderCi(results)}`);
    }
    return failed ? 1 : 0;
  },
};
