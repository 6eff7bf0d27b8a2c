// CRC-32 (IEEE 802.3, reflected, polynomial 0xedb88320) of the .qwm header check and the bundle descriptor.

// ---------------------------------------------------------------------------------------------- CRC-32 (IEEE)
export const crcTable = memory.data(1024);
export let crcReady = false;

export function crc32(p: usize, len: u32): u32 {
  if (!crcReady) {
    for (let i: u32 = 0; i < 256; i++) {
      let c = i;
      for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & (0 - (c & 1)));
      store<u32>(crcTable + (<usize>i << 2), c);
    }
    crcReady = true;
  }
  let c: u32 = 0xffffffff;
  for (let i: u32 = 0; i < len; i++) c = load<u32>(crcTable + ((<usize>((c ^ <u32>load<u8>(p + i)) & 0xff)) << 2)) ^ (c >>> 8);
  return c ^ 0xffffffff;
}
