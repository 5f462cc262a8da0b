/**
 * Watches the kernel's link and address changes (`ip -o monitor link address`) so the dataplane
 * reacts when a workload's interface appears, goes up or is recreated after its endpoint was
 * already known — the usual order with CNI. Each change to an interface with a workload prefix
 * calls `onChange`; the caller then re-applies (routes and sysctls need the interface to exist).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";

export class InterfaceMonitor {
  private child?: ChildProcess;
  private stopped = false;

  constructor(
    private readonly prefixes: readonly string[],
    private readonly onChange: (iface: string) => void,
    /** Prefix for the command, e.g. `nsenter --net=…` to watch another namespace. */
    private readonly argvPrefix: readonly string[] = [],
  ) {}

  /** `2: cali1234@if3: <…>` or `5: cali1234    inet …` → `cali1234`. */
  static interfaceOf(line: string): string | undefined {
    const m = /^(?:Deleted\s+)?\d+:\s+([^\s:@]+)/.exec(line.trim());
    return m?.[1];
  }

  start(): void {
    const [file, ...args] = [...this.argvPrefix, "ip", "-o", "monitor", "link", "address"];
    if (!file) return;
    const child = spawn(file, args, { stdio: ["ignore", "pipe", "ignore"] });
    this.child = child;
    if (child.stdout)
      createInterface({ input: child.stdout }).on("line", (line) => {
        const iface = InterfaceMonitor.interfaceOf(line);
        if (iface && this.prefixes.some((p) => iface.startsWith(p))) this.onChange(iface);
      });
    child.once("exit", () => {
      // The monitor must not silently die: restart it (a resync covers what was missed).
      if (!this.stopped) setTimeout(() => this.start(), 1_000).unref();
    });
  }

  stop(): void {
    this.stopped = true;
    this.child?.kill("SIGTERM");
  }
}
