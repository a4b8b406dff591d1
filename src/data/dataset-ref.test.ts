import { describe, expect, it } from 'vitest';
import { DatasetRefError, datasetBaseUrl, datasetSchema, isDatasetUrl } from './dataset-ref';

describe('datasetBaseUrl', () => {
  it('puts a shipped name under the app base, wherever the app is served from', () => {
    expect(datasetBaseUrl('austen-byte', 'http://localhost:8080/')).toBe('http://localhost:8080/data/austen-byte');
    expect(datasetBaseUrl('austen-gpt2', 'https://example.org/tessera/')).toBe('https://example.org/tessera/data/austen-gpt2');
    expect(isDatasetUrl('austen-byte')).toBe(false);
  });

  it('opens a URL dataset at its folder, whatever the app base', () => {
    for (const appBase of ['http://localhost:8080/', 'https://example.org/tessera/']) {
      expect(datasetBaseUrl('https://cdn.example.net/web-gpt2/manifest.json', appBase)).toBe('https://cdn.example.net/web-gpt2');
    }
    expect(isDatasetUrl('https://cdn.example.net/web-gpt2')).toBe(true);
  });

  it('refuses what the schema refuses', () => {
    expect(() => datasetBaseUrl('ws://cdn.example.net/x', 'http://localhost/')).toThrow(DatasetRefError);
    expect(datasetSchema.safeParse('ws://cdn.example.net/x').success).toBe(false);
  });
});
