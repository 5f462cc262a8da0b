// Bundles the CNI plugins' entry (dist/cni/main.js and everything it imports, lazily or not)
// into one file, dist/cni/plugins.js, which bin/calico and bin/calico-ipam run. A plugin is a
// process per container operation: loading ~120 separate ES modules cost it about as much again
// as Node's own start-up, one pre-linked file much less. Dynamic imports stay lazy inside the
// bundle. The gRPC etcd client (only for CALICO_ETCD_CLIENT=grpc) stays outside, loaded from
// dist/ and node_modules/ when chosen. The bundle sits in dist/cni/ like main.js, so its
// `import.meta.url`-relative paths (../../bin, ../../package.json) still point at the same files.
import { build } from "esbuild";

const GRPC_CLIENT = /\/datastore\/etcd\/etcd-kv\.js$/;

await build({
  entryPoints: { plugins: "dist/cni/main.js" },
  outdir: "dist/cni",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
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
