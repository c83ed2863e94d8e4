// Node-side readers and preparation of many-response (genomics) inputs for fitMany.
export { readDenseMatrix, delimiterFromName, sniffDelimiter, type DenseMatrixOptions } from "./dense-matrix.js";
export { openDenseMatrix, type DenseMatrixSource } from "./dense-matrix-stream.js";
export { read10x, readMatrixMarket, tripletsToCSR, type Read10xOptions, type Triplets } from "./tenx.js";
export { open10x, type Open10xOptions, type TenxSource } from "./tenx-stream.js";
export { makeUnique } from "./names.js";
export { readH5ad, type H5adOptions, type H5adData } from "./h5ad.js";
export { openH5ad, type H5adSource, type H5adSourceOptions } from "./h5ad-source.js";
export { logNormalize, filterResponses, detectedCounts, keptResponses, type LogNormalizeOptions, type FilterResponsesOptions } from "./normalize.js";
export { scanResponses, selectResponses, logNormalizeSource, type ResponseStats } from "./normalize-stream.js";
export { matchObservations, columnIds, subsetTable, alignMetadata, type ObservationMatch, type AlignedMetadata } from "./match.js";
