/**
 * CheckpointGatewayClient end to end, against the real gateway the harness started:
 * every RPC, paging, the error classes, deadlines, TLS and call metadata.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CheckpointError,
  CheckpointGatewayClient,
  ConflictError,
  DeadlineExceededError,
  InvalidArgumentError,
  NotFoundError,
  UnauthenticatedError,
  UnavailableError,
  decodeJson,
  type Checkpoint,
} from "../src/index.js";
import { newClient, target, tls, token } from "./gateway.js";

const run = (): string => `e2e-${randomUUID()}`;

describe("CheckpointGatewayClient", () => {
  let client: CheckpointGatewayClient;
  beforeAll(() => {
    client = newClient();
  });
  afterAll(() => {
    client.close();
  });

  it("saves, loads and finds the latest checkpoint", async () => {
    const id = run();
    const first = await client.save({
      executionId: id,
      state: { step: 1 },
      metadata: { source: "input", step: 1 },
      node: "start",
      nextNodes: ["agent"],
    });
    expect(first.version).toBe(1);
    expect(first.checkpointId).toMatch(/^[0-9a-f-]{36}$/);
    expect(first.createdAt).toBeInstanceOf(Date);
    const second = await client.save({
      executionId: id,
      parentId: first.checkpointId,
      state: new Uint8Array([1, 2, 3]),
      contentType: "application/x-test",
    });
    expect(second.version).toBe(2);

    const loaded = await client.load(id, first.checkpointId);
    expect(decodeJson(loaded.state)).toEqual({ step: 1 });
    expect(loaded.contentType).toBe("application/json");
    expect(loaded.metadata).toEqual({ source: "input", step: 1 });
    expect(loaded.node).toBe("start");
    expect(loaded.nextNodes).toEqual(["agent"]);
    expect(loaded.version).toBe(1);

    const latest = await client.latest(id);
    expect(latest.checkpointId).toBe(second.checkpointId);
    expect(latest.parentId).toBe(first.checkpointId);
    expect([...latest.state]).toEqual([1, 2, 3]);
    expect(latest.contentType).toBe("application/x-test");
  });

  it("saving the same id with the same content again is a no-op", async () => {
    const id = run();
    const checkpoint = { executionId: id, checkpointId: randomUUID(), state: { a: 1 } };
    const once = await client.save(checkpoint);
    const twice = await client.save(checkpoint);
    expect(twice.version).toBe(once.version);
    await expect(client.save({ ...checkpoint, state: { a: 2 } })).rejects.toBeInstanceOf(ConflictError);
  });

  it("lists newest first, page by page with page tokens, with filters and before", async () => {
    const id = run();
    const ids: string[] = [];
    for (let step = 0; step < 5; step += 1) {
      const saved = await client.save({
        executionId: id,
        state: { step },
        metadata: { step, even: step % 2 === 0 },
      });
      ids.push(saved.checkpointId);
    }
    const seen: string[] = [];
    let pageToken: string | undefined;
    let pages = 0;
    do {
      const page = await client.list(id, { pageSize: 2, pageToken });
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((c) => c.checkpointId));
      pageToken = page.nextPageToken;
      pages += 1;
    } while (pageToken !== undefined);
    expect(pages).toBe(3);
    expect(seen).toEqual([...ids].reverse());

    const even = await client.list(id, { metadataFilter: { even: true } });
    expect(even.items.map((c) => c.metadata.step)).toEqual([4, 2, 0]);
    const before = await client.list(id, { before: ids[2] });
    expect(before.items.map((c) => c.checkpointId)).toEqual([ids[1], ids[0]]);
    const all: Checkpoint[] = [];
    for await (const c of client.listAll(id, { pageSize: 2 })) {
      all.push(c);
    }
    expect(all.map((c) => c.checkpointId)).toEqual([...ids].reverse());
  });

  it("stores pending writes, first write of a key wins, and returns them with the checkpoint", async () => {
    const id = run();
    const saved = await client.save({ executionId: id, state: {} });
    const write = { taskId: "t1", idx: 0, channel: "messages", value: Buffer.from("hi"), contentType: "text/plain" };
    expect(await client.putWrites(id, saved.checkpointId, [write])).toBe(1);
    await client.putWrites(id, saved.checkpointId, [{ ...write, value: Buffer.from("again") }]);
    await client.putWrites(id, saved.checkpointId, [{ taskId: "t1", idx: -1, channel: "__error__", value: Buffer.from("e1") }]);
    await client.putWrites(id, saved.checkpointId, [{ taskId: "t1", idx: -1, channel: "__error__", value: Buffer.from("e2") }]);
    const loaded = await client.load(id, saved.checkpointId);
    const byChannel = Object.fromEntries(loaded.pendingWrites.map((w) => [w.channel, Buffer.from(w.value).toString()]));
    expect(byChannel).toEqual({ messages: "hi", __error__: "e2" });
  });

  it("stores channels once per version and refers to them", async () => {
    const id = run();
    const first = await client.save({
      executionId: id,
      state: {},
      channels: { messages: { version: "1", value: Buffer.from("[1]") }, count: { version: "1", value: Buffer.from("1") } },
    });
    await client.save({
      executionId: id,
      parentId: first.checkpointId,
      state: {},
      channels: { messages: { version: "1" }, count: { version: "2", value: Buffer.from("2") } },
    });
    const latest = await client.latest(id);
    expect(Buffer.from(latest.channels.messages?.value ?? []).toString()).toBe("[1]");
    expect(Buffer.from(latest.channels.count?.value ?? []).toString()).toBe("2");
    await expect(
      client.save({ executionId: id, state: {}, channels: { other: { version: "9" } } }),
    ).rejects.toBeInstanceOf(NotFoundError);
  });

  it("deletes one checkpoint and clears an execution", async () => {
    const id = run();
    const a = await client.save({ executionId: id, state: 1 });
    await client.save({ executionId: id, state: 2, namespace: "child" });
    expect(await client.delete(id, a.checkpointId)).toBe(true);
    expect(await client.delete(id, a.checkpointId)).toBe(false);
    await expect(client.load(id, a.checkpointId)).rejects.toBeInstanceOf(NotFoundError);
    await client.save({ executionId: id, state: 3 });
    expect(await client.clear(id, { namespace: "" })).toBe(1);
    expect((await client.listNamespaces(id)).items).toEqual(["child"]);
    expect(await client.clear(id)).toBe(1);
    await expect(client.latest(id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it("serves the other RPCs: saveMany, namespaces, executions, search, ancestors, copy, prune, deleteWhere", async () => {
    const id = run();
    const tag = randomUUID();
    const results = await client.saveMany([
      { checkpoint: { executionId: id, state: 0, metadata: { tag } }, expectedVersion: 0 },
      { checkpoint: { executionId: id, state: 1, metadata: { tag } } },
      { checkpoint: { executionId: id, state: 2 }, expectedVersion: 0 },
    ]);
    expect(results[0]).toMatchObject({ version: 1 });
    expect(results[1]).toMatchObject({ version: 2 });
    expect(results[2]).toBeInstanceOf(ConflictError);
    const [first, second] = results as unknown as [{ checkpointId: string }, { checkpointId: string }];
    await client.save({ executionId: id, namespace: "sub", state: 3, parentId: "" });
    expect((await client.listNamespaces(id)).items).toEqual(["", "sub"]);
    expect((await client.list(id, { allNamespaces: true })).items).toHaveLength(3);
    const executions = (await client.listExecutions({ pageSize: 1000 })).items.map((e) => e.executionId);
    expect(executions).toContain(id);

    const found = await client.search({ metadataFilter: { tag }, includeWrites: true });
    expect(found.items.map((c) => c.checkpointId).sort()).toEqual([first.checkpointId, second.checkpointId].sort());

    const third = await client.save({ executionId: id, parentId: second.checkpointId, state: 4 });
    await client.save({ executionId: id, checkpointId: undefined, state: 5 });
    const chain = await client.ancestors(id, third.checkpointId, { includeSelf: true });
    expect(chain.items.map((c) => c.checkpointId)).toEqual([third.checkpointId, second.checkpointId]);

    const copy = run();
    expect(await client.copyExecution(id, copy)).toBe(5);
    await expect(client.copyExecution(id, copy)).rejects.toBeInstanceOf(ConflictError);
    await expect(client.copyExecution(run(), run())).rejects.toBeInstanceOf(NotFoundError);
    expect(await client.prune([copy], "keep_latest")).toBe(3);
    expect(await client.deleteWhere({ tag }, { executionId: id })).toBe(2);
    expect(await client.prune([id, copy], "delete_all")).toBe(5);
  });

  it("raises NotFoundError, ConflictError and InvalidArgumentError, all CheckpointErrors with their code", async () => {
    const id = run();
    const missing = client.load(id, randomUUID());
    await expect(missing).rejects.toBeInstanceOf(NotFoundError);
    await expect(missing).rejects.toMatchObject({ code: 5, codeName: "NOT_FOUND" });
    await expect(client.latest(id)).rejects.toBeInstanceOf(NotFoundError);

    await client.save({ executionId: id, state: 1 }, { expectedVersion: 0 });
    const lost = client.save({ executionId: id, state: 2 }, { expectedVersion: 0 });
    await expect(lost).rejects.toBeInstanceOf(ConflictError);
    await expect(lost).rejects.toBeInstanceOf(CheckpointError);
    await expect(lost).rejects.toMatchObject({ code: 10, name: "ConflictError" });
    await client.save({ executionId: id, state: 2 }, { expectedVersion: 1 });

    await expect(client.list(id, { metadataFilter: JSON.parse('{"a": [1]}') as Record<string, string> })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await expect(client.list(id, { pageSize: -1 })).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it("raises DeadlineExceededError past a call's deadline (per call and per client)", async () => {
    await expect(client.latest(run(), { timeoutMs: 0.001 })).rejects.toBeInstanceOf(DeadlineExceededError);
    const hasty = newClient({ timeoutMs: 0.001 });
    try {
      await expect(hasty.latest(run())).rejects.toBeInstanceOf(DeadlineExceededError);
      // A per-call deadline overrides the client's.
      await expect(hasty.latest(run(), { timeoutMs: 10_000 })).rejects.toBeInstanceOf(NotFoundError);
    } finally {
      hasty.close();
    }
  });

  it("needs the bearer token: without it, or with a wrong one, calls are UnauthenticatedError", async () => {
    const anonymous = new CheckpointGatewayClient(target());
    const wrong = new CheckpointGatewayClient(target(), { token: "not-the-token" });
    // The token as plain call metadata, per client or per call, works too.
    const byMetadata = new CheckpointGatewayClient(target(), { metadata: { authorization: `Bearer ${token()}` } });
    const refreshed = new CheckpointGatewayClient(target(), { token: async () => Promise.resolve(token()) });
    try {
      await expect(anonymous.latest(run())).rejects.toBeInstanceOf(UnauthenticatedError);
      await expect(wrong.latest(run())).rejects.toBeInstanceOf(UnauthenticatedError);
      await expect(anonymous.latest(run(), { metadata: { authorization: `Bearer ${token()}` } })).rejects.toBeInstanceOf(
        NotFoundError,
      );
      await expect(byMetadata.latest(run())).rejects.toBeInstanceOf(NotFoundError);
      await expect(refreshed.latest(run())).rejects.toBeInstanceOf(NotFoundError);
    } finally {
      for (const c of [anonymous, wrong, byMetadata, refreshed]) {
        c.close();
      }
    }
  });

  it("raises UnavailableError when no gateway listens", async () => {
    const nowhere = new CheckpointGatewayClient("127.0.0.1:1", { token: token(), timeoutMs: 2_000, serviceConfig: null });
    try {
      await expect(nowhere.latest(run())).rejects.toBeInstanceOf(UnavailableError);
    } finally {
      nowhere.close();
    }
  });

  it("cancels a call when its signal aborts", async () => {
    const controller = new AbortController();
    controller.abort(new Error("stop"));
    await expect(client.latest(run(), { signal: controller.signal })).rejects.toThrow("stop");
  });

  const secure = tls();
  it.runIf(secure !== undefined)("talks TLS with the gateway's CA, and plaintext to a TLS port fails", async () => {
    const { target: tlsTarget, ca } = secure!;
    const overTls = new CheckpointGatewayClient(tlsTarget, { token: token(), tls: { ca } });
    const plaintext = new CheckpointGatewayClient(tlsTarget, { token: token(), timeoutMs: 3_000, serviceConfig: null });
    const untrusted = new CheckpointGatewayClient(tlsTarget, { token: token(), tls: true, timeoutMs: 3_000, serviceConfig: null });
    try {
      const id = run();
      const saved = await overTls.save({ executionId: id, state: { over: "tls" } });
      expect(decodeJson((await overTls.load(id, saved.checkpointId)).state)).toEqual({ over: "tls" });
      await expect(plaintext.latest(id)).rejects.toBeInstanceOf(UnavailableError);
      await expect(untrusted.latest(id)).rejects.toBeInstanceOf(UnavailableError);
    } finally {
      for (const c of [overTls, plaintext, untrusted]) {
        c.close();
      }
    }
  });
});
