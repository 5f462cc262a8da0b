/**
 * The few Docker Engine API reads the driver needs: Docker never sends network names or
 * container labels to a remote driver, so, as Calico's plugin did, it asks the daemon.
 */
import { request } from "node:http";

const API_VERSION = "v1.25";
const TIMEOUT_MS = 5_000;

export class DockerApiError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface DockerNetwork {
  Name: string;
  Id: string;
  /** Running containers: container ID → their endpoint on this network. */
  Containers?: Record<string, { EndpointID?: string }>;
}

export interface DockerContainer {
  Id: string;
  Name?: string;
  Config?: { Labels?: Record<string, string> | null };
}

export class DockerApi {
  constructor(readonly socketPath: string) {}

  private get<T>(path: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const req = request(
        { socketPath: this.socketPath, path: `/${API_VERSION}${path}`, method: "GET", timeout: TIMEOUT_MS },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const body = Buffer.concat(chunks).toString();
            if (res.statusCode !== 200) {
              let msg = body.trim();
              try {
                msg = (JSON.parse(body) as { message?: string }).message ?? msg;
              } catch {
                // Not JSON: keep the raw text.
              }
              reject(new DockerApiError(`Docker API GET ${path}: ${res.statusCode} ${msg}`, res.statusCode));
              return;
            }
            try {
              resolve(JSON.parse(body) as T);
            } catch {
              reject(new DockerApiError(`Docker API GET ${path}: invalid JSON`));
            }
          });
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new DockerApiError(`Docker API GET ${path}: timed out`)));
      req.on("error", (err) =>
        reject(
          err instanceof DockerApiError
            ? err
            : new DockerApiError(`cannot reach Docker at ${this.socketPath}: ${err.message}`),
        ),
      );
      req.end();
    });
  }

  network(id: string): Promise<DockerNetwork> {
    return this.get(`/networks/${encodeURIComponent(id)}`);
  }

  container(id: string): Promise<DockerContainer> {
    return this.get(`/containers/${encodeURIComponent(id)}/json`);
  }
}
