//! Semantic checks: values that parse but make no sense together ([`Scenario::validate`]).
//!
//! Guarantees: the checks run in a fixed order (top level, link directions, outage schedule, power
//! save, middlebox, hold limit, each endpoint, search space, addresses, `[[expect]]` tables) and the
//! first problem found is reported, with the dotted path of the field to point at.

use super::{
    AppModel, DirectionModel, EndpointModel, FORMAT_VERSION, Invalid, LinkModel, LossModel,
    OutageSchedule, Scenario, SearchSpace,
};
use crate::clock::{Dur, Duration, OptDur};
use crate::profile::{Emulate, TcpModel};

/// The result of one group of checks.
type Check = Result<(), Invalid>;

/// Fails with `message` about `field`.
fn bad(field: impl Into<String>, message: impl Into<String>) -> Check {
    Err(Invalid {
        field: field.into(),
        message: message.into(),
    })
}

/// Fails unless `d` is on or longer than 0s.
fn not_zero_or_off(field: String, d: OptDur) -> Check {
    if d.0 == Some(Duration::ZERO) {
        return bad(field, "must be longer than 0s, or \"off\"");
    }
    Ok(())
}

impl Scenario {
    /// Checks that values make sense together.
    ///
    /// # Errors
    /// The first problem found, with its dotted field path.
    pub fn validate(&self) -> Result<(), Invalid> {
        self.validate_top()?;
        validate_link(&self.link)?;
        for (ename, e) in [("client", &self.client), ("server", &self.server)] {
            validate_endpoint(ename, e)?;
        }
        if let Some(sp) = &self.search {
            validate_search(sp)?;
        }
        self.validate_addresses()?;
        super::expect::validate_expects(&self.expect)
    }

    /// Version, name and duration.
    fn validate_top(&self) -> Check {
        if self.version != FORMAT_VERSION {
            return bad(
                "version",
                format!(
                    "this build reads format version {FORMAT_VERSION}, not {}",
                    self.version
                ),
            );
        }
        if self.name.is_empty()
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            || self.name.starts_with('.')
        {
            return bad(
                "name",
                format!(
                    "{:?} must be non-empty and use only letters, digits, '-', '_' and '.' (it names the output directory)",
                    self.name
                ),
            );
        }
        if self.duration.0 == Duration::ZERO {
            return bad("duration", "must be longer than 0s");
        }
        if self.duration.0 > Duration::from_secs(366 * 24 * 3600) {
            return bad("duration", "must be at most a year");
        }
        Ok(())
    }

    /// Both endpoints have an address and a port (see [`Scenario::resolve`]), unicast (smoltcp
    /// refuses the others: issue 12), and not the same address.
    fn validate_addresses(&self) -> Check {
        if self.client.address.is_none()
            || self.client.port.is_none()
            || self.server.address.is_none()
            || self.server.port.is_none()
        {
            return bad(
                "client",
                "addresses and ports must be resolved (call Scenario::resolve)",
            );
        }
        for (field, addr) in [
            ("client.address", self.client.address),
            ("server.address", self.server.address),
        ] {
            let addr = addr.expect("checked above");
            let what = if addr.is_unspecified() {
                Some("unspecified")
            } else if addr.is_multicast() {
                Some("multicast")
            } else if addr.is_broadcast() {
                Some("broadcast")
            } else {
                None
            };
            if let Some(what) = what {
                return bad(
                    field,
                    format!("{addr} is {what}; an endpoint needs a unicast address"),
                );
            }
        }
        if self.client.address == self.server.address {
            return bad("server.address", "must differ from client.address");
        }
        Ok(())
    }
}

/// The `[link]` table: directions, outage schedule, power save, middlebox, hold limit.
fn validate_link(link: &LinkModel) -> Check {
    for (dname, d) in [
        ("link.uplink", &link.uplink),
        ("link.downlink", &link.downlink),
    ] {
        validate_direction(dname, d)?;
    }
    validate_outage(&link.outage)?;
    validate_power_save_and_middlebox(link)?;
    if link.hold_limit == 0 {
        return bad("link.hold_limit", "must be at least 1 frame");
    }
    Ok(())
}

