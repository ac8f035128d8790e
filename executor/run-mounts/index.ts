/** RUN --mount preparation (see run-mounts.ts). */
export { cacheDirName, prepareRunMounts, type PreparedMounts, type RunMountContext, type SecretSource } from './run-mounts.ts';
export { acquireLock, tryAcquireLock, type Lock } from './lock.ts';
