import { describeTapeDeviceContract } from '@tapedup/scsi/contract';
import { VirtualClock } from './clock';
import { MemoryMedium } from './memory-medium';
import { VirtualDrive } from './virtual-drive';

// The full LTO-9 timing model on a virtual clock: the contract must hold with the buffer, the
// backhitches and the repositioning times in play, not only with the rate model off.
describeTapeDeviceContract('VirtualDrive (LTO-9 timing, virtual clock, in-memory medium)', async () => {
  const drive = new VirtualDrive({
    name: 'virtual:contract#0',
    clock: new VirtualClock(),
    medium: new MemoryMedium({ barcode: 'CON001L9', capacityBytes: 64 * 1024 * 1024 }),
  });
  await drive.open();
  return { device: drive, cleanup: () => drive.close() };
});

describeTapeDeviceContract('VirtualDrive (rate model off, no append-only support)', async () => {
  const drive = new VirtualDrive({
    name: 'virtual:contract#1',
    clock: new VirtualClock(),
    profile: 'untimed',
    appendOnlySupported: false,
    medium: new MemoryMedium({ barcode: 'CON002L9', capacityBytes: 64 * 1024 * 1024 }),
  });
  await drive.open();
  return { device: drive, cleanup: () => drive.close() };
});
