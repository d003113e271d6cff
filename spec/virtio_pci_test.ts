import assert from "node:assert/strict";
import {
  PCI_ENUMS,
  PCI_STRUCTS,
  pciEnumValue,
  pciFieldOf,
  pciStructSize,
  VIRTIO_PCI_BALLOON_MODERN_ID,
  VIRTIO_PCI_BALLOON_TRANSITIONAL_ID,
} from "./virtio_pci.ts";
import { wireSize } from "./wire.ts";

Deno.test("virtio PCI register layouts: fields in offset order, never overlapping, each at its natural alignment", () => {
  for (const s of Object.values(PCI_STRUCTS)) {
    let end = 0;
    for (const f of s.fields) {
      assert.ok(f.offset >= end, `${s.name}.${f.name} overlaps the field before it`);
      const size = wireSize(f.type);
      assert.equal(f.offset % Math.min(size, 4), 0, `${s.name}.${f.name} is misaligned`);
      end = f.offset + size;
    }
    assert.equal(new Set(s.fields.map((f) => f.name)).size, s.fields.length, s.name);
  }
});

Deno.test("virtio PCI layouts have the sizes of the spec's structs (§4.1.4)", () => {
  assert.equal(pciStructSize("virtio_pci_cap"), 16);
  assert.equal(pciFieldOf("virtio_pci_notify_cap", "notify_off_multiplier").offset, 16);
  assert.equal(pciStructSize("virtio_pci_common_cfg"), 60);
  // the legacy device config starts at 20, or at 24 while MSI-X is enabled
  assert.equal(pciStructSize("virtio_pci_legacy_cfg"), 20);
  assert.equal(pciStructSize("virtio_pci_legacy_msix"), 24);
  assert.equal(pciStructSize("pci_msix_table_entry"), 16);
});

Deno.test("the balloon's PCI ids: modern 0x1045 (0x1040 + 5), transitional 0x1002", () => {
  assert.equal(VIRTIO_PCI_BALLOON_MODERN_ID, 0x1045);
  assert.equal(VIRTIO_PCI_BALLOON_TRANSITIONAL_ID, 0x1002);
});

Deno.test("virtio PCI value sets: names unique, flag sets made of distinct bits", () => {
  for (const e of Object.values(PCI_ENUMS)) {
    assert.equal(new Set(e.values.map((v) => v.name)).size, e.values.length, e.name);
    if (e.flags && e.name !== "pci_msix_control") {
      for (const v of e.values) assert.equal(v.value & (v.value - 1), 0, `${e.name}.${v.name}`);
    }
  }
  assert.equal(pciEnumValue("virtio_pci_cap_cfg_type", "VIRTIO_PCI_CAP_NOTIFY_CFG"), 2);
  assert.throws(
    () => pciEnumValue("pci_cap_id", "NOPE"),
    /Value set pci_cap_id has no member NOPE/,
  );
  assert.throws(
    () => pciFieldOf("virtio_pci_cap", "nope"),
    /Register layout virtio_pci_cap has no field nope/,
  );
});
