/**
 * Devices whose behaviour cannot be probed cheaply at open, recognised by their INQUIRY identity.
 * Whether IMMED is honoured can only be measured by timing filemarks, which writes to the medium;
 * identifying the device is the non-destructive alternative.
 */
export interface DeviceQuirks {
  /** Human name of the implementation, for logs. */
  implementation: string;
  /** Why WRITE FILEMARKS with IMMED=1 is not immediate on this device, when it is not. */
  ignoresImmediate?: string | undefined;
}

interface KnownDevice extends DeviceQuirks {
  vendor: string;
  productPrefix: string;
}

const KNOWN: readonly KnownDevice[] = [
  {
    vendor: 'IET',
    productPrefix: 'VIRTUAL-TAPE',
    implementation: 'tgt (Linux SCSI target framework) SSC emulation',
    ignoresImmediate: 'tgt writes filemarks with an fsync on every WRITE FILEMARKS and ignores IMMED',
  },
];

/** Quirks of a device known by vendor and product, or undefined for anything else. */
export function quirksFor(vendor: string, product: string): DeviceQuirks | undefined {
  const v = vendor.trim();
  const p = product.trim();
  return KNOWN.find((k) => k.vendor === v && p.startsWith(k.productPrefix));
}
