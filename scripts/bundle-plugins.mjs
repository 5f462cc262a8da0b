// Bundles the CNI plugins' entry (dist/cni/main.js and everything it imports, lazily or not)
// into dist/cni/plugins.js plus a few chunks beside it, which bin/calico and bin/calico-ipam run.
// A plugin is a process per container operation: resolving and linking ~120 separate ES modules
// at every start cost it about as much again as Node's own start-up. Lazily imported parts (the
// write pipeline, IPAM, the dataplane, the etcd client) become chunks of their own, so VERSION
// or a DEL loads only what it runs. The gRPC etcd client (only for CALICO_ETCD_CLIENT=grpc) stays
// outside, loaded from dist/ and node_modules/ when chosen. Chunks sit in dist/cni like main.js,
// so `import.meta.url`-relative paths (../../bin, ../../package.json) point at the same files.
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";

const OUT = "dist/cni";
const GRPC_CLIENT = /\/datastore\/etcd\/etcd-kv\.js$/;

// Chunk names carry content hashes: drop the previous build's.
for (const f of readdirSync(OUT)) if (/^plugins(-.*)?\.js$/.test(f)) rmSync(join(OUT, f));

await build({
  entryPoints: { plugins: `${OUT}/main.js` },
  outdir: OUT,
  bundle: true,
  splitting: true,
  chunkNames: "plugins-[name]-[hash]",
  platform: "node",
  format: "esm",
  target: "node20",
  // Less to parse at every start; identifiers are kept so stack traces stay readable.
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: "warning",
  plugins: [
    {
      name: "grpc-client-outside",
      setup(b) {
        b.onResolve({ filter: GRPC_CLIENT }, (args) => ({ path: args.path, external: true }));
      },
    },
  ],
});
