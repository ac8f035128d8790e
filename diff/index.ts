/**
 * diff/: image and layer diffs, dive-style analysis, semantic (reproducibility) comparison, build-record
 * explanations and cache diffs. Reads images through streaming layer readers; never writes to the store.
 */
export { openImage, type ImageHandle, type OpenImageDeps } from './image-source.ts';
export { layerEntries, decompressLayer, type LayerEntry } from './layer-entries.ts';
export { FsTree, type FsFile } from './fs-tree.ts';
export {
  diffImages,
  diffConfigs,
  diffTrees,
  alignLayers,
  layerInfos,
  fileFields,
  type DiffOptions,
  type ImageDiff,
  type ConfigChange,
  type LayerRow,
  type LayerInfo,
  type FileChange,
  type FileSummary,
} from './image-diff.ts';
export { analyzeImage, evaluateCi, type Analysis, type AnalyzedLayer, type Inefficiency, type CiRules, type CiResult } from './analyze.ts';
export { semanticCompare, type SemanticResult, type SemanticDifference } from './semantic.ts';
export {
  explainBuilds,
  matchSteps,
  previousRecord,
  type BuildExplanation,
  type StepExplanation,
  type Cause,
  type StepRef,
  type ContextFileChange,
  type HostChange,
} from './build-diff.ts';
export { diffCaches, type CacheDiff, type CacheOnly } from './cache-diff.ts';
export { parseCiConfig, parseBytes, type CiConfigSource } from './ci-config.ts';
export { renderImageDiff, renderSemantic, renderAnalysis, renderCi, renderExplanation, renderCacheDiff } from './render.ts';
