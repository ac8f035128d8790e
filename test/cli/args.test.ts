import { describe, expect, it } from 'vitest';
import { parseArgs, parseAttrs, parseKeyValues, type OptionSpec } from '../../cli/args.ts';
import { TsbuildError } from '../../util/errors.ts';

const specs: OptionSpec[] = [
  { name: 'tag', short: 't', type: 'string', multiple: true },
  { name: 'file', short: 'f', type: 'string' },
  { name: 'quiet', short: 'q', type: 'boolean' },
  { name: 'no-cache', type: 'boolean' },
  { name: 'build-arg', type: 'string', multiple: true },
];

describe('parseArgs', () => {
  it('parses docker-style long, short, repeated and combined options', () => {
    const r = parseArgs('build', ['-t', 'a', '--tag=b', '-tc', '-qf', 'Dockerfile.x', '--no-cache', '--build-arg', 'X=1', '.'], specs);
    expect(r.values.tag).toEqual(['a', 'b', 'c']);
    expect(r.values.file).toBe('Dockerfile.x');
    expect(r.values.quiet).toBe(true);
    expect(r.values['no-cache']).toBe(true);
    expect(r.values['build-arg']).toEqual(['X=1']);
    expect(r.positionals).toEqual(['.']);
  });

  it('accepts --flag=false for booleans and -- to end options', () => {
    const r = parseArgs('build', ['--no-cache=false', '--', '-weird-dir'], specs);
    expect(r.values['no-cache']).toBe(false);
    expect(r.positionals).toEqual(['-weird-dir']);
  });

  it('rejects unknown flags with a did-you-mean hint and exit code 2', () => {
    try {
      parseArgs('build', ['--tga', 'x'], specs);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(TsbuildError);
      const t = e as TsbuildError;
      expect(t.exitCode).toBe(2);
      expect(t.message).toContain('unknown flag: --tga');
      expect(t.suggestion).toBe('did you mean --tag?');
    }
  });

  it('requires a value for string options', () => {
    expect(() => parseArgs('build', ['--file'], specs)).toThrow(/flag needs an argument: --file/);
  });
});

describe('parseKeyValues / parseAttrs', () => {
  it('takes K from the environment when no value is given, as docker does', () => {
    const m = parseKeyValues(['A=1', 'B', 'C', 'D=x=y'], { B: 'from-env' }, 'build-arg');
    expect([...m]).toEqual([
      ['A', '1'],
      ['B', 'from-env'],
      ['D', 'x=y'],
    ]);
  });
  it('splits buildx attribute lists', () => {
    expect([...parseAttrs('type=oci,dest=out.tar')]).toEqual([
      ['type', 'oci'],
      ['dest', 'out.tar'],
    ]);
  });
});
