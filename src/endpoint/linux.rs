//! Linux's choice of the receive window it announces (`__tcp_select_window` in
//! `net/ipv4/tcp_output.c`), on the frames a Linux-emulating endpoint sends.
//!
//! smoltcp announces its free buffer space to the byte, so every small read moves the window and
//! a duplicate ACK becomes a window update. Linux keeps the window it announced while it is within
//! one MSS below the free space, and otherwise announces the free space rounded down to a multiple
//! of the peer's MSS (64240 for a 64 KiB buffer and a 1460-byte MSS; 63360 with a 1440-byte one,
//! as the field captures show). Approximate: Linux's receive-buffer autotuning and its rule of never
//! shrinking the right edge are not modelled; SYNs keep smoltcp's window.

use crate::trace::packet::{Ipv4Segment, Packet, TcpFlags};

use super::frame;

/// The window rule of one endpoint.
#[derive(Debug)]
pub struct LinuxWindow {
    /// The MSS the window is rounded to (the peer's, once its SYN is seen).
    mss: u32,
    announced: Option<u32>,
}

impl LinuxWindow {
    /// The rule with our own MSS until the peer's is known.
    pub fn new(mss: usize) -> LinuxWindow {
        LinuxWindow {
            mss: mss.max(1) as u32,
            announced: None,
        }
    }

    /// A frame from the peer: its SYN tells its MSS.
    pub fn on_receive(&mut self, frame: &[u8], p: &Packet) {
        if p.has(TcpFlags::SYN)
            && let Some(s) = Ipv4Segment::parse(frame).map(|s| s.tcp)
            && s.has(TcpFlags::SYN)
            && let Some(m) = s.options.mss()
        {
            self.mss = self.mss.min(u32::from(m).max(1));
        }
    }

    /// Sets the window of a frame we send by Linux's rule.
    pub fn rewrite(&mut self, mut f: Vec<u8>, p: &mut Packet) -> Vec<u8> {
        let (free, plain) = (
            p.win,
            p.has(TcpFlags::ACK) && !p.has(TcpFlags::SYN | TcpFlags::RST),
        );
        if !plain {
            return f;
        }
        let win = match self.announced {
            Some(w) if w <= free && w + self.mss > free => w,
            _ if free >= self.mss => free / self.mss * self.mss,
            _ => free,
        };
        self.announced = Some(win);
        if win != free {
            frame::set_win(&mut f, win as u16);
            p.win = win;
        }
        f
    }
}
