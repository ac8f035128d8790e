/** The container runtime behind `tsbuild run` (see run-container.ts). */
export { containerArgv, mergeEnv, runContainer, type ContainerState, type RunContainerOptions, type VolumeSpec } from './run-container.ts';
