//! `SimDevice`: the smoltcp `phy::Device` of one endpoint, two in-memory queues of IPv4 packets.
//!
//! The simulation pushes arriving packets into `rx` and drains what the stack transmitted from `tx`.
//! Medium is IP (no link-layer headers, no ARP); checksums are computed and verified, so pcaps carry
//! valid checksums.

use std::collections::VecDeque;
use std::sync::Arc;

use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

/// In-memory device.
#[derive(Debug)]
pub struct SimDevice {
    /// Packets waiting to be received by the stack.
    pub rx: VecDeque<Arc<[u8]>>,
    /// Packets the stack transmitted.
    pub tx: VecDeque<Vec<u8>>,
    mtu: usize,
}

impl SimDevice {
    /// A device with the given IP MTU.
    pub fn new(mtu: usize) -> SimDevice {
        SimDevice {
            rx: VecDeque::new(),
            tx: VecDeque::new(),
            mtu,
        }
    }
}

/// Receive token: one packet.
pub struct RxToken(Arc<[u8]>);

impl phy::RxToken for RxToken {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

/// Transmit token: appends to the device's `tx` queue.
pub struct TxToken<'a>(&'a mut VecDeque<Vec<u8>>);

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut buf = vec![0u8; len];
        let r = f(&mut buf);
        self.0.push_back(buf);
        r
    }
}

impl Device for SimDevice {
    type RxToken<'a> = RxToken;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, _t: Instant) -> Option<(RxToken, TxToken<'_>)> {
        let p = self.rx.pop_front()?;
        Some((RxToken(p), TxToken(&mut self.tx)))
    }

    fn transmit(&mut self, _t: Instant) -> Option<TxToken<'_>> {
        Some(TxToken(&mut self.tx))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ip;
        caps.max_transmission_unit = self.mtu;
        caps
    }
}
