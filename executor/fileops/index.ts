/**
 * File operations of a FileStep (COPY, ADD, heredoc files, WORKDIR), as plain functions over host directories.
 * No container is involved: the caller passes the source root (context dir or another filesystem) and the
 * destination root (an overlay merged dir, or an empty dir for --link) and maps the resulting upperdir to a layer.
 */
export { copy, destinationOf, type CopyRequest, type CopyResult } from './copy.ts';
export { fetchUrl, urlFilename, type FetchUrlOptions, type FetchUrlResult } from './fetch-url.ts';
export { makeDir, makeFile, type MakeOptions } from './make.ts';
export { compileChmod, type ModeFn } from './chmod.ts';
export { detectArchive, detectCompression, extractArchive, type Compression, type ExtractStats } from './archive.ts';
export type { Owner } from './fs-write.ts';
