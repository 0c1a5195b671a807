// Types of the package entry points (strongroom.js / strongroom.mjs): the generated declarations
// of the native addon, plus the error shape the entry points guarantee.
export * from './index'

/** Every error thrown or rejected by this package carries one of these codes. */
export type StrongroomErrorCode =
  | 'ERR_STRONGROOM_MISMATCH'
  | 'ERR_STRONGROOM_KEY'
  | 'ERR_STRONGROOM_FORMAT'
  | 'ERR_STRONGROOM_VALIDATION'
  | 'ERR_STRONGROOM_IO'
  | 'ERR_STRONGROOM_CHANGED'
  | 'ERR_STRONGROOM_ARGUMENT'

/** The shape of errors from this package. */
export interface StrongroomError extends Error {
  code: StrongroomErrorCode
  /** For chunk-map mismatches: the indices of the chunks that differ. */
  chunks?: number[]
}
