// imans ns create|delete|list: namespaces of a running bridge.
import { parse, runCommand, UsageError, intOption } from '../../cli/args.js';
import { ask, CONTROL_HELP, CONTROL_OPTIONS, printJson } from './common.js';

const HELP = `usage: imans ns create (--mntns INODE | --userns INODE) [--parent ID] [--fail closed|open|auto] [--deadline MS]
       imans ns delete --ns ID
       imans ns list

  --mntns INODE      the mount namespace it stands for (readlink /proc/PID/ns/mnt → mnt:[INODE]); or --pid PID
  --userns INODE     the user namespace (covers its mount namespaces that have none of their own)
  --pid PID          take --mntns from a running process
  --parent ID        modeling parent (default 0, the host)
  --fail MODE        without a verdict in time: closed denies, open allows, auto (default) is closed when its policy appraises
  --deadline MS      how long an open waits for a verdict (default 500)
${CONTROL_HELP}`;

export function run(argv: string[]): Promise<number> {
  return runCommand('ns', async () => {
    const p = parse(
      argv,
      { ...CONTROL_OPTIONS, mntns: { type: 'string' }, userns: { type: 'string' }, pid: { type: 'string' }, parent: { type: 'string' }, fail: { type: 'string' }, deadline: { type: 'string' }, ns: { type: 'string' } },
      HELP,
    );
    if (!p) return 0;
    const v = p.values;
    const sub = p.positionals[0];
    if (sub === 'create') {
      let mntns = v.mntns === undefined ? undefined : intOption('mntns', v.mntns, 0, 1, Number.MAX_SAFE_INTEGER);
      if (v.pid !== undefined) {
        const { nsInode } = await import('../proc.js');
        const pid = intOption('pid', v.pid, 0, 1);
        const inode = nsInode(pid, 'mnt');
        if (inode === null) throw new UsageError(`--pid ${pid}: no such process`);
        mntns = inode;
      }
      const userns = v.userns === undefined ? undefined : intOption('userns', v.userns, 0, 1, Number.MAX_SAFE_INTEGER);
      if (mntns === undefined && userns === undefined) throw new UsageError('ns create needs --mntns, --pid or --userns\n\n' + HELP);
      if (v.fail !== undefined && !['closed', 'open', 'auto'].includes(String(v.fail))) throw new UsageError(`--fail expects closed, open or auto, got "${String(v.fail)}"`);
      const r = (await ask(v, 'ns.create', {
        mntns,
        userns,
        parent: v.parent === undefined ? undefined : intOption('parent', v.parent, 0),
        fail: v.fail,
        deadlineMs: v.deadline === undefined ? undefined : intOption('deadline', v.deadline, 0, 1, 600_000),
      })) as { ns: number };
      if (v.json) printJson(r);
      else process.stdout.write(`${r.ns}\n`);
      return 0;
    }
    if (sub === 'delete') {
      const r = await ask(v, 'ns.delete', { ns: intOption('ns', v.ns ?? p.positionals[1], -1, 1) });
      if (v.json) printJson(r);
      return 0;
    }
    if (sub === 'list') {
      const list = (await ask(v, 'ns.list')) as { ns: number; parent: number; mntns: number; userns: number; fail: string; deadlineMs: number; entries?: number; deleted?: boolean }[];
      if (v.json) {
        printJson(list);
        return 0;
      }
      const rows = [['NS', 'PARENT', 'MNTNS', 'USERNS', 'FAIL', 'DEADLINE', 'ENTRIES']];
      for (const n of list) {
        if (n.deleted) continue;
        rows.push([String(n.ns), n.ns === 0 ? '-' : String(n.parent), String(n.mntns || '-'), String(n.userns || '-'), String(n.fail ?? ''), n.deadlineMs ? `${n.deadlineMs}ms` : '-', String(n.entries ?? '')]);
      }
      const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
      for (const r of rows) process.stdout.write(r.map((c, i) => c.padEnd(w[i])).join('  ').trimEnd() + '\n');
      return 0;
    }
    throw new UsageError((sub ? `unknown subcommand "${sub}"` : 'a subcommand is needed') + '\n\n' + HELP);
  });
}
