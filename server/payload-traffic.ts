/**
 * Payload bytes through the coordinator, counted where they cross it, so
 * an operator (GET /api/status) and a test can tell the relay's cost from
 * the bucket's. Reads of the bucket for the coordinator's own checks are
 * counted apart: they are the coordinator's ingress from its bucket, not
 * bytes it passes between clients.
 */
export interface PayloadTraffic {
  /** Payload bytes clients sent the coordinator (relayPut frames). */
  relayBytesIn: number;
  /** Payload bytes the coordinator sent clients: relayData frames and /api/updates bundles. */
  relayBytesOut: number;
  /** Bytes the coordinator read from its bucket to check uploads. */
  bucketBytesRead: number;
  /** Presigned URLs issued. */
  uploadUrls: number;
  downloadUrls: number;
}

export function newPayloadTraffic(): PayloadTraffic {
  return { relayBytesIn: 0, relayBytesOut: 0, bucketBytesRead: 0, uploadUrls: 0, downloadUrls: 0 };
}
