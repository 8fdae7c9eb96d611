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
import { Bridge, EngineClient } from '../host/bridge.js';
import { FanotifySource } from '../host/sources/fanotify.js';
import { FileEvent, VERDICT, Verdict } from '../protocol/messages.js';
import { EventEmitter } from 'node:events';
import { connectEngine } from '../host/engine-connect.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 2000);
const FILES = Number(process.env.BENCH_FILES ?? 50000);
const PARALLEL = Number(process.env.BENCH_PARALLEL ?? 8);
const engineArg = process.argv.includes('--engine') ? process.argv[process.argv.indexOf('--engine') + 1] : 'local';

class StubClient extends EventEmitter implements EngineClient {
  up = true;
  submit(ev: FileEvent): Promise<Verdict> {
    return Promise.resolve({ id: ev.id, code: VERDICT.CACHEABLE | VERDICT.MEASURED, statuses: [], audit: [] });
  }
  async control(): Promise<unknown> {
    return [{ ns: 0, parent: -1, mntns: 0, userns: 0, fail: 'open', deadlineMs: 500 }];
  }
  async query(): Promise<unknown> {
    return {};
  }
}

async function engineClient(): Promise<{ client: EngineClient; close(): Promise<void>; label: string }> {
  if (engineArg !== 'stub') {
    const conn = await connectEngine(engineArg, {});
    return { client: conn.client, close: () => conn.close(), label: `engine "${engineArg}" over the protocol link` };
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
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
    const before = b.counters.forwarded;
    const helperCpu = () => {
      const f = readFileSync(`/proc/${source.helper!.pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
    };
    const cpu0 = process.cpuUsage();
    const h0 = helperCpu();
    const ms = await sh(`find ${dir}/many -type f | xargs -P ${PARALLEL} -n 500 cat >/dev/null`);
    await new Promise<void>((resolve) => {
      const t = setInterval(() => {
        if (b.counters.inflight === 0) {
          clearInterval(t);
          resolve();
        }
      }, 10);
    });
    const forwarded = b.counters.forwarded - before;
    const cpu = process.cpuUsage(cpu0);
    const hcpu = helperCpu() - h0;
    clearInterval(sampler);
    const hs = await source.stats();
    process.stdout.write(
      `flood (find | xargs -P ${PARALLEL} cat over ${FILES} files): ${forwarded} events forwarded in ${ms.toFixed(0)} ms: ${Math.round((forwarded / ms) * 1000)} events/s (goal >= 20000)\n` +
        `  peak awaiting a verdict in the helper ${hs.maxPending}, peak engine in-flight ${b.counters.maxInflight}, verdicts ${b.counters.verdicts}, ` +
        `helper deadline answers ${hs.timeouts}, bridge RSS peak ${(peakRss / 1048576).toFixed(0)} MiB\n` +
        `  CPU: helper ${hcpu.toFixed(0)} ms, bridge process ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms\n`,
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
