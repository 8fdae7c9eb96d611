// The modeling engine: one message in, the messages it answers with out. Pure with respect to its
// platform, so the same trace gives the same bytes on Node and on the board.
import { Message } from '../../protocol/messages.js';
import { Platform } from './platform.js';

export interface EngineApi {
  /** Handle one decoded message; returns the replies in order (possibly none). Never throws: a failure becomes an ERROR reply. */
  handle(msg: Message): Message[];
}

export type EngineFactory = (platform: Platform) => EngineApi;
