// Records the git commit the build came from, for `calicoctl version` and `calico -v`.
// Outside a git checkout the file is not written and those commands print "unknown".
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";

try {
  const gitCommit = execFileSync("git", ["rev-parse", "HEAD"], { stdio: ["ignore", "pipe", "ignore"] })
    .toString()
    .trim();
  writeFileSync(new URL("../build-info.json", import.meta.url), `${JSON.stringify({ gitCommit })}\n`);
} catch {
  // not a git checkout
}
