// Snapshot records split apart, for tests that look inside snapshots.
import { forEachRecord } from "../../src/aggregation/codec.ts";

/** One series' record in a snapshot (see `forEachRecord()`). */
export interface SnapshotRecord {
  readonly id: number;
  /** The record's bytes, header included. */
  readonly bytes: Uint8Array;
}

/** Splits a snapshot into its records, each a view of `bytes`. */
export function snapshotRecords(bytes: Uint8Array): SnapshotRecord[] {
  const records: SnapshotRecord[] = [];
  forEachRecord(bytes, (id, start, end) => {
    records.push({ id, bytes: bytes.subarray(start, end) });
  });
  return records;
}
