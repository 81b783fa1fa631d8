/** Real manifests are a few KiB; anything this large is a mistake or an attack on memory, not a package. */
export const MAX_MANIFEST_BYTES = 5 * 1024 * 1024;
