// bench:bridge — the bridge's cost on real opens.
//  1. 2,000 runs of `cat` of a file on a watched tmpfs, from inside a watched mount namespace, wall
//     time with the bridge divided by the same without it (goal ≤ 1.10);
//  2. events/s forwarded to the engine from a parallel find/cat over 50,000 small files (goal ≥ 20,000),
//     with the peak helper queue (events awaiting a verdict), peak engine in-flight and memory.
// Needs root (fanotify, mount). The engine is a local `imans engine` child over a pty when
// host/engine-client.ts is available, else (`--engine stub`) an in-process allow-all stand-in that
// isolates the host side's own cost.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Bridge, EngineClient, VerdictSink } from '../host/bridge.js';
import { FanotifySource } from '../host/sources/fanotify.js';
import { FileEvent, VERDICT } from '../protocol/messages.js';
import { EventEmitter } from 'node:events';
import { connectEngine } from '../host/engine-connect.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 2000);
const FILES = Number(process.env.BENCH_FILES ?? 50000);
const PARALLEL = Number(process.env.BENCH_PARALLEL ?? 8);
const engineArg = process.argv.includes('--engine') ? process.argv[process.argv.indexOf('--engine') + 1] : 'local';

class StubClient extends EventEmitter implements EngineClient {
  up = true;
  send(ev: FileEvent, to: VerdictSink): void {
    queueMicrotask(() => to.verdict({ id: ev.id, code: VERDICT.CACHEABLE | VERDICT.MEASURED, statuses: [], audit: [] }));
  }
  async control(): Promise<unknown> {
    return [{ ns: 0, parent: -1, mntns: 0, userns: 0, fail: 'open', deadlineMs: 500 }];
  }
  async query(): Promise<unknown> {
    return {};
  }
}

async function engineClient(): Promise<{ client: EngineClient; close(): Promise<void>; label: string; pid?: number }> {
  if (engineArg !== 'stub') {
    const conn = await connectEngine(engineArg, {});
    const p = conn.link.params;
    return {
      client: conn.client,
      close: () => conn.close(),
      label: `engine "${engineArg}" over the protocol link (frames of ${p.maxFrame} bytes, window ${p.window})`,
      pid: conn.local?.child?.pid,
    };
  }
  const client = new StubClient();
  return { client, close: async () => {}, label: 'in-process allow-all stand-in (host side only)' };
}

