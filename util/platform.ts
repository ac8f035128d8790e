/** The platform tsbuild builds for: the machine's own, in OCI names (amd64, arm64/v8, arm/v7, ppc64le, …). */
export function nativePlatform(): { os: string; architecture: string; variant?: string } {
  const names: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  const arch = names[process.arch] ?? process.arch;
  if (arch === 'arm64') return { os: 'linux', architecture: arch, variant: 'v8' };
  if (arch === 'arm') return { os: 'linux', architecture: arch, variant: 'v7' };
  return { os: 'linux', architecture: arch };
}
