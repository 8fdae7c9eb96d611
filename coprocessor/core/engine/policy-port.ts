// The engine's view of a loaded IMA policy (ports.ts LoadedPolicy) over coprocessor/core/policy.
// Until that module lands in this tree, no policy text can be loaded: every POLICY_LOAD is refused
// with POLICY_INVALID, so namespaces keep the empty policy (nothing measured, nothing appraised)
// rather than a guessed reading of the kernel's language.
// Portable (Espruino profile).
import { PolicyLoad } from './ports.js';

function emptyText(): string {
  return '';
}

function emptyDecision() {
  return { measure: false, appraise: false, audit: false, template: '', pcr: 10, req: { signature: false, algos: 0 } };
}

export function loadPolicy(text: string): PolicyLoad {
  if (text.replace(/\s+/g, '') === '') return { ok: true, policy: { rules: 0, decide: emptyDecision, show: emptyText } };
  return { ok: false, error: "line 1: '" + text.split('\n')[0].split(/\s+/)[0] + "': the IMA policy parser is not part of this build yet" };
}
