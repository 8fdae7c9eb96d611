// What the link needs from a byte stream and from time. Implemented in protocol/node/transports
// (serial, pty, TCP, in-memory, fault-injecting, paced) and by the board's Serial runner.
//
// Portable (Espruino profile).

export interface Transport {
  /**
   * Queue bytes for sending. The transport may keep `bytes` until written, so the caller must not
   * change them afterwards. Never throws for a closed or failed transport: bytes are then dropped.
   */
  write(bytes: Uint8Array): void;
  /**
   * Set the receiver of incoming bytes (one receiver; a later call replaces it). Chunks can be
   * split anywhere; a chunk is only valid during the call.
   */
  onData(cb: (chunk: Uint8Array) => void): void;
  /** Set the callback for the far end closing or the device failing (optional). */
  onClose?(cb: (err?: Error) => void): void;
  close(): void;
}

/** Time source for the link; the default uses the global timers, tests pass a virtual clock. */
export interface Clock {
  /** Milliseconds, monotonic enough for timeouts. */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** Run `fn` once the current synchronous work is done (sends in one burst share frames). */
  defer(fn: () => void): void;
}
