// The bridge's audit log: the engine's integrity audit records (kernel text format, one per line,
// `type=1800 msg=audit(…): …`) appended to a file and, on request, echoed to a stream.
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export class AuditLog {
  written = 0;

  constructor(private readonly path: string | null, private readonly echo: NodeJS.WritableStream | null = null) {
    if (path) mkdirSync(dirname(path), { recursive: true });
  }

  write(records: string[]): void {
    if (records.length === 0) return;
    // A record is one line: a newline inside one (the engine quotes untrusted strings) would forge another.
    const text = records.map((r) => r.replace(/[\r\n]/g, ' ') + '\n').join('');
    if (this.path) appendFileSync(this.path, text);
    this.echo?.write(text);
    this.written += records.length;
  }
}
