/** The store location rule lives in util/ so the library entry (index.ts) shares it without importing cli/. */
export { defaultStoreRoot } from '../util/store-root.ts';