/// One direction: delay, bandwidth, queue and random loss.
fn validate_direction(dname: &str, d: &DirectionModel) -> Check {
    if d.delay.0 > Duration::from_secs(60) {
        return bad(format!("{dname}.delay"), "must be at most 60s");
    }
    if d.bandwidth_bps == Some(0) {
        return bad(
            format!("{dname}.bandwidth_bps"),
            "must be positive (leave it out for an infinitely fast link)",
        );
    }
    if d.queue_limit == Some(0) {
        return bad(format!("{dname}.queue_limit"), "must be at least 1 frame");
    }
    match d.loss {
        LossModel::None => {}
        LossModel::Bernoulli { p } => {
            if !(0.0..=1.0).contains(&p) {
                return bad(
                    format!("{dname}.loss.p"),
                    format!("{p} is not a probability (0 to 1)"),
                );
            }
        }
        LossModel::GilbertElliott {
            loss_rate,
            mean_burst,
        } => {
            if !(0.0..1.0).contains(&loss_rate) {
                return bad(
                    format!("{dname}.loss.loss_rate"),
                    format!("{loss_rate} must be at least 0 and below 1"),
                );
            }
            if !(mean_burst >= 1.0 && mean_burst.is_finite()) {
                return bad(
                    format!("{dname}.loss.mean_burst"),
                    format!("{mean_burst} must be at least 1 frame"),
                );
            }
        }
    }
    Ok(())
}

/// The outage schedule: a duty cycle that fits its period, or windows in order, not overlapping.
fn validate_outage(outage: &OutageSchedule) -> Check {
    match outage {
        OutageSchedule::None => {}
        OutageSchedule::DutyCycle {
            period,
            down,
            phase,
            jitter,
        } => {
            if period.0 == Duration::ZERO {
                return bad("link.outage.period", "must be longer than 0s");
            }
            if down.0 + jitter.0 >= period.0 {
                return bad(
                    "link.outage.down",
                    format!(
                        "down ({down}) plus jitter ({jitter}) must be shorter than the period ({period})"
                    ),
                );
            }
            if phase.0 >= period.0 {
                return bad(
                    "link.outage.phase",
                    format!("{phase} must be shorter than the period ({period})"),
                );
            }
        }
        OutageSchedule::Windows { windows } => {
            let mut end = Duration::ZERO;
            for (i, w) in windows.iter().enumerate() {
                if w.len.0 == Duration::ZERO {
                    return bad(
                        format!("link.outage.windows.{i}.for"),
                        "must be longer than 0s",
                    );
                }
                if i > 0 && w.at.0 < end {
                    return bad(
                        format!("link.outage.windows.{i}.at"),
                        format!(
                            "{} starts before the previous window ends ({})",
                            w.at,
                            Dur(end)
                        ),
                    );
                }
                end = w.at.0 + w.len.0;
            }
        }
    }
    Ok(())
}

/// WiFi power save (beacon interval, DTIM) and the middlebox's idle timeout.
fn validate_power_save_and_middlebox(link: &LinkModel) -> Check {
    if let Some(ps) = &link.power_save {
        if ps.beacon_interval.0 == Duration::ZERO || ps.beacon_interval.0 > Duration::from_secs(10)
        {
            return bad(
                "link.power_save.beacon_interval",
                "must be between 1us and 10s",
            );
        }
        if !(1..=255).contains(&ps.dtim) {
            return bad(
                "link.power_save.dtim",
                format!("{} must be between 1 and 255", ps.dtim),
            );
        }
    }
    if let Some(mb) = &link.middlebox
        && mb.idle_timeout.0 == Duration::ZERO
    {
        return bad("link.middlebox.idle_timeout", "must be longer than 0s");
    }
    Ok(())
}

