/** Re-exports for the image diff tests (one import line per test file). */
export { diffImages, openImage, renderImageDiff, semanticCompare } from '../../diff/index.ts';
export type { FixtureImage as FixtureImageLike } from './fixtures.ts';
