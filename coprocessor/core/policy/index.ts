// The IMA policy language: parse a policy the kernel would accept (and refuse what it refuses),
// read it back in the kernel's canonical form, and decide per event with the kernel's
// first-match-per-action-pair rule. See ../../../shared/reference/ima-formats.md §2.
// Portable (Espruino profile).
import { builtinRules } from './builtin.js';
import { DEFAULT_PARSE_LIMITS, ParseLimits, parseRules, PolicyError } from './parse.js';
import { Policy } from './policy.js';

export { ACTION, COND, OP, FUNC_NAMES, showRule } from './rule.js';
export type { Rule } from './rule.js';
export { Policy, DEFAULT_PCR, ruleMatches } from './policy.js';
export type { MatchContext, MatchResult } from './policy.js';
export { BUILTIN_NAMES } from './builtin.js';
export { DEFAULT_PARSE_LIMITS, parseRule, tokenize } from './parse.js';
export type { ParseLimits, PolicyError } from './parse.js';

export type PolicyParse = { ok: true; policy: Policy } | { ok: false; errors: PolicyError[] };

/** Parse a policy text: every rule, or the errors of its bad lines and no policy at all. */
export function parsePolicy(text: string, limits?: ParseLimits): PolicyParse {
  const r = parseRules(text, limits || DEFAULT_PARSE_LIMITS);
  if (r.errors.length > 0) return { ok: false, errors: r.errors };
  return { ok: true, policy: new Policy(r.rules) };
}

/** A builtin policy, as `ima_policy="tcb|appraise_tcb"` selects it. */
export function builtinPolicy(names: string): PolicyParse {
  const r = builtinRules(names);
  if (r.unknown !== '') return { ok: false, errors: [{ line: 0, token: r.unknown, reason: 'not a builtin policy (tcb, ima_tcb, appraise_tcb, secure_boot, critical_data)' }] };
  return { ok: true, policy: new Policy(r.rules) };
}

/** "line N: 'token': reason", the form ERROR POLICY_INVALID carries. */
export function formatPolicyError(e: PolicyError): string {
  return 'line ' + e.line + ": '" + e.token + "': " + e.reason;
}
