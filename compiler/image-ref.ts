/** The reference grammar lives in util/ (the store and the registry client use it too); re-exported for the compiler. */
export * from '../util/image-ref.ts';
