/** A gate thread's ledger of the connections it counted in the shared table (store/shared-ledger.ts). */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ConnLedger } from "../../src/shared/store/shared-ledger.ts";
import { SharedConnectionCounts } from "../../src/shared/store/shared-conns.ts";

const caps = { maxConnections: 100, maxConnectionsPerAddr: 5, maxConnectionsPerNet: 50 };

describe("ConnLedger", () => {
  test("replay() closes exactly what the dead thread still counted, and empties the ledger", () => {
    const conns = SharedConnectionCounts.create({ maxConnections: 100 });
    const buf = ConnLedger.buffer(100);
    const dead = new ConnLedger(buf, conns);
    // Another thread's connections, which must stay counted.
    assert.equal(conns.tryOpen("192.0.2.9", "192.0.2.0/24", caps), 0);
    for (let i = 0; i < 3; i++) assert.equal(dead.tryOpen("192.0.2.1", "192.0.2.0/24", caps), 0);
    assert.equal(dead.tryOpen("2001:db8::1", "2001:db8::/64", caps), 0);
    dead.close("192.0.2.1", "192.0.2.0/24");
    // Refused opens are not ledgered.
    for (let i = 0; i < 4; i++) dead.tryOpen("192.0.2.1", "192.0.2.0/24", caps);
    assert.equal(conns.perAddr("192.0.2.1"), 5);
    assert.equal(conns.open, 7);
    assert.equal(ConnLedger.replay(buf, conns), 6);
    assert.equal(conns.perAddr("192.0.2.1"), 0);
    assert.equal(conns.perAddr("2001:db8::1"), 0);
    assert.equal(conns.perNet("192.0.2.0/24"), 1);
    assert.equal(conns.perAddr("192.0.2.9"), 1);
    assert.equal(conns.open, 1);
    assert.equal(ConnLedger.replay(buf, conns), 0, "emptied");
  });

  test("records freed by closes are reused; a full ledger still admits (unledgered); bad buffers are refused", () => {
    const conns = SharedConnectionCounts.create({ maxConnections: 100 });
    const buf = ConnLedger.buffer(2);
    const l = new ConnLedger(buf, conns);
    for (let i = 0; i < 50; i++) {
      assert.equal(l.tryOpen(`198.51.100.${i}`, "198.51.100.0/24", caps), 0);
      l.close(`198.51.100.${i}`, "198.51.100.0/24");
    }
    assert.equal(conns.open, 0);
    assert.equal(l.tryOpen("203.0.113.1", "a", caps), 0);
    assert.equal(l.tryOpen("203.0.113.2", "a", caps), 0);
    assert.equal(l.tryOpen("203.0.113.3", "a", caps), 0, "admitted even with the ledger full");
    assert.equal(ConnLedger.replay(buf, conns), 2);
    assert.equal(conns.open, 1);
    assert.throws(() => ConnLedger.buffer(0), RangeError);
    assert.throws(() => new ConnLedger(new SharedArrayBuffer(7), conns), TypeError);
  });
});
