import assert from "node:assert/strict";
import { Scheduler, type TaskBody, WaitQueue } from "./scheduler.ts";

Deno.test("scheduler: a timed wait ends at its wake-up or at its timeout, whichever comes first", () => {
  const s = new Scheduler();
  const q = new WaitQueue("q");
  const log: string[] = [];
  function* waiter(name: string, timeout: number): TaskBody<void> {
    const start = s.now;
    yield { on: q, timeout };
    log.push(`${name} at ${s.now - start}`);
  }
  s.spawn("early", waiter("early", 500));
  s.spawn("late", waiter("late", 100));
  assert.equal(s.nextWake, undefined);
  s.run({ until: 0 });
  assert.equal(s.nextWake, 100, "the first timeout is the next wake-up");
  s.run({ until: 50 });
  s.irq("wake", () => q.wakeAll());
  s.run();
  assert.deepEqual(log, ["early at 50", "late at 50"]);
  assert.equal(s.nextWake, undefined, "a woken timed wait leaves no sleeper behind");
  assert.equal(s.now, 50, "nor does the clock move for it");
  // timed out: the task is off the queue, and a later wake finds no one
  s.spawn("alone", waiter("alone", 30));
  const r = s.run();
  assert.deepEqual(log.slice(2), ["alone at 30"]);
  assert.deepEqual(r.blocked, []);
  assert.equal(s.now, 80);
  q.wakeAll();
  assert.equal(s.run().steps, 0);
});
