//! Applications: what drives each socket (periodic writer, bulk sender, request/response, sink),
//! plus the behaviours every application shares (reading, end of stream, idle timeout).
//!
//! Guarantees:
//! - the bytes written on each direction are a fixed pseudo-random function of their stream offset
//!   (4 KB pages of a splitmix64 pattern, each XOR its own splitmix64 key), and every byte read is checked against it, so "what was read is exactly a
//!   prefix of what was written" is verified on every run (a mismatch is reported as an event);
//! - the application acts only at instants it announced through [`App::poll_at`] or when the stack
//!   has something for it, so idle time costs nothing.

use smoltcp::socket::tcp::{Socket, State};

use crate::clock::{Duration, Instant};
use crate::model::{AppModel, EndpointModel, OnPeerClose, WhenFull};
use crate::trace::{AppEvent, EventKind, Side};

/// splitmix64: the mixing function behind the stream's bytes.
const fn splitmix64(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Bytes in one page of the stream.
const PAGE: usize = 4096;

/// The page pattern: 512 splitmix64 words of indices disjoint from the page keys'.
static PAGE_PATTERN: [u8; PAGE] = {
    let mut t = [0u8; PAGE];
    let mut w = 0;
    while w < PAGE / 8 {
        let b = splitmix64(!(w as u64)).to_le_bytes();
        let mut j = 0;
        while j < 8 {
            t[w * 8 + j] = b[j];
            j += 1;
        }
        w += 1;
    }
    t
};

/// The byte at `offset` of every application byte stream: page `offset / 4096` is the page
/// pattern XOR the page's key (splitmix64 of the page index, repeated as little-endian words).
/// splitmix64 is a bijection, so no two pages are equal and a segment misplaced by any distance is
/// detected; the fill and check are a table read and an XOR per byte (vectorised).
#[cfg(test)]
fn stream_byte(offset: u64) -> u8 {
    let at = (offset % PAGE as u64) as usize;
    PAGE_PATTERN[at] ^ splitmix64(offset / PAGE as u64).to_le_bytes()[at % 8]
}

/// Calls `f(chunk_start, pattern, key)` for each piece of `len` stream bytes from `offset` that
/// lies within one page: `pattern` is the page pattern under the piece, `key` the page key
/// rotated so that `key[i % 8]` applies to the piece's byte `i`.
fn for_each_page(offset: u64, len: usize, mut f: impl FnMut(usize, &[u8], [u8; 8]) -> bool) {
    let mut done = 0usize;
    while done < len {
        let pos = offset + done as u64;
        let at = (pos % PAGE as u64) as usize;
        let n = (PAGE - at).min(len - done);
        let key = splitmix64(pos / PAGE as u64).rotate_right(8 * (at % 8) as u32);
        if !f(done, &PAGE_PATTERN[at..at + n], key.to_le_bytes()) {
            return;
        }
        done += n;
    }
}

/// Fills `buf` with the stream bytes starting at `offset`.
pub fn fill_stream(offset: u64, buf: &mut [u8]) {
    for_each_page(offset, buf.len(), |start, pattern, key| {
        let dst = &mut buf[start..start + pattern.len()];
        let k = u64::from_le_bytes(key);
        let mut words = dst.chunks_exact_mut(8);
        let mut pats = pattern.chunks_exact(8);
        for (d, p) in (&mut words).zip(&mut pats) {
            let p = u64::from_le_bytes(p.try_into().unwrap_or_default());
            d.copy_from_slice(&(p ^ k).to_le_bytes());
        }
        let tail = words.into_remainder().iter_mut();
        for ((d, p), k) in tail.zip(pats.remainder()).zip(key) {
            *d = p ^ k;
        }
        true
    });
}

/// The index of the first byte of `buf` that differs from the stream at `offset`.
pub fn check_stream(offset: u64, buf: &[u8]) -> Option<usize> {
    let mut bad = None;
    for_each_page(offset, buf.len(), |start, pattern, key| {
        let got = &buf[start..start + pattern.len()];
        let k = u64::from_le_bytes(key);
        let word = |b: &[u8]| u64::from_le_bytes(b.try_into().unwrap_or_default());
        let whole = got.len() / 8 * 8;
        let first_bad_word = got[..whole]
            .chunks_exact(8)
            .zip(pattern[..whole].chunks_exact(8))
            .position(|(g, p)| word(g) ^ word(p) != k);
        let from = first_bad_word.map_or(whole, |w| 8 * w);
        let j = got[from..]
            .iter()
            .zip(&pattern[from..])
            .zip(key)
            .position(|((g, p), k)| *g != p ^ k);
        bad = j.map(|j| start + from + j);
        bad.is_none()
    });
    bad
}

/// Where a request/response client is in its exchange.
#[derive(Debug)]
enum ReqPhase {
    /// Waiting to send the next request at this instant.
    Waiting(Instant),
    /// Writing a request: bytes left.
    Sending(u64),
    /// Reading a response: bytes left.
    Awaiting(u64),
}

/// A periodic writer: a message every `interval` (sizes in turn), skipped or waited for when the
/// send buffer is full.
#[derive(Debug)]
struct Periodic {
    interval: Duration,
    sizes: Vec<usize>,
    when_full: WhenFull,
    start: Duration,
    count: Option<u64>,
    next_tick: Instant,
    messages: u64,
    /// Bytes of a waited-for message still to write.
    pending: u64,
}

/// A bulk sender: `remaining` bytes as fast as the socket takes them, from `start_at`.
#[derive(Debug)]
struct Bulk {
    start: Duration,
    start_at: Instant,
    remaining: u64,
}

/// The client side of request/response: `count` exchanges, `delay` apart.
#[derive(Debug)]
struct RequestClient {
    request: u64,
    response: u64,
    delay: Duration,
    count: u64,
    done: u64,
    phase: ReqPhase,
}

/// The server side of request/response: a response `delay` after each whole request.
#[derive(Debug)]
struct RequestServer {
    request: u64,
    response: u64,
    delay: Duration,
    /// Bytes of the request being received.
    got: u64,
    /// When each pending response is due.
    due: std::collections::VecDeque<Instant>,
    /// Bytes of the current response still to write.
    pending: u64,
}

/// What drives the socket, with its state.
#[derive(Debug)]
/// The application's own state; the larger kinds are boxed so that [`App::drive`] can take the
/// state out of the application and put it back cheaply on every call.
enum Kind {
    Sink,
    EofOnZeroRead,
    Periodic(Box<Periodic>),
    Bulk(Bulk),
    RequestClient(Box<RequestClient>),
    RequestServer(Box<RequestServer>),
}

/// What one application step did: whether it acted, and whether the application is done writing
/// (so the socket is to be closed).
#[derive(Debug, Default)]
struct Step {
    did: bool,
    finished: bool,
}

/// A running application.
#[derive(Debug)]
pub struct App {
    side: Side,
    kind: Kind,
    idle_timeout: Option<Duration>,
    on_peer_close: OnPeerClose,
    /// Greeting bytes still to write.
    greeting: u64,
    connected: bool,
    last_read: Instant,
    written: u64,
    read: u64,
    closed: bool,
    eof: bool,
}

impl App {
    /// The application of endpoint `side` as modelled.
    pub fn new(side: Side, m: &EndpointModel) -> App {
        let kind = match (&m.app, side) {
            (AppModel::Sink, _) => Kind::Sink,
            (AppModel::EofOnZeroRead, _) => Kind::EofOnZeroRead,
            (
                AppModel::Periodic {
                    interval,
                    sizes,
                    when_full,
                    start,
                    count,
                },
                _,
            ) => Kind::Periodic(Box::new(Periodic {
                interval: interval.0,
                sizes: sizes.clone(),
                when_full: *when_full,
                start: start.0,
                count: *count,
                next_tick: Instant::ZERO,
                messages: 0,
                pending: 0,
            })),
            (AppModel::Bulk { bytes, start }, _) => Kind::Bulk(Bulk {
                start: start.0,
                start_at: Instant::ZERO,
                remaining: *bytes,
            }),
            (
                AppModel::RequestResponse {
                    request,
                    response,
                    delay,
                    count,
                },
                Side::Client,
            ) => Kind::RequestClient(Box::new(RequestClient {
                request: *request,
                response: *response,
                delay: delay.0,
                count: *count,
                done: 0,
                phase: ReqPhase::Waiting(Instant::ZERO),
            })),
            (
                AppModel::RequestResponse {
                    request,
                    response,
                    delay,
                    ..
                },
                Side::Server,
            ) => Kind::RequestServer(Box::new(RequestServer {
                request: *request,
                response: *response,
                delay: delay.0,
                got: 0,
                due: Default::default(),
                pending: 0,
            })),
        };
        App {
            side,
            kind,
            idle_timeout: m.idle_timeout.0,
            on_peer_close: m.on_peer_close,
            greeting: m.greeting,
            connected: false,
            last_read: Instant::ZERO,
            written: 0,
            read: 0,
            closed: false,
            eof: false,
        }
    }

    /// The application has closed (or abandoned) its socket.
    pub fn closed(&self) -> bool {
        self.closed
    }

    /// The application has seen the connection established.
    pub fn connected(&self) -> bool {
        self.connected
    }

    /// Marks the application closed without touching the socket (the socket is gone).
    pub fn abandon(&mut self) {
        self.closed = true;
    }

    fn emit(&self, out: &mut Vec<EventKind>, event: AppEvent) {
        out.push(EventKind::App {
            side: self.side,
            event,
        });
    }

    fn close(&mut self, socket: &mut Socket, out: &mut Vec<EventKind>) {
        if !self.closed {
            socket.close();
            self.closed = true;
            self.emit(out, AppEvent::Close);
        }
    }

    /// Writes up to `n` bytes of the stream; returns how many the socket took.
    fn write(&mut self, socket: &mut Socket, n: u64, out: &mut Vec<EventKind>) -> u64 {
        let mut total = 0u64;
        // The send buffer is a ring: a write may need two calls.
        for _ in 0..2 {
            let want = n - total;
            if want == 0 {
                break;
            }
            let offset = self.written + total;
            let k = socket
                .send(|buf| {
                    let k = buf.len().min(want as usize);
                    fill_stream(offset, &mut buf[..k]);
                    (k, k)
                })
                .unwrap_or(0);
            if k == 0 {
                break;
            }
            total += k as u64;
        }
        if total > 0 {
            self.written += total;
            self.emit(
                out,
                AppEvent::Write {
                    len: total as usize,
                },
            );
        }
        total
    }

    fn free(socket: &Socket) -> u64 {
        (socket.send_capacity() - socket.send_queue()) as u64
    }

    /// Runs the application at `now`; returns whether it did anything (so the stack should be polled
    /// again).
    ///
    /// In order: notice the connection; read everything available (checked against the stream);
    /// notice the end of stream; apply the idle timeout; then, while the socket may send, run the
    /// application's own step, closing the socket once it has finished.
    pub fn drive(&mut self, now: Instant, socket: &mut Socket, out: &mut Vec<EventKind>) -> bool {
        let state = socket.state();
        if !self.connected && !self.on_connected(now, state, out) {
            return false;
        }
        if matches!(self.kind, Kind::EofOnZeroRead) {
            return self.eof_on_zero_read(socket, out);
        }
        let mut did = false;
        if self.greeting > 0 && !self.closed && socket.may_send() {
            let n = self.greeting;
            let wrote = self.write(socket, n, out);
            self.greeting -= wrote;
            did = wrote > 0;
        }
        let got = self.read_all(socket, out);
        if got > 0 {
            self.last_read = now;
            did = true;
        }
        did |= self.end_of_stream(state, socket, out);
        did |= self.idle_timeout(now, socket, out);
        if self.closed || !socket.may_send() {
            return did;
        }
        let mut kind = std::mem::replace(&mut self.kind, Kind::Sink);
        let step = match &mut kind {
            Kind::Sink | Kind::EofOnZeroRead => Step::default(),
            Kind::Periodic(p) => self.periodic(p, now, socket, out),
            Kind::Bulk(b) => self.bulk(b, now, socket, out),
            Kind::RequestClient(c) => self.request_client(c, got, now, socket, out),
            Kind::RequestServer(r) => self.request_server(r, got, now, socket, out),
        };
        self.kind = kind;
        did |= step.did;
        if step.finished {
            self.close(socket, out);
            did = true;
        }
        did
    }

    /// Notices the connection established (or already half-closed by the peer) and starts the
    /// application's clock; returns whether it is connected.
    fn on_connected(&mut self, now: Instant, state: State, out: &mut Vec<EventKind>) -> bool {
        if !matches!(state, State::Established | State::CloseWait) {
            return false;
        }
        self.connected = true;
        self.last_read = now;
        self.emit(out, AppEvent::Connected);
        match &mut self.kind {
            Kind::Periodic(p) => p.next_tick = now + p.start,
            Kind::Bulk(b) => b.start_at = now + b.start,
            Kind::RequestClient(c) => c.phase = ReqPhase::Waiting(now),
            _ => {}
        }
        true
    }

    /// The eof-on-zero-read application: its bug is that a read into a zero-length buffer returns
    /// 0, taken for end of file, so anything to read makes it close.
    fn eof_on_zero_read(&mut self, socket: &mut Socket, out: &mut Vec<EventKind>) -> bool {
        if socket.can_recv() && !self.closed {
            self.emit(out, AppEvent::Read { len: 0 });
            self.emit(out, AppEvent::PeerClosed);
            self.close(socket, out);
            return true;
        }
        false
    }

    /// Reads everything available, checking it against the stream (a mismatch is an event);
    /// returns the bytes read.
    fn read_all(&mut self, socket: &mut Socket, out: &mut Vec<EventKind>) -> u64 {
        let mut got = 0u64;
        while socket.can_recv() {
            let offset = self.read;
            let Ok((n, bad)) = socket.recv(|buf| {
                let bad = check_stream(offset, buf);
                (buf.len(), (buf.len(), bad))
            }) else {
                break;
            };
            if n == 0 {
                break;
            }
            self.read += n as u64;
            got += n as u64;
            self.emit(out, AppEvent::Read { len: n });
            if let Some(i) = bad {
                self.emit(
                    out,
                    AppEvent::ReadMismatch {
                        offset: offset + i as u64,
                    },
                );
            }
        }
        got
    }

    /// Notices the peer's end of stream once, closing in turn if the application does; returns
    /// whether it was noticed now.
    fn end_of_stream(
        &mut self,
        state: State,
        socket: &mut Socket,
        out: &mut Vec<EventKind>,
    ) -> bool {
        if self.eof
            || !matches!(
                state,
                State::CloseWait | State::LastAck | State::Closing | State::TimeWait
            )
        {
            return false;
        }
        self.eof = true;
        self.emit(out, AppEvent::PeerClosed);
        if self.on_peer_close == OnPeerClose::Close {
            self.close(socket, out);
        }
        true
    }

    /// Closes the socket when nothing new was read for the idle timeout; returns whether it did.
    fn idle_timeout(
        &mut self,
        now: Instant,
        socket: &mut Socket,
        out: &mut Vec<EventKind>,
    ) -> bool {
        match self.idle_timeout {
            Some(idle) if !self.closed && now >= self.last_read + idle => {
                self.emit(out, AppEvent::IdleTimeout);
                self.close(socket, out);
                true
            }
            _ => false,
        }
    }

    /// The periodic writer's step: finish a waited-for message, then write (or skip, or start
    /// waiting for) every message whose tick has come.
    fn periodic(
        &mut self,
        p: &mut Periodic,
        now: Instant,
        socket: &mut Socket,
        out: &mut Vec<EventKind>,
    ) -> Step {
        let mut did = false;
        if p.pending > 0 {
            let k = self.write(socket, p.pending, out);
            p.pending -= k;
            did |= k > 0;
        }
        while p.pending == 0 && p.count.is_none_or(|c| p.messages < c) && p.next_tick <= now {
            let size = p.sizes[(p.messages % p.sizes.len() as u64) as usize] as u64;
            p.messages += 1;
            p.next_tick += p.interval;
            did = true;
            if size <= Self::free(socket) {
                self.write(socket, size, out);
            } else {
                match p.when_full {
                    WhenFull::Skip => self.emit(out, AppEvent::WriteSkipped { len: size as usize }),
                    WhenFull::Wait => {
                        self.emit(out, AppEvent::WriteWaited { len: size as usize });
                        p.pending = size - self.write(socket, size, out);
                    }
                }
            }
        }
        if p.pending > 0 && p.next_tick <= now {
            // Blocked in write: ticks that pass meanwhile are not made up.
            let behind = (now - p.next_tick).total_micros() / p.interval.total_micros() + 1;
            p.next_tick += Duration::from_micros(behind * p.interval.total_micros());
        }
        Step {
            did,
            finished: p.pending == 0 && p.count.is_some_and(|c| p.messages >= c),
        }
    }

    /// The bulk sender's step: write what the socket takes, once started.
    fn bulk(
        &mut self,
        b: &mut Bulk,
        now: Instant,
        socket: &mut Socket,
        out: &mut Vec<EventKind>,
    ) -> Step {
        let mut did = false;
        if now >= b.start_at && b.remaining > 0 {
            let k = self.write(socket, b.remaining, out);
            b.remaining -= k;
            did |= k > 0;
        }
        Step {
            did,
            finished: now >= b.start_at && b.remaining == 0,
        }
    }

    /// The request/response client's step: send a request when due, count the `got` bytes just
    /// read against the response, and schedule the next exchange (or finish after the last).
    fn request_client(
        &mut self,
        c: &mut RequestClient,
        mut got: u64,
        now: Instant,
        socket: &mut Socket,
        out: &mut Vec<EventKind>,
    ) -> Step {
        let mut step = Step::default();
        loop {
            match &mut c.phase {
                ReqPhase::Waiting(at) if now >= *at => c.phase = ReqPhase::Sending(c.request),
                ReqPhase::Sending(rem) => {
                    let k = self.write(socket, *rem, out);
                    step.did |= k > 0;
                    *rem -= k;
                    if *rem > 0 {
                        break;
                    }
                    c.phase = ReqPhase::Awaiting(c.response);
                }
                ReqPhase::Awaiting(rem) => {
                    let take = got.min(*rem);
                    got -= take;
                    *rem -= take;
                    if *rem > 0 {
                        break;
                    }
                    c.done += 1;
                    if c.done >= c.count {
                        step.finished = true;
                        break;
                    }
                    c.phase = ReqPhase::Waiting(now + c.delay);
                }
                ReqPhase::Waiting(_) => break,
            }
        }
        step
    }

    /// The request/response server's step: count the `got` bytes just read into whole requests,
    /// each due a response after the delay, and write the responses that are due.
    fn request_server(
        &mut self,
        r: &mut RequestServer,
        got: u64,
        now: Instant,
        socket: &mut Socket,
        out: &mut Vec<EventKind>,
    ) -> Step {
        let mut did = false;
        r.got += got;
        while r.got >= r.request {
            r.got -= r.request;
            r.due.push_back(now + r.delay);
        }
        loop {
            if r.pending == 0 {
                match r.due.front() {
                    Some(&t) if t <= now => {
                        r.due.pop_front();
                        r.pending = r.response;
                    }
                    _ => break,
                }
            }
            let k = self.write(socket, r.pending, out);
            did |= k > 0;
            r.pending -= k;
            if r.pending > 0 {
                break;
            }
        }
        Step {
            did,
            finished: false,
        }
    }

    /// The next instant after `now` the application wants to act on its own (a timer), if any.
    /// Timers at or before `now` were served by the [`App::drive`] call at `now`; a writer blocked
    /// on a full buffer waits for the stack, not for a timer.
    pub fn poll_at(&self, now: Instant) -> Option<Instant> {
        if !self.connected || self.closed {
            return None;
        }
        let idle = self.idle_timeout.map(|d| self.last_read + d);
        let timer = match &self.kind {
            Kind::Sink | Kind::EofOnZeroRead => None,
            Kind::Periodic(p) => {
                (p.pending == 0 && p.count.is_none_or(|c| p.messages < c)).then_some(p.next_tick)
            }
            Kind::Bulk(b) => (b.remaining > 0).then_some(b.start_at),
            Kind::RequestClient(c) => match c.phase {
                ReqPhase::Waiting(t) => Some(t),
                _ => None,
            },
            Kind::RequestServer(r) => {
                if r.pending == 0 {
                    r.due.front().copied()
                } else {
                    None
                }
            }
        };
        [idle, timer]
            .into_iter()
            .flatten()
            .filter(|&t| t > now)
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves word-wise fill and check agree with the byte-wise definition at every alignment, and
    // across page boundaries, and that a corrupted byte is found at its exact index.
    #[test]
    fn fill_and_check_agree_with_stream_byte() {
        for offset in (0..17u64).chain(4085..4100).chain([8191, 12288]) {
            for len in [0usize, 1, 7, 8, 9, 100, 4097, 9000] {
                let mut buf = vec![0u8; len];
                fill_stream(offset, &mut buf);
                let expect: Vec<u8> = (0..len as u64).map(|i| stream_byte(offset + i)).collect();
                assert_eq!(buf, expect, "offset {offset} len {len}");
                assert_eq!(check_stream(offset, &buf), None);
                if len > 0 {
                    let j = len / 2;
                    buf[j] ^= 0x40;
                    assert_eq!(
                        check_stream(offset, &buf),
                        Some(j),
                        "offset {offset} len {len}"
                    );
                }
            }
        }
    }

    // Proves the stream pattern does not repeat over a long range (so a misplaced segment is
    // detected): no two 8-byte blocks among the first 100k are equal.
    #[test]
    fn stream_pattern_is_not_periodic() {
        let blocks: std::collections::BTreeSet<u64> = (0..100_000u64)
            .map(|b| u64::from_le_bytes(std::array::from_fn(|i| stream_byte(b * 8 + i as u64))))
            .collect();
        assert_eq!(blocks.len(), 100_000);
    }
}
