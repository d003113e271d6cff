import assert from "node:assert/strict";
import { PageAllocator } from "./allocator.ts";
import { GuestEnv } from "./guest.ts";
import { GuestMemory } from "./memory.ts";
import { guestStatistics } from "./driver/stats.ts";

Deno.test("guest: memory and allocator of another kind, of the guest's size", () => {
  const memory = new GuestMemory({ pages: 4096 });
  const allocator = new PageAllocator({ pages: 4096, reserved: 0 });
  const g = new GuestEnv({ pages: 4096, memory, allocator });
  assert.equal(g.mem, memory);
  assert.equal(g.alloc, allocator);
  assert.deepEqual(g.statistics("v3"), guestStatistics(g, "v3"));
  assert.throws(
    () => new GuestEnv({ pages: 8192, memory }),
    /Invalid guest memory: it has 4096 pages, expected the guest's 8192/,
  );
  assert.throws(
    () => new GuestEnv({ pages: 8192, allocator }),
    /Invalid guest allocator: it has 4096 pages, expected the guest's 8192/,
  );
});
