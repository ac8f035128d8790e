/**
 * The compiler: a pure function from (Dockerfile AST, build options, resolved base images) to the BuildGraph
 * (compiler/graph.ts). No file, process or network I/O happens here.
 */
export { compile, baseImageRefs, type BuildOptions, type ResolvedImage, type ImageResolver } from './compile.ts';
export { computeCacheKey, definitionOf, definitionDigest } from './digest.ts';
export { normalizeImageRef, parseImageRef, formatImageRef, type ImageRef } from './image-ref.ts';
export { formatPlatform, parsePlatform, type Platform } from './platform.ts';
export type * from './graph.ts';
