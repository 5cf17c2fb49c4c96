/**
 * Where the tests' gateway is: the environment the pytest harness (tests/sdk/conftest.py)
 * gives the runner. Not a test file itself.
 */
import { readFileSync } from "node:fs";
import { CheckpointGatewayClient, type ClientOptions } from "../src/index.js";

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run these tests through tests/sdk/test_typescript.py`);
  }
  return value;
}

export const target = (): string => required("CHECKPOINT_GATEWAY_TARGET");
export const token = (): string => required("CHECKPOINT_GATEWAY_TOKEN");
export const backend = (): string => process.env.CHECKPOINT_GATEWAY_BACKEND ?? "unknown";

/** The TLS twin and its CA, when the harness started one. */
export function tls(): { target: string; ca: Buffer } | undefined {
  const tlsTarget = process.env.CHECKPOINT_GATEWAY_TLS_TARGET;
  const ca = process.env.CHECKPOINT_GATEWAY_TLS_CA;
  return tlsTarget && ca ? { target: tlsTarget, ca: readFileSync(ca) } : undefined;
}

export function newClient(options: ClientOptions = {}): CheckpointGatewayClient {
  return new CheckpointGatewayClient(target(), { token: token(), ...options });
}

/** Remove every checkpoint the tests' tenant holds on the gateway. */
export async function wipe(client: CheckpointGatewayClient): Promise<void> {
  for (;;) {
    const page = await client.listExecutions({ pageSize: 1000 });
    if (page.items.length === 0) {
      return;
    }
    await client.prune(
      page.items.map((e) => e.executionId),
      "delete_all",
    );
  }
}
