/**
 * BIRD's control socket, spoken directly: a command is one line; each reply
 * line starts with a 4-digit code, `-` after it meaning more lines follow and a leading space
 * continuing the previous code; the reply ends with a line whose code is followed by a space.
 * Codes 8xxx/9xxx are errors.
 */
import { connect, type Socket } from "node:net";

export interface BirdProtocol {
  name: string;
  proto: string;
  table: string;
  state: string;
  since: string;
  info: string;
}

export class BirdError extends Error {}

/** `show protocols` rows (BIRD 2 capitalises the heading; matched case-insensitively). */
export function parseProtocols(lines: readonly string[]): BirdProtocol[] {
  const out: BirdProtocol[] = [];
  for (const line of lines) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 5 || cols[0]?.toLowerCase() === "name") continue;
    const [name, proto, table, state, since, ...info] = cols as [
      string,
      string,
      string,
      string,
      string,
      ...string[],
    ];
    out.push({ name, proto, table, state, since, info: info.join(" ") });
  }
  return out;
}

export class BirdClient {
  constructor(
    readonly socketPath: string,
    private readonly timeoutMs = 2_000,
  ) {}

  /** Runs one command on a fresh connection; returns the reply's text lines (codes stripped). */
  async command(cmd: string): Promise<string[]> {
    const sock: Socket = connect(this.socketPath);
    sock.setEncoding("utf8");
    return new Promise<string[]>((resolve, reject) => {
      let buf = "";
      let greeted = false;
      const lines: string[] = [];
      const timer = setTimeout(() => {
        sock.destroy();
        reject(
          new BirdError(`BIRD did not answer '${cmd}' within ${this.timeoutMs} ms (${this.socketPath})`),
        );
      }, this.timeoutMs);
      const finish = (err?: Error) => {
        clearTimeout(timer);
        sock.destroy();
        if (err) reject(err);
        else resolve(lines);
      };
      sock.on("error", (err) =>
        finish(new BirdError(`cannot talk to BIRD at ${this.socketPath}: ${err.message}`)),
      );
      sock.on("data", (chunk: string) => {
        buf += chunk;
        let nl = buf.indexOf("\n");
        while (nl >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          nl = buf.indexOf("\n");
          const m = /^(\d{4})([ -])(.*)$/.exec(line);
          if (!greeted) {
            // 0001 BIRD x.y ready.
            greeted = true;
            sock.write(`${cmd}\n`);
            continue;
          }
          if (m) {
            const [, code, sep, text] = m as unknown as [string, string, string, string];
            if (code.startsWith("8") || code.startsWith("9"))
              return finish(new BirdError(`BIRD: ${text.trim()}`));
            if (code !== "0000") lines.push(text);
            if (sep === " ") return finish();
          } else if (line.startsWith(" ")) lines.push(line.slice(1));
        }
      });
    });
  }

  async showProtocols(): Promise<BirdProtocol[]> {
    return parseProtocols(await this.command("show protocols"));
  }

  /** Soft reconfiguration from the config file; protocols whose settings did not change stay up. */
  async configure(): Promise<string> {
    const reply = (await this.command("configure")).join("\n");
    if (!/Reconfigur|Reconfiguration in progress|Reconfigured/i.test(reply))
      throw new BirdError(`BIRD configure: ${reply}`);
    return reply;
  }

  async showStatus(): Promise<string[]> {
    return this.command("show status");
  }
}
