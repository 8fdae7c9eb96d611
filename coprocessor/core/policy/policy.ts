// A loaded policy and its evaluation, as ima_match_policy and ima_match_rules decide: rules in
// order, the first match for each action pair (measure/dont_measure, appraise/dont_appraise,
// audit, hash/dont_hash) wins, options (pcr=, template=, appraise_algos=, signature flags) come
// from the rules that matched. Rules are indexed by func when loaded, so an event never looks at
// a rule that cannot match its func.
// Portable (Espruino profile).
import { FUNC } from '../../../protocol/messages.js';
import { ACTION, COND, DO_MASK, FUNC_COUNT, hasLsm, OP, Rule, showRule } from './rule.js';

/** What an event presents to the policy: its hook, access mask, file and credentials. */
export interface MatchContext {
  func: number;
  mask: number;
  fsmagic: number;
  fsname: string;
  /** "" when unknown: then no fsuuid= rule matches. */
  fsuuid: string;
  uid: number;
  euid: number;
  suid: number;
  gid: number;
  egid: number;
  sgid: number;
  /** File owner and group. */
  fowner: number;
  fgroup: number;
  /** The process holds CAP_SETUID / CAP_SETGID: euid= (egid=) then also matches suid and uid (sgid and gid). */
  capSetuid: boolean;
  capSetgid: boolean;
  /** KEY_CHECK: the keyring's name; CRITICAL_DATA: the data's label. "" otherwise. */
  data: string;
}

export interface MatchResult {
  /** ACTION "do" bits decided: MEASURE, APPRAISE, AUDIT, HASH. */
  action: number;
  /** COND option bits of the matching rules (DIGSIG_REQUIRED, PERMIT_DIRECTIO, MODSIG_ALLOWED…). */
  flags: number;
  /** pcr= of the matching rules, else 10. */
  pcr: number;
  /** template= of the matching rules, else "". */
  template: string;
  /** appraise_algos= bits of the matching rules, else 0 (any). */
  algos: number;
  /** Rules looked at (for the complexity guarantee: only those of the event's func and those without func=). */
  visited: number;
}

/** The default measurement PCR (CONFIG_IMA_MEASURE_PCR_IDX). */
export const DEFAULT_PCR = 10;

function cmp(op: number, have: number, want: number): boolean {
  return op === OP.EQ ? have === want : op === OP.GT ? have > want : have < want;
}

function inList(list: string[] | null, v: string): boolean {
  if (list === null) return true;
  if (v === '') return false;
  for (let i = 0; i < list.length; i++) if (list[i] === v) return true;
  return false;
}

/** ima_match_rules, for a rule already known to apply to the event's func. */
export function ruleMatches(r: Rule, c: MatchContext): boolean {
  const f = r.flags;
  if (c.func === FUNC.KEY_CHECK || c.func === FUNC.CRITICAL_DATA) {
    // ima_match_rule_data: only uid= and the keyrings/label list count.
    if ((f & COND.UID) !== 0 && !cmp(r.uidOp, c.uid, r.uid)) return false;
    return inList(c.func === FUNC.KEY_CHECK ? r.keyrings : r.label, c.data);
  }
  const setattr = c.func === FUNC.POST_SETATTR;
  if ((f & COND.MASK) !== 0 && r.mask !== c.mask && !setattr) return false;
  if ((f & COND.INMASK) !== 0 && (r.mask & c.mask) === 0 && !setattr) return false;
  if ((f & COND.FSMAGIC) !== 0 && r.fsmagic !== c.fsmagic) return false;
  if ((f & COND.FSNAME) !== 0 && r.fsname !== c.fsname) return false;
  if ((f & COND.FSUUID) !== 0 && r.fsuuid !== c.fsuuid.toLowerCase()) return false;
  if ((f & COND.UID) !== 0 && !cmp(r.uidOp, c.uid, r.uid)) return false;
  if ((f & COND.EUID) !== 0) {
    if (c.capSetuid) {
      if (!cmp(r.uidOp, c.euid, r.uid) && !cmp(r.uidOp, c.suid, r.uid) && !cmp(r.uidOp, c.uid, r.uid)) return false;
    } else if (!cmp(r.uidOp, c.euid, r.uid)) return false;
  }
  if ((f & COND.GID) !== 0 && !cmp(r.gidOp, c.gid, r.gid)) return false;
  if ((f & COND.EGID) !== 0) {
    if (c.capSetgid) {
      if (!cmp(r.gidOp, c.egid, r.gid) && !cmp(r.gidOp, c.sgid, r.gid) && !cmp(r.gidOp, c.gid, r.gid)) return false;
    } else if (!cmp(r.gidOp, c.egid, r.gid)) return false;
  }
  if ((f & COND.FOWNER) !== 0 && !cmp(r.fownerOp, c.fowner, r.fowner)) return false;
  if ((f & COND.FGROUP) !== 0 && !cmp(r.fgroupOp, c.fgroup, r.fgroup)) return false;
  // No LSM labels reach the engine: like the kernel with an undefined LSM rule, never a match.
  if (hasLsm(r)) return false;
  return true;
}

