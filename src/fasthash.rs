//! A fast, deterministic hasher for the importers' and the analysis' hash maps (endpoints by
//! address, open connections by endpoint pair, tshark flows by host pair), which SipHash made a
//! quarter of a pcap's analysis time.
//!
//! Guarantees: the Fx hash (rustc's: rotate, xor, multiply per word), with no random state, so a
//! map's layout is the same on every run; no map keyed with it is ever iterated where the order
//! could reach an output. Not resistant to deliberately colliding keys: a capture built to collide
//! slows its own import, nothing more.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A `HashMap` with [`FxHasher`].
pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// The Fx hash.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(last));
        }
    }

    fn write_u8(&mut self, v: u8) {
        self.add(u64::from(v));
    }
    fn write_u16(&mut self, v: u16) {
        self.add(u64::from(v));
    }
    fn write_u32(&mut self, v: u32) {
        self.add(u64::from(v));
    }
    fn write_u64(&mut self, v: u64) {
        self.add(v);
    }
    fn write_usize(&mut self, v: usize) {
        self.add(v as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::{BuildHasher, Hash};

    // Proves the hash is deterministic and tells apart keys differing in one byte, in the tail of
    // a string, or only in order.
    #[test]
    fn distinct_and_stable() {
        let h = |k: &dyn Fn(&mut FxHasher)| {
            let mut s = BuildHasherDefault::<FxHasher>::default().build_hasher();
            k(&mut s);
            s.finish()
        };
        let a = h(&|s| "10.0.0.1.443".hash(s));
        assert_eq!(a, h(&|s| "10.0.0.1.443".hash(s)));
        assert_ne!(a, h(&|s| "10.0.0.1.444".hash(s)));
        assert_ne!(h(&|s| (1u32, 2u32).hash(s)), h(&|s| (2u32, 1u32).hash(s)));
        let mut m: FastMap<(u32, u32), u32> = FastMap::default();
        m.insert((1, 2), 3);
        assert_eq!(m.get(&(1, 2)), Some(&3));
    }
}
