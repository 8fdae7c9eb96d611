// The engine's view of a loaded IMA policy (ports.ts LoadedPolicy) over coprocessor/core/policy:
// an event's hook, mask, file and credentials become the policy's match context (built once per
// event, whatever the number of namespaces on its path), and the first matching rule per action
// pair decides what a namespace does with it.
// The process's capabilities do not reach the engine: a process with euid 0 is taken to hold
// CAP_SETUID and CAP_SETGID (so euid=/egid= rules also match its suid/uid, sgid/gid, as the
// kernel does for such a caller), any other process not.
// Portable (Espruino profile).
import { FileEvent } from '../../../protocol/messages.js';
import { ACTION, COND, formatPolicyError, MatchContext, parsePolicy, Policy } from '../policy/index.js';
import { Decision, LoadedPolicy, PolicyLoad } from './ports.js';

const WANTED = ACTION.MEASURE | ACTION.APPRAISE | ACTION.AUDIT;

/** What every namespace's policy sees of an event. */
export function eventContext(ev: FileEvent): MatchContext {
  const f = ev.file;
  const c = ev.proc;
  return {
    func: ev.func,
    mask: ev.mask,
    fsmagic: f.fsmagic,
    fsname: f.fsname,
    fsuuid: f.fsuuid,
    uid: c.uid,
    euid: c.euid,
    suid: c.suid,
    gid: c.gid,
    egid: c.egid,
    sgid: c.sgid,
    fowner: f.uid,
    fgroup: f.gid,
    capSetuid: c.euid === 0,
    capSetgid: c.euid === 0,
    data: '',
  };
}

function loaded(p: Policy): LoadedPolicy {
  // One decision per policy, reused: the engine reads a decision before it asks the policy again.
  const d: Decision = { measure: false, appraise: false, audit: false, template: '', pcr: 10, req: { signature: false, algos: 0 } };
  return {
    rules: p.rules.length,
    decide: function (ctx: MatchContext): Decision {
      const m = p.match(ctx, WANTED);
      d.measure = (m.action & ACTION.MEASURE) !== 0;
      d.appraise = (m.action & ACTION.APPRAISE) !== 0;
      d.audit = (m.action & ACTION.AUDIT) !== 0;
      d.template = m.template;
      d.pcr = m.pcr;
      d.req.signature = (m.flags & COND.DIGSIG_REQUIRED) !== 0;
      d.req.algos = m.algos;
      return d;
    },
    show: function (): string {
      return p.show();
    },
  };
}

/** Parse `text`; a bad policy is refused whole, naming each bad line ("line N: 'token': reason"). */
export function loadPolicy(text: string): PolicyLoad {
  const r = parsePolicy(text);
  if (!r.ok) {
    const msgs: string[] = [];
    for (let i = 0; i < r.errors.length; i++) msgs.push(formatPolicyError(r.errors[i]));
    return { ok: false, error: msgs.join('; ') };
  }
  return { ok: true, policy: loaded(r.policy) };
}
