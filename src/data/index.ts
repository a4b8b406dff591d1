/** Data pipeline: tokenizers, shard format, manifest schema and the range loader. */
export * from './manifest';
export * from './tokenizers';
export * from './shards';
export * from './loader';
