/** OCI platform strings (`linux/amd64`, `linux/arm/v7`), normalised as containerd's platforms.Parse does. */
import { TsbuildError } from '../util/errors.ts';

export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

const KNOWN_OS = new Set(['linux', 'windows', 'darwin', 'freebsd', 'netbsd', 'openbsd', 'solaris', 'illumos', 'aix', 'android', 'ios', 'js', 'plan9', 'dragonfly', 'wasip1']);

function normalizeArch(arch: string, variant: string | undefined): [string, string | undefined] {
  switch (arch) {
    case 'i386':
      return ['386', undefined];
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      return ['amd64', variant === 'v1' ? undefined : variant];
    case 'aarch64':
    case 'arm64':
      return ['arm64', variant === 'v8' || variant === '8' ? undefined : variant];
    case 'armhf':
      return ['arm', 'v7'];
    case 'armel':
      return ['arm', 'v6'];
    case 'arm':
      if (variant === undefined || variant === '' || variant === '7') return ['arm', 'v7'];
      if (variant === '5' || variant === '6' || variant === '8') return ['arm', `v${variant}`];
      return ['arm', variant];
    default:
      return [arch, variant];
  }
}

/** Parses `os[/arch[/variant]]` or a bare arch; throws TsbuildError `compile/invalid-platform` (no range). */
export function parsePlatform(s: string, native: Platform): Platform {
  const parts = s.toLowerCase().split('/');
  if (parts.some((p) => p === '' || !/^[a-z0-9_.+-]+$/.test(p)) || parts.length > 3) {
    throw new TsbuildError('compile/invalid-platform', `invalid platform ${JSON.stringify(s)}: expected os/arch[/variant]`, {
      suggestion: 'e.g. linux/amd64, linux/arm64, linux/arm/v7',
    });
  }
  let os: string;
  let arch: string;
  let variant: string | undefined;
  if (parts.length === 1) {
    if (KNOWN_OS.has(parts[0]!)) {
      os = parts[0]!;
      arch = native.architecture;
      variant = native.variant;
    } else {
      os = 'linux';
      arch = parts[0]!;
    }
  } else {
    os = parts[0]!;
    arch = parts[1]!;
    variant = parts[2];
  }
  const [a, v] = normalizeArch(arch, variant);
  return v === undefined ? { os, architecture: a } : { os, architecture: a, variant: v };
}

/** `linux/amd64`, `linux/arm/v7`. */
export function formatPlatform(p: Platform): string {
  return p.variant ? `${p.os}/${p.architecture}/${p.variant}` : `${p.os}/${p.architecture}`;
}
