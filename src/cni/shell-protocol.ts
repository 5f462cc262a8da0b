/**
 * Pure side of the plugin's command shell (shell.ts): how one command is written to the shell's
 * stdin, and how its output and exit status are cut back out of the shell's stdout and stderr.
 *
 * Each request is one command line with its stdin as a quoted here-document (so no command ever
 * reads the shell's own stdin, which carries the requests), followed by two end markers: the
 * exit status on stdout and a bare marker on stderr. A marker starts on a fresh line and carries
 * a per-shell random token and the request's number, so no command output can forge one.
 */
import { shq } from "./ipcmd.js";

/** File descriptor the shell keeps the IPAM lock file open on while the lock is held. */
export const LOCK_FD = 8;

function inputDelimiter(token: string, seq: number): string {
  return `CALICO_TS_IN_${token}_${seq}`;
}

function marker(token: string, seq: number): string {
  return `CALICO_TS_END_${token}_${seq}`;
}

/** `argv` as a shell command line, every word quoted. */
export function commandLine(argv: string[]): string {
  return argv.map(shq).join(" ");
}

/**
 * The request text for `line` (already shell syntax). Commands do not inherit the lock's
 * descriptor, so none can keep the lock alive after the shell lets it go.
 */
export function shellRequest(token: string, seq: number, line: string, input = ""): string {
  const delim = inputDelimiter(token, seq);
  const body = input === "" || input.endsWith("\n") ? input : `${input}\n`;
  const end = marker(token, seq);
  return (
    `${line} ${LOCK_FD}>&- <<'${delim}'\n${body}${delim}\n` +
    `printf '\\n%s %d\\n' '${end}' "$?"\n` +
    `printf '\\n%s\\n' '${end}' >&2\n`
  );
}

/**
 * A request that changes the shell itself (opens or closes the lock descriptor), sent as is: a
 * redirection added to `exec` would apply to the shell for good. Any command in `line` must not
 * read stdin.
 */
export function shellSelfRequest(token: string, seq: number, line: string): string {
  const end = marker(token, seq);
  return `${line}\nprintf '\\n%s %d\\n' '${end}' "$?"\nprintf '\\n%s\\n' '${end}' >&2\n`;
}

export interface StdoutReply {
  /** What the command wrote to stdout. */
  output: string;
  code: number;
  /** Whatever followed the marker (nothing, while requests run one at a time). */
  rest: string;
}

/** The reply to request `seq` once stdout holds its end marker, else undefined. */
export function takeStdout(buffer: string, token: string, seq: number): StdoutReply | undefined {
  const m = new RegExp(`\\n${marker(token, seq)} (\\d+)\\n`).exec(buffer);
  if (!m) return undefined;
  return {
    output: buffer.slice(0, m.index),
    code: Number(m[1]),
    rest: buffer.slice(m.index + m[0].length),
  };
}

/** The command's stderr once the stream holds its end marker, else undefined. */
export function takeStderr(
  buffer: string,
  token: string,
  seq: number,
): { output: string; rest: string } | undefined {
  const end = `\n${marker(token, seq)}\n`;
  const at = buffer.indexOf(end);
  if (at < 0) return undefined;
  return { output: buffer.slice(0, at), rest: buffer.slice(at + end.length) };
}
