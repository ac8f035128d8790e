/**
 * The instruction layer's checks (BuildKit instructions/parse.go), run over the whole file before any stage is
 * lowered: unknown instructions, argument counts, flags, SHELL/HEALTHCHECK forms, ONBUILD triggers, stage names.
 */
import type { Instruction } from '../grammar/ast.ts';
import { compileError, didYouMean } from './diag.ts';
import { parseFlags } from './flags.ts';
import { parseGoDuration } from './duration.ts';

/** Every instruction keyword, for did-you-mean. */
export const INSTRUCTION_NAMES = [
  'ADD', 'ARG', 'CMD', 'COPY', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'FROM', 'HEALTHCHECK', 'LABEL', 'MAINTAINER', 'ONBUILD',
  'RUN', 'SHELL', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR',
] as const;

const STAGE_NAME = /^[a-z][a-z0-9-_.]*$/;
const HEREDOC_WORD = /^(\d*)<<(-?)\s*([^<]*)$/;

/** Throws the first instruction-layer error in `ins` (TsbuildError with file and range). */
export function validateInstruction(ins: Instruction, file: string | undefined): void {
  const at = { file, range: ins.range };
  const name = ins.keyword;
  const emptyArgs = ins.args.length === 0 || ins.rest.trim() === '';
  switch (ins.kind) {
    case 'UNKNOWN':
      throw compileError('compile/unknown-instruction', `unknown instruction: ${ins.keywordText}`, { file, range: ins.keywordRange }, didYouMean(ins.keyword, INSTRUCTION_NAMES));
    case 'MAINTAINER':
    case 'WORKDIR':
    case 'USER':
    case 'STOPSIGNAL':
      parseFlags(ins.kind, ins.flags, file);
      if (emptyArgs) throw compileError('compile/wrong-argument-count', `${name} requires exactly one argument`, at);
      return;
    case 'ENV':
    case 'LABEL':
      parseFlags(ins.kind, ins.flags, file);
      if (ins.pairs.length === 0) throw compileError('compile/wrong-argument-count', `${name} requires at least one argument`, at);
      return;
    case 'ARG':
      parseFlags(ins.kind, ins.flags, file);
      if (ins.declarations.length === 0) throw compileError('compile/wrong-argument-count', `${name} requires at least one argument`, at);
      return;
    case 'EXPOSE':
      parseFlags(ins.kind, ins.flags, file);
      if (ins.ports.length === 0) throw compileError('compile/wrong-argument-count', `${name} requires at least one argument`, at);
      return;
    case 'VOLUME':
      parseFlags(ins.kind, ins.flags, file);
      if (ins.paths.length === 0) throw compileError('compile/wrong-argument-count', `${name} requires at least one argument`, at);
      return;
    case 'COPY':
    case 'ADD': {
      const f = parseFlags(ins.kind, ins.flags, file);
      if (ins.sources.length === 0 || ins.dest === undefined) {
        throw compileError('compile/wrong-argument-count', `${name} requires at least two arguments, but only one was provided. Destination could not be determined`, at, `write ${name} <source>... <destination>`);
      }
      if (ins.heredocs.length > 0 && HEREDOC_WORD.test(ins.dest.value)) {
        throw compileError('compile/heredoc-destination', `${name} cannot accept a heredoc as a destination`, { file, range: ins.dest.range });
      }
      const from = f.strings.get('from');
      if (from !== undefined && from.value.includes('$')) {
        throw compileError(
          'compile/from-variable',
          'variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround',
          { file, range: from.flag.range },
          `add "FROM ${from.value} AS src" after a global ARG and use --from=src`,
        );
      }
      return;
    }
    case 'FROM': {
      parseFlags(ins.kind, ins.flags, file);
      if (ins.image.value === '' || ins.extra.length > 0 || (ins.asKeyword !== undefined && ins.stageName === undefined)) {
        throw compileError('compile/wrong-argument-count', 'FROM requires either one or three arguments', at, 'write FROM <image> [AS <name>]');
      }
      if (ins.asKeyword !== undefined && ins.asKeyword.value.toUpperCase() !== 'AS') {
        throw compileError('compile/wrong-argument-count', `FROM requires either one or three arguments: expected AS, got ${ins.asKeyword.value}`, { file, range: ins.asKeyword.range });
      }
      if (ins.stageName !== undefined && !STAGE_NAME.test(ins.stageName.value.toLowerCase())) {
        throw compileError('compile/invalid-stage-name', `invalid name for build stage: ${JSON.stringify(ins.stageName.value)}, name can't start with a number or contain symbols`, { file, range: ins.stageName.range });
      }
      return;
    }
    case 'RUN':
    case 'CMD':
    case 'ENTRYPOINT':
      parseFlags(ins.kind, ins.flags, file);
      return;
    case 'SHELL':
      parseFlags(ins.kind, ins.flags, file);
      if (ins.command.form !== 'exec') {
        throw compileError('compile/shell-not-json', 'SHELL requires the arguments to be in JSON form', { file, range: ins.command.range }, 'write SHELL ["/bin/bash", "-c"]');
      }
      if (ins.command.argv.length === 0) throw compileError('compile/wrong-argument-count', 'SHELL requires at least one argument', at);
      return;
    case 'HEALTHCHECK': {
      const f = parseFlags(ins.kind, ins.flags, file);
      if (emptyArgs) throw compileError('compile/wrong-argument-count', `${name} requires at least one argument`, at);
      const type = ins.type.value.toUpperCase();
      if (type === 'NONE') {
        if (ins.command !== undefined && (ins.command.form === 'exec' ? ins.command.argv.length > 0 : ins.command.command.value.trim() !== '')) {
          throw compileError('compile/healthcheck', 'HEALTHCHECK NONE takes no arguments', at);
        }
        return;
      }
      if (type !== 'CMD') {
        throw compileError('compile/healthcheck', `Unknown type ${JSON.stringify(ins.type.value)} in HEALTHCHECK (try CMD)`, { file, range: ins.type.range }, didYouMean(type, ['CMD', 'NONE']));
      }
      const cmd = ins.command;
      if (cmd === undefined || (cmd.form === 'exec' ? cmd.argv.length === 0 : cmd.command.value.trim() === '')) {
        throw compileError('compile/healthcheck', 'Missing command after HEALTHCHECK CMD', at);
      }
      for (const key of ['interval', 'timeout', 'start-period', 'start-interval']) {
        const v = f.strings.get(key);
        if (v === undefined || v.value === '') continue;
        const d = parseGoDuration(v.value);
        const r = { file, range: v.flag.valueRange ?? v.flag.range };
        if (d === undefined) throw compileError('compile/invalid-duration', `time: invalid duration ${JSON.stringify(v.value)}`, r, 'durations look like 30s, 1m30s, 500ms');
        if (d !== 0 && d < 1_000_000) throw compileError('compile/invalid-duration', `Interval ${JSON.stringify(key)} cannot be less than 1ms`, r);
      }
      const retries = f.strings.get('retries');
      if (retries !== undefined && retries.value !== '') {
        const r = { file, range: retries.flag.valueRange ?? retries.flag.range };
        if (!/^[+-]?\d+$/.test(retries.value) || Math.abs(Number(retries.value)) > 2 ** 31 - 1) {
          throw compileError('compile/invalid-retries', `strconv.ParseInt: parsing ${JSON.stringify(retries.value)}: invalid syntax`, r, 'retries is a whole number, e.g. --retries=3');
        }
        if (Number(retries.value) < 0) throw compileError('compile/invalid-retries', `--retries cannot be negative (${Number(retries.value)})`, r);
      }
      return;
    }
    case 'ONBUILD': {
      parseFlags(ins.kind, ins.flags, file);
      const t = ins.trigger;
      if (t === undefined || ins.triggerText.trim() === '') throw compileError('compile/wrong-argument-count', 'ONBUILD requires at least one argument', at);
      if (t.kind === 'ONBUILD') {
        throw compileError('compile/onbuild-trigger', 'Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed', { file, range: t.keywordRange });
      }
      if (t.kind === 'FROM' || t.kind === 'MAINTAINER') {
        throw compileError('compile/onbuild-trigger', `${t.keyword} isn't allowed as an ONBUILD trigger`, { file, range: t.keywordRange });
      }
      validateInstruction(t, file);
      return;
    }
  }
}
