// Set by the bundler (scripts/bundle.mjs) to a hash of the sources and the locked dependencies.
declare const __DOCKER_PREP_BUILD_ID__: string | undefined;

/**
 * Identifies this build of docker-prep, for caches whose entries another build could get wrong
 * (plan snapshots). Null when running unbundled (tests of the core, dist/ from tsc): no such caches then.
 */
export const BUILD_ID: string | null = typeof __DOCKER_PREP_BUILD_ID__ === 'string' ? __DOCKER_PREP_BUILD_ID__ : null;