/** Option bits a match carries into the result (the kernel's IMA_NONACTION_FLAGS and friends). */
const OPTION_FLAGS = COND.DIGSIG_REQUIRED | COND.PERMIT_DIRECTIO | COND.MODSIG_ALLOWED | COND.CHECK_BLACKLIST | COND.VERITY_REQUIRED;

export class Policy {
  readonly rules: Rule[];
  /** Per func: the indexes of the rules that can match it, in policy order. */
  private readonly byFunc: number[][];

  constructor(rules: Rule[]) {
    this.rules = rules;
    this.byFunc = [];
    for (let func = 0; func < FUNC_COUNT; func++) {
      const idx: number[] = [];
      // KEY_CHECK and CRITICAL_DATA match only rules that name them; POST_SETATTR matches any.
      const funcOnly = func === FUNC.KEY_CHECK || func === FUNC.CRITICAL_DATA;
      for (let i = 0; i < rules.length; i++) {
        const r = rules[i];
        const named = (r.flags & COND.FUNC) !== 0;
        if (named ? r.func === func || func === FUNC.POST_SETATTR : !funcOnly) idx.push(i);
      }
      this.byFunc.push(idx);
    }
  }

  /**
   * ima_match_policy: which of the `wanted` actions (ACTION.MEASURE | APPRAISE | AUDIT | HASH) the
   * policy asks for this event, with the options of the rules that decided.
   */
  match(c: MatchContext, wanted: number): MatchResult {
    const res: MatchResult = { action: 0, flags: 0, pcr: DEFAULT_PCR, template: '', algos: 0, visited: 0 };
    const idx = c.func >= 0 && c.func < FUNC_COUNT ? this.byFunc[c.func] : [];
    let actmask = (wanted | (wanted << 1)) & ~(ACTION.AUDIT << 1);
    for (let k = 0; k < idx.length && actmask !== 0; k++) {
      const r = this.rules[idx[k]];
      res.visited++;
      if ((r.action & actmask) === 0) continue;
      if (!ruleMatches(r, c)) continue;
      res.flags |= r.flags & OPTION_FLAGS;
      res.action |= r.action & DO_MASK;
      if ((r.action & ACTION.APPRAISE) !== 0) res.action &= ~ACTION.HASH;
      if ((r.action & DO_MASK) !== 0) actmask &= ~(r.action | (r.action << 1));
      else actmask &= ~(r.action | (r.action >> 1));
      if ((r.flags & COND.PCR) !== 0) res.pcr = r.pcr;
      if (r.template !== '') res.template = r.template;
      if (r.algos !== 0) res.algos = r.algos;
    }
    return res;
  }

  /** The policy as the kernel reads it back from <securityfs>/ima/policy. */
  show(): string {
    let s = '';
    for (let i = 0; i < this.rules.length; i++) s += showRule(this.rules[i]);
    return s;
  }
}