/// One endpoint, in the order its problems are reported: TCP sizes and clock, port, idle timeout,
/// TCP timeouts, application.
fn validate_endpoint(ename: &str, e: &EndpointModel) -> Check {
    validate_tcp_sizes_and_clock(ename, &e.tcp)?;
    if e.port == Some(0) {
        return bad(format!("{ename}.port"), "must not be 0");
    }
    not_zero_or_off(format!("{ename}.idle_timeout"), e.idle_timeout)?;
    for (f, v) in [
        ("keep_alive", e.tcp.keep_alive),
        ("user_timeout", e.tcp.user_timeout),
    ] {
        // Below a millisecond a timer can round to zero in the stack's (scaled) clock, and a
        // zero keep-alive probes without end at one instant (issue 12: a runaway to abort).
        if v.0.is_some_and(|d| d < Duration::from_millis(1)) {
            return bad(
                format!("{ename}.tcp.{f}"),
                format!("{v} must be at least 1ms (the smallest timer tcpsim runs), or \"off\""),
            );
        }
    }
    validate_emulation(ename, &e.tcp)?;
    validate_app(ename, &e.app)
}

/// `[x.tcp]`: the timers of the emulated stack (`emulate`, `rto_*`, retries, TIME-WAIT, keep-alive
/// counts), each at least a millisecond and in order.
fn validate_emulation(ename: &str, t: &TcpModel) -> Check {
    let ms = Duration::from_millis(1);
    for (f, v) in [
        ("rto_initial", t.rto_initial.0),
        ("rto_min", t.rto_min.0),
        ("rto_max", t.rto_max.0),
        ("time_wait", t.time_wait.0),
        ("keep_alive_interval", t.keep_alive_interval.0),
    ] {
        if v < ms {
            return bad(
                format!("{ename}.tcp.{f}"),
                format!("{} must be at least 1ms", Dur(v)),
            );
        }
    }
    if t.fin_wait2.0.is_some_and(|d| d < ms) {
        return bad(
            format!("{ename}.tcp.fin_wait2"),
            format!("{} must be at least 1ms, or \"off\"", t.fin_wait2),
        );
    }
    if t.rto_max < t.rto_min || t.rto_max < t.rto_initial {
        return bad(
            format!("{ename}.tcp.rto_max"),
            format!(
                "{} must be at least rto_min ({}) and rto_initial ({})",
                t.rto_max, t.rto_min, t.rto_initial
            ),
        );
    }
    if t.emulate == Emulate::Lwip && t.rto_initial.0 < Duration::from_millis(500) {
        return bad(
            format!("{ename}.tcp.rto_initial"),
            format!(
                "{} must be at least 500ms with emulate = \"lwip\" (lwIP counts the RTO in 500 ms ticks)",
                t.rto_initial
            ),
        );
    }
    for (f, v) in [
        ("max_retries", t.max_retries),
        ("keep_alive_probes", t.keep_alive_probes),
    ] {
        if v > 1000 {
            return bad(
                format!("{ename}.tcp.{f}"),
                format!("{v} must be at most 1000"),
            );
        }
    }
    Ok(())
}

/// `[x.tcp]`: MSS, buffers, timer scale and tick.
fn validate_tcp_sizes_and_clock(ename: &str, t: &TcpModel) -> Check {
    if !(64..=65495).contains(&t.mss) {
        return bad(
            format!("{ename}.tcp.mss"),
            format!("{} must be between 64 and 65495", t.mss),
        );
    }
    for (f, v) in [("rx_buffer", t.rx_buffer), ("tx_buffer", t.tx_buffer)] {
        if !(1..=(1 << 30)).contains(&v) {
            return bad(
                format!("{ename}.tcp.{f}"),
                format!("{v} must be between 1 and 1073741824 bytes"),
            );
        }
    }
    if !(0.1..=100.0).contains(&t.timer_scale) {
        return bad(
            format!("{ename}.tcp.timer_scale"),
            format!("{} must be between 0.1 and 100", t.timer_scale),
        );
    }
    not_zero_or_off(format!("{ename}.tcp.timer_tick"), t.timer_tick)
}

