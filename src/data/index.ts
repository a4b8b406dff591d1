/** Data pipeline: tokenizers, shard format, manifest schema, the streaming shard builder, dataset references and the range loader. */
export * from './manifest';
export * from './tokenizers';
export * from './shards';
export * from './loader';
export * from './stream-build';
export * from './shard-stream';
export * from './document-encoder';
export * from './text-stream';
export * from './dataset-ref';
