import { describe, expect, it } from "vitest";
import { AsyncQueue, Wakeup } from "../../src/lib/async-queue.js";

describe("AsyncQueue", () => {
  it("hands items over in order, to a consumer that waits before and after they arrive", async () => {
    const queue = new AsyncQueue<number>();
    const taken: number[] = [];
    const consumer = (async () => {
      for await (const item of queue) taken.push(item);
    })();
    queue.push(1);
    await Promise.resolve();
    queue.push(2);
    queue.push(3);
    setTimeout(() => {
      queue.push(4);
      queue.close();
      queue.push(5); // after close: ignored
    }, 10);
    await consumer;
    expect(taken).toEqual([1, 2, 3, 4]);
  });

  it("throws a failure after the items pushed before it, then ends", async () => {
    const queue = new AsyncQueue<string>();
    queue.push("a");
    queue.fail(new Error("boom"));
    queue.push("b");
    expect(await queue.next()).toEqual({ done: false, value: "a" });
    await expect(queue.next()).rejects.toThrow("boom");
    expect(await queue.next()).toEqual({ done: true, value: undefined });
    expect(queue.ended).toBe(true);
  });

  it("wakes a waiting consumer on close", async () => {
    const queue = new AsyncQueue<number>();
    const pending = queue.next();
    queue.close();
    expect(await pending).toEqual({ done: true, value: undefined });
  });
});

describe("Wakeup", () => {
  it("resolves the waiter at notify, and a notify with no waiter is not kept", async () => {
    const wakeup = new Wakeup();
    wakeup.notify();
    let woken = false;
    const waiting = wakeup.wait().then(() => (woken = true));
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(woken).toBe(false);
    wakeup.notify();
    await waiting;
    expect(woken).toBe(true);
  });
});
