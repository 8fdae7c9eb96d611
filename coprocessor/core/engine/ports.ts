// What the engine needs from the IMA policy module and the measurement-list module, in the
// engine's own terms. `policy-port.ts` and `list-port.ts` implement these over
// coprocessor/core/policy and coprocessor/core/ima; the engine depends on nothing else of theirs.
// Portable (Espruino profile).
import { MatchContext } from '../policy/index.js';
import { Requirement } from './appraise.js';

/** A loaded policy's answer for one event (first match per action pair, ima_match_policy). */
export interface Decision {
  measure: boolean;
  appraise: boolean;
  audit: boolean;
  /** Template name or format from the matching measure rule's template=, "" for the default. */
  template: string;
  /** PCR from the matching measure rule's pcr=, else 10. */
  pcr: number;
  /** From the matching appraise rule. */
  req: Requirement;
}

export interface LoadedPolicy {
  rules: number;
  /** `ctx` from policy-port's eventContext(event). */
  decide(ctx: MatchContext): Decision;
  /** The kernel's read-back form. */
  show(): string;
}

export type PolicyLoad = { ok: true; policy: LoadedPolicy } | { ok: false; error: string };

/** One file measurement as the list stores it and the journal replays it. */
export interface FileMeasurement {
  pcr: number;
  template: string;
  path: string;
  algo: number;
  digest: Uint8Array;
  /** SHA-1 file digest for the legacy `ima` template's d field, when the host sent one. */
  sha1: Uint8Array | null;
  /** security.ima, for the sig field of signature templates (kept only for types 0x03/0x06). */
  xattr: Uint8Array | null;
}

export interface ListExport {
  total: number;
  entries: number;
  data: Uint8Array;
}

export interface NsList {
  /** Appends a measurement; false when an identical entry (template digest and PCR) is present. */
  addFile(m: FileMeasurement): boolean;
  /** Appends a violation entry (all-zero template digest, extended as 0xff). */
  addViolation(path: string): void;
  count(): number;
  violations(): number;
  /** The PCR aggregate in the bank of `algo` (sha1 = 2, sha256 = 4, …), or null when unavailable. */
  aggregate(algo: number): Uint8Array | null;
  /** Entries [from, from + max), cut to whole entries within `maxBytes` (at least one). */
  export(bank: number, format: string, from: number, max: number, maxBytes: number): ListExport;
}
