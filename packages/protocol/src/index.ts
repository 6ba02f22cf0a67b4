export * from './api.js';
export * from './api-profiles.js';
export * from './api-sources.js';
export * from './errors.js';
export * from './events.js';
export * from './ids.js';
export * from './mapping.js';
export * from './matching.js';
