/** `calico-typha`: serves Felix and confd from one datastore watch until SIGTERM/SIGINT. */
import { Command } from "commander";
import { openDatastore } from "../datastore/index.js";
import { createLogger } from "../lib/log.js";
import { packageVersion } from "../lib/version.js";
import {
  DEFAULT_TYPHA_CONFIG_FILE,
  parseTyphaParams,
  rawTyphaConfig,
  readTyphaConfigFile,
  typhaDatastoreConfig,
} from "./config.js";
import { startTypha, type TyphaHandle } from "./daemon.js";
import { typhaSources } from "./syncer-sources.js";
import { readTlsFiles } from "./tls.js";

export async function main(argv: string[] = process.argv): Promise<void> {
  const program = new Command("calico-typha")
    .description("Calico's fan-out cache: one datastore watch served to many Felix and confd instances")
    .option("-c, --config-file <FILE>", "Typha config file (INI)", DEFAULT_TYPHA_CONFIG_FILE)
    .option("--version", "print the version and exit")
    .helpOption("-h, --help")
    .parse(argv);
  const opts = program.opts<{ configFile: string; version?: boolean }>();
  if (opts.version) {
    process.stdout.write(`${packageVersion()}\n`);
    return;
  }
  let typha: TyphaHandle;
  try {
    const { values, unknown } = rawTyphaConfig(process.env, readTyphaConfigFile(opts.configFile));
    const params = parseTyphaParams(values);
    const dsConfig = typhaDatastoreConfig(values, process.env);
    const tls = params.tls
      ? {
          ...readTlsFiles(
            {
              caFile: params.tls.caFile,
              certFile: params.tls.serverCertFile,
              keyFile: params.tls.serverKeyFile,
            },
            { ca: "CAFile", cert: "ServerCertFile", key: "ServerKeyFile" },
          ),
          clientCN: params.tls.clientCN,
          clientURISAN: params.tls.clientURISAN,
        }
      : undefined;
    const log = createLogger({
      name: "typha",
      screen: params.logSeverityScreen,
      file: params.logSeverityFile,
      filePath: params.logFilePath,
      sys: params.logSeveritySys,
    });
    for (const name of unknown) log.warn({ name }, "Ignoring unknown config parameter");
    const store = await openDatastore(dsConfig);
    typha = await startTypha({ params, kv: store.kv, sources: typhaSources(), ...(tls ? { tls } : {}), log });
    log.info({ version: packageVersion(), port: typha.port }, "Typha started");
  } catch (err) {
    process.stderr.write(`calico-typha: ${(err as Error).message}\n`);
    process.exit(1);
  }
  let stopping = false;
  for (const signal of ["SIGTERM", "SIGINT"] as const)
    process.once(signal, () => {
      if (stopping) return;
      stopping = true;
      void typha.shutdown().then(() => process.exit(0));
    });
}