/// `[x.app]`: intervals, sizes and counts of the application.
fn validate_app(ename: &str, app: &AppModel) -> Check {
    match app {
        AppModel::Sink | AppModel::Bulk { .. } | AppModel::EofOnZeroRead => Ok(()),
        AppModel::Periodic {
            interval,
            sizes,
            count,
            ..
        } => {
            if interval.0 == Duration::ZERO {
                return bad(format!("{ename}.app.interval"), "must be longer than 0s");
            }
            if sizes.is_empty() {
                return bad(
                    format!("{ename}.app.sizes"),
                    "needs at least one message size",
                );
            }
            if let Some(i) = sizes.iter().position(|&s| s == 0 || s > 1 << 24) {
                return bad(
                    format!("{ename}.app.sizes.{i}"),
                    format!("{} must be between 1 and 16777216 bytes", sizes[i]),
                );
            }
            if *count == Some(0) {
                return bad(
                    format!("{ename}.app.count"),
                    "must be at least 1 (leave it out for no limit)",
                );
            }
            Ok(())
        }
        AppModel::RequestResponse {
            request,
            response,
            count,
            ..
        } => {
            if *request == 0 {
                return bad(format!("{ename}.app.request"), "must be at least 1 byte");
            }
            if *response == 0 {
                return bad(format!("{ename}.app.response"), "must be at least 1 byte");
            }
            if *count == 0 {
                return bad(format!("{ename}.app.count"), "must be at least 1");
            }
            Ok(())
        }
    }
}

/// `[search]`: ranges low first, positive where they must be, bounded counts.
fn validate_search(sp: &SearchSpace) -> Check {
    let range = |f: &str, r: &[Dur; 2]| {
        if r[0] > r[1] {
            bad(
                format!("search.{f}"),
                format!("[{}, {}] is not a range (low first)", r[0], r[1]),
            )
        } else {
            Ok(())
        }
    };
    range("window_start", &sp.window_start)?;
    range("window_length", &sp.window_length)?;
    range("delay", &sp.delay)?;
    for (f, r) in [
        ("duty_phase", &sp.duty_phase),
        ("duty_jitter", &sp.duty_jitter),
    ] {
        if let Some(r) = r {
            range(f, r)?;
        }
    }
    if let Some(b) = sp.loss_burst
        && !(b[0] >= 1.0 && b[1] >= b[0] && b[1].is_finite())
    {
        return bad(
            "search.loss_burst",
            format!("{b:?} must be a range of mean burst lengths from 1 frame"),
        );
    }
    if sp.loss_burst.is_some() && !(sp.loss[1] > 0.0 && sp.loss[1] < 1.0) {
        return bad(
            "search.loss",
            "burst loss (loss_burst) needs a long-run loss rate range above 0 and below 1",
        );
    }
    for (f, r) in [
        ("idle_timeout", &sp.idle_timeout),
        ("interval", &sp.interval),
        ("duty_period", &sp.duty_period),
        ("duty_down", &sp.duty_down),
        ("rto_initial", &sp.rto_initial),
    ] {
        if let Some(r) = r {
            range(f, r)?;
            if r[0].0 == Duration::ZERO {
                return bad(format!("search.{f}"), "must start above 0s");
            }
        }
    }
    if sp.window_length[0].0 == Duration::ZERO {
        return bad("search.window_length", "must start above 0s");
    }
    if sp.windows > 8 {
        return bad("search.windows", format!("{} is more than 8", sp.windows));
    }
    for (field, empty) in [
        ("search.directions", sp.directions.is_empty()),
        ("search.policies", sp.policies.is_empty()),
    ] {
        if empty {
            return bad(field, "needs at least one entry");
        }
    }
    if !(0.0..=1.0).contains(&sp.loss[0]) || !(sp.loss[0]..=1.0).contains(&sp.loss[1]) {
        return bad(
            "search.loss",
            format!("{:?} must be a probability range", sp.loss),
        );
    }
    Ok(())
}
