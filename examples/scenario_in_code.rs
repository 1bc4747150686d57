//! A scenario written in Rust instead of a model file: the ESP32 stale-FIN case (an lwIP device
//! streaming small messages to a Linux server over WiFi with a 12 s uplink fade), run with
//! `tcpsim::simulate` into a sink of our own that prints the applications' milestones, then the
//! findings of the analysis.
//!
//! Run: `cargo run --release --example scenario_in_code`

use std::io;

use tcpsim::model::{
    Affects, AppModel, Dur, EndpointModel, LinkModel, OnPeerClose, OptDur, OutagePolicy,
    OutageSchedule, PowerSave, Window,
};
use tcpsim::profile::Profile;
use tcpsim::run::{Analyse, simulate};
use tcpsim::trace::{AppEvent, Event, EventKind, EventSink};
use tcpsim::{Scenario, clock};

/// Prints application milestones as they happen and counts frames offered to the link.
#[derive(Default)]
struct Milestones {
    frames: u64,
}

impl EventSink for Milestones {
    fn handle_event(&mut self, e: &Event<'_>) -> io::Result<()> {
        match e.kind {
            EventKind::Offered { .. } => self.frames += 1,
            EventKind::App { side, event } => {
                let traffic = matches!(
                    event,
                    AppEvent::Write { .. }
                        | AppEvent::Read { .. }
                        | AppEvent::WriteSkipped { .. }
                        | AppEvent::WriteWaited { .. }
                );
                if !traffic {
                    println!(
                        "{:>12} s  {:<6}  {event}",
                        clock::fmt_secs(e.t),
                        side.name()
                    );
                }
            }
            _ => {}
        }
        Ok(())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let link = LinkModel {
        outage: OutageSchedule::Windows {
            windows: vec![Window {
                at: Dur::secs(20),
                len: Dur::secs(12),
            }],
        },
        outage_affects: Affects::Uplink,
        on_outage: OutagePolicy::Drop,
        power_save: Some(PowerSave {
            beacon_interval: "102400us".parse()?,
            dtim: 5,
            beacon_loss: Dur::secs(6),
            ..PowerSave::default()
        }),
        ..LinkModel::default()
    };
    let mut device = EndpointModel::new(
        Profile::LwipEsp32,
        AppModel::Periodic {
            interval: Dur::ms(40),
            sizes: vec![99, 66, 32, 64, 1440, 462],
            when_full: Default::default(),
            start: Dur::zero(),
            count: None,
        },
    );
    device.on_peer_close = OnPeerClose::KeepOpen;
    let mut server = EndpointModel::new(Profile::Linux, AppModel::Sink);
    server.idle_timeout = OptDur(Some(clock::Duration::from_secs(15)));
    let scenario = Scenario::builder("stale-fin-in-code", 1)
        .duration(Dur::secs(90))
        .link(link)
        .client(device)
        .server(server)
        .build()?;

    let mut sink = Milestones::default();
    let report = simulate(&scenario, &mut sink, Analyse::Yes)?;
    println!(
        "{} frames offered; ended at {} s ({})",
        sink.frames,
        clock::fmt_secs(report.end),
        report.ended.name()
    );
    for f in &report.summary.findings {
        println!("FINDING {} at {:.3} s", f.signature, f.at_s);
        for (k, v) in &f.features {
            println!("    {k} = {v:.6}");
        }
    }
    if !report
        .summary
        .findings
        .iter()
        .any(|f| f.signature == "stale-seq-after-fin")
    {
        return Err("expected the stale-seq-after-fin signature".into());
    }
    Ok(())
}
