// The engine's public surface: types, definitions, the graph format,
// validation and execution. No DOM, no Node-only modules.

export * from './types';
export * from './values';
export * from './params';
export * from './definition';
export * from './registry';
export * from './graph';
export * from './migrations';
export * from './format';
export * from './errors';
export * from './validate';
export * from './topology';
export * from './signature';
export * from './cache';
export * from './events';
export * from './freeze';
export * from './scheduler';
export * from './executor';
export * from './paths';
