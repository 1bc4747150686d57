//! `SimDevice`: the smoltcp `phy::Device` of one endpoint, two in-memory queues of IPv4 packets and
//! a free list of frame buffers.
//!
//! The simulation pushes arriving packets into `rx` and drains what the stack transmitted from `tx`.
//! Buffers are recycled through the simulation's one frame pool, which the device borrows while the
//! stack runs ([`SimDevice::lend_pool`]): transmissions take their buffer from it, and a received
//! frame's buffer returns to it once the stack has read it, so a run in steady state allocates no
//! frame memory whatever the direction of its traffic. Medium is IP (no link-layer headers, no ARP); checksums are computed and
//! verified, so pcaps carry valid checksums.

use std::collections::VecDeque;

use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

/// In-memory device.
#[derive(Debug)]
pub struct SimDevice {
    /// Packets waiting to be received by the stack.
    pub rx: VecDeque<Vec<u8>>,
    /// Packets the stack transmitted.
    pub tx: VecDeque<Vec<u8>>,
    /// The frame the stack is reading (kept until the next receive, then recycled).
    current: Vec<u8>,
    free: Vec<Vec<u8>>,
    mtu: usize,
}

impl SimDevice {
    /// A device with the given IP MTU.
    pub fn new(mtu: usize) -> SimDevice {
        SimDevice {
            rx: VecDeque::new(),
            tx: VecDeque::new(),
            current: Vec::new(),
            free: Vec::new(),
            mtu,
        }
    }

    /// Swaps the device's free list with `pool`: called before the stack runs (the device then
    /// takes and returns buffers from the simulation's pool) and again after (the pool gets them
    /// back).
    pub fn lend_pool(&mut self, pool: &mut Vec<Vec<u8>>) {
        std::mem::swap(&mut self.free, pool);
    }
}

/// Receive token: the frame being read.
pub struct RxToken<'a>(&'a [u8]);

impl phy::RxToken for RxToken<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(self.0)
    }
}

/// Transmit token: a recycled buffer, appended to the device's `tx` queue.
pub struct TxToken<'a> {
    tx: &'a mut VecDeque<Vec<u8>>,
    free: &'a mut Vec<Vec<u8>>,
}

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut buf = self.free.pop().unwrap_or_default();
        buf.clear();
        buf.resize(len, 0);
        let r = f(&mut buf);
        self.tx.push_back(buf);
        r
    }
}

impl Device for SimDevice {
    type RxToken<'a> = RxToken<'a>;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, _t: Instant) -> Option<(RxToken<'_>, TxToken<'_>)> {
        let next = self.rx.pop_front()?;
        let spent = std::mem::replace(&mut self.current, next);
        if spent.capacity() > 0 {
            self.free.push(spent);
        }
        Some((
            RxToken(&self.current),
            TxToken {
                tx: &mut self.tx,
                free: &mut self.free,
            },
        ))
    }

    fn transmit(&mut self, _t: Instant) -> Option<TxToken<'_>> {
        Some(TxToken {
            tx: &mut self.tx,
            free: &mut self.free,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ip;
        caps.max_transmission_unit = self.mtu;
        caps
    }
}