function sh(script: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t = process.hrtime.bigint();
    const c = spawn('sh', ['-c', script], { stdio: ['ignore', 'ignore', 'inherit'] });
    c.on('close', (code) => (code === 0 ? resolve(Number(process.hrtime.bigint() - t) / 1e6) : reject(new Error(`${script.slice(0, 60)}… exited ${code}`))));
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync('/tmp/imans-bench-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=512m,nr_inodes=200000', 'tmpfs', dir]);
  const holder = spawn('unshare', ['-m', '--propagation', 'private', 'sleep', '3600'], { stdio: 'ignore' });
  let bridge: Bridge | null = null;
  let engine: Awaited<ReturnType<typeof engineClient>> | null = null;
  try {
    writeFileSync(`${dir}/small.txt`, 'hello from the bench\n');
    mkdirSync(`${dir}/many`);
    for (let d = 0; d < FILES / 1000; d++) {
      mkdirSync(`${dir}/many/${d}`);
      for (let i = 0; i < 1000; i++) writeFileSync(`${dir}/many/${d}/${i}`, `file ${d}/${i}\n`);
    }
    await new Promise((r) => setTimeout(r, 200));
    const mntns = Number(execFileSync('stat', ['-L', '-c', '%i', `/proc/${holder.pid}/ns/mnt`]).toString().trim());
    const inNs = (script: string) => sh(`nsenter -t ${holder.pid} -m sh -c '${script}'`);
    const rounds = 5;
    const per = Math.ceil(RUNS / rounds);
    const loop = `i=0; while [ $i -lt ${per} ]; do cat ${dir}/small.txt >/dev/null; i=$((i+1)); done`;
    await inNs(loop); // warm the page cache and the binaries

    engine = await engineClient();
    process.stdout.write(`engine: ${engine.label}\n`);
    const start = async () => {
      const source = new FanotifySource({ watch: [dir] });
      const b = new Bridge({ client: engine!.client, sources: [source] });
      await b.start();
      return { b, source };
    };
    // Bridge on and off in alternation, so that the machine's other load hits both alike.
    let on = 0;
    let off = 0;
    for (let r = 0; r < rounds; r++) {
      off += await inNs(loop);
      const { b } = await start();
      bridge = b;
      await b.nsCreate({ mntns, fail: 'open' }).catch(() => undefined);
      on += await inNs(loop);
      await b.stop();
      bridge = null;
    }
    process.stdout.write(`cat x${per * rounds} in a watched namespace: ${on.toFixed(0)} ms with the bridge, ${off.toFixed(0)} ms without: ratio ${(on / off).toFixed(3)} (goal <= 1.10)\n`);

    const { b, source } = await start();
    bridge = b;
    let peakRss = 0;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 50);
    const before = { forwarded: b.counters.forwarded, verdicts: b.counters.verdicts };
    const cpuMs = (pid: number) => {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
    };
    const peakMiB = (pid: number | undefined) => {
      if (!pid) return '-';
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      return m ? (Number(m[1]) / 1024).toFixed(0) : '-';
    };
    const helperPid = source.helper!.pid;
    const enginePid = engine.pid;
    const cpu0 = process.cpuUsage();
    const h0 = cpuMs(helperPid);
    const e0 = enginePid ? cpuMs(enginePid) : 0;
    const t0 = performance.now();
    const ms = await sh(`find ${dir}/many -type f | xargs -P ${PARALLEL} -n 500 cat >/dev/null`);
    // Every event the flood caused has its verdict (or nothing moves for 30 s: say where it stopped).
    await new Promise<void>((resolve, reject) => {
      let last = -1;
      let still = performance.now();
      const t = setInterval(() => {
        const c = b.counters;
        if (c.inflight === 0 && c.events === c.verdicts + c.failAllowed + c.failDenied) {
          clearInterval(t);
          resolve();
        } else if (c.verdicts !== last) {
          last = c.verdicts;
          still = performance.now();
        } else if (performance.now() - still > 30_000) {
          clearInterval(t);
          void b.stats().then((s) => reject(new Error(`no verdict for 30 s with events still in flight: ${JSON.stringify(s)}`)));
        }
      }, 10);
    });
    const endToEnd = performance.now() - t0;
    const forwarded = b.counters.forwarded - before.forwarded;
    const verdicts = b.counters.verdicts - before.verdicts;
    const cpu = process.cpuUsage(cpu0);
    const hcpu = cpuMs(helperPid) - h0;
    const ecpu = enginePid ? cpuMs(enginePid) - e0 : 0;
    clearInterval(sampler);
    const hs = await source.stats();
    process.stdout.write(
      `flood (find | xargs -P ${PARALLEL} cat over ${FILES} files, ${ms.toFixed(0)} ms): ${forwarded} events forwarded, ` +
        `${verdicts} verdicts back ${endToEnd.toFixed(0)} ms after it began: ${Math.round((verdicts / endToEnd) * 1000)} events/s end to end (goal >= 20000)\n` +
        `  peaks: awaiting a verdict in the helper ${hs.maxPending}, helper output backlog ${(hs.maxOut / 1024).toFixed(0)} KiB, bridge in flight to the engine ${b.counters.maxInflight}; ` +
        `helper deadline answers ${hs.timeouts}, kernel queue overflows ${hs.overflows}\n` +
        `  memory peak: bridge ${(peakRss / 1048576).toFixed(0)} MiB, helper ${peakMiB(helperPid)} MiB, engine ${peakMiB(enginePid)} MiB\n` +
        `  CPU: helper ${hcpu.toFixed(0)} ms, bridge ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms, engine ${enginePid ? ecpu.toFixed(0) : '-'} ms\n`,
    );
    await b.stop();
    bridge = null;
  } finally {
    await bridge?.stop();
    await engine?.close();
    holder.kill('SIGKILL');
    try {
      execFileSync('umount', ['-l', dir]);
    } catch {
      /* already */
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`bench:bridge: ${(e as Error).stack}\n`);
  process.exitCode = 1;
});
