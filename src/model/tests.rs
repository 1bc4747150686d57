//! Unit tests of the model format: defaults, profiles and overrides, `--set`, the resolved round
//! trip, and located errors.

use std::path::Path;

use super::*;
use crate::clock::Duration;
use crate::profile::Profile;

const MINIMAL: &str = r#"
version = 1
name = "t"
seed = 7
[client.app]
kind = "bulk"
bytes = 1000
"#;

fn parse(text: &str) -> Result<Scenario, ModelError> {
    Scenario::from_toml(text, Path::new("m.toml"))
}

// Proves a minimal model gets the documented defaults.
#[test]
fn minimal_model_defaults() {
    let s = parse(MINIMAL).unwrap();
    assert_eq!(s.duration, Dur::secs(60));
    assert_eq!(s.capture, CapturePoint::Server);
    assert_eq!(s.link.uplink.delay, Dur::ms(5));
    assert_eq!(s.server.app, AppModel::Sink);
    assert_eq!(s.client.stack, Profile::Smoltcp);
    assert_eq!(
        s.client.tcp.congestion,
        Congestion::Cubic,
        "smoltcp's own default"
    );
    assert_eq!(
        s.client.tcp.ack_delay,
        OptDur(Some(Duration::from_millis(10)))
    );
}

// Proves a profile supplies every stack default, the file overrides field by field, the close
// policy follows the profile unless set, and the resolved form round-trips.
#[test]
fn profiles_with_overrides() {
    let text = format!(
        "{MINIMAL}[client]\nstack = \"lwip-esp32\"\ntcp = {{ mss = 1400 }}\n[server]\nstack = \"linux\"\n"
    );
    let text = text.replace("[client.app]\nkind = \"bulk\"\nbytes = 1000\n", "");
    let text = format!("{text}[client.app]\nkind = \"bulk\"\nbytes = 1000\n");
    let s = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(s.client.tcp.mss, 1400);
    assert_eq!(
        (s.client.tcp.rx_buffer, s.client.tcp.max_retries),
        (5760, 12)
    );
    assert_eq!(s.client.tcp.emulate, crate::profile::Emulate::Lwip);
    assert!(s.client.tcp.clamp_peer_mss);
    assert_eq!(s.server.close_policy, ClosePolicy::Linux);
    assert_eq!(s.server.tcp.ack_delay, OptDur::OFF);
    assert_eq!(s.server.tcp.rto_min.0, Duration::from_millis(200));
    assert_eq!(s.client.close_policy, ClosePolicy::Lwip);
    let back = parse(&s.to_toml()).unwrap();
    assert_eq!(back, s);
    let bad = parse(&text.replace("mss = 1400", "mss = 1400, timer_scale = 0.0")).unwrap_err();
    assert_eq!(bad.field, "client.tcp.timer_scale", "{bad}");
}

// Proves --set overrides: dotted keys into existing and new tables, TOML values or bare strings,
// and errors naming the override.
#[test]
fn overrides() {
    let dir = std::env::temp_dir().join(format!("tcpsim-model-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("m.toml");
    std::fs::write(&p, MINIMAL).unwrap();
    let set =
        |o: &[&str]| Scenario::load_with(&p, &o.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    let s = set(&[
        "client.tcp.keep_alive=70s",
        "client.tcp.nagle=false",
        "seed=9",
        "link.middlebox.idle_timeout=90s",
    ])
    .unwrap();
    assert_eq!(
        s.client.tcp.keep_alive,
        OptDur(Some(Duration::from_secs(70)))
    );
    assert!(!s.client.tcp.nagle);
    assert_eq!(s.seed, 9);
    assert_eq!(s.link.middlebox.unwrap().idle_timeout, Dur::secs(90));
    let e = set(&["client.tcp.keep_alive=7"]).unwrap_err();
    assert!(
        e.to_string().contains("--set client.tcp.keep_alive=7"),
        "{e}"
    );
    let e = set(&["client.tcp.colour=red"]).unwrap_err();
    assert!(e.to_string().contains("colour"), "{e}");
    assert!(
        set(&["nonsense"])
            .unwrap_err()
            .to_string()
            .contains("KEY=VALUE")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

// Proves the resolved TOML round-trips to an equal scenario (run.toml reproduces the run).
#[test]
fn resolved_round_trip() {
    let mut s = parse(MINIMAL).unwrap();
    s.link.outage = OutageSchedule::DutyCycle {
        period: Dur::secs(30),
        down: Dur::secs(6),
        phase: Dur::ms(1500),
        jitter: Dur::ms(250),
    };
    s.link.uplink.loss = LossModel::GilbertElliott {
        loss_rate: 0.01,
        mean_burst: 3.0,
    };
    s.link.downlink.bandwidth_bps = Some(1_000_000);
    let text = s.to_toml();
    let back = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(s, back, "{text}");
}

// Proves a missing seed is an error naming the field.
#[test]
fn seed_is_required() {
    let e = parse(&MINIMAL.replace("seed = 7", "")).unwrap_err();
    assert!(e.to_string().contains("seed"), "{e}");
    assert!(matches!(e.kind, ModelErrorKind::Parse(_)));
}

// Proves an unknown key is rejected with its line, column and path.
#[test]
fn unknown_key_located() {
    let text = format!("{MINIMAL}colour = \"red\"\n");
    let e = parse(&text).unwrap_err();
    assert_eq!((e.line, e.field.as_str()), (8, "client.app.colour"), "{e}");
    assert!(
        e.to_string().starts_with("m.toml:8:1: client.app.colour: "),
        "{e}"
    );
}

// Proves a bad duration names the field and its position.
#[test]
fn bad_duration_located() {
    let text = MINIMAL.replace("seed = 7", "seed = 7\nduration = \"15\"");
    let e = parse(&text).unwrap_err();
    assert_eq!(
        (e.line, e.col, e.field.as_str()),
        (5, 12, "duration"),
        "{e}"
    );
    assert!(e.to_string().contains("unit"), "{e}");
}

// Proves semantic errors point at the offending value.
#[test]
fn invalid_outage_located() {
    let text =
        format!("{MINIMAL}[link.outage]\nkind = \"duty-cycle\"\nperiod = \"5s\"\ndown = \"6s\"\n");
    let e = parse(&text).unwrap_err();
    assert_eq!(
        (e.line, e.col, e.field.as_str()),
        (11, 8, "link.outage.down"),
        "{e}"
    );
    assert!(matches!(e.kind, ModelErrorKind::Invalid(_)));
}

// Proves overlapping outage windows are rejected with the window's index.
#[test]
fn overlapping_windows() {
    let text = format!(
        "{MINIMAL}[link]\noutage = {{ kind = \"windows\", windows = [{{ at = \"1s\", for = \"2s\" }}, {{ at = \"2s\", for = \"1s\" }}] }}\n"
    );
    let e = parse(&text).unwrap_err();
    assert_eq!(e.field, "link.outage.windows.1.at", "{e}");
    assert_eq!(e.line, 9, "{e}");
}

// Proves an empty `[search]` list is blamed on its own key (an empty `policies` was reported as
// `search.directions`).
#[test]
fn empty_search_lists_named() {
    for key in ["directions", "policies"] {
        let e = parse(&format!("{MINIMAL}[search]\n{key} = []\n")).unwrap_err();
        assert_eq!(e.field, format!("search.{key}"), "{e}");
        assert_eq!((e.line, e.col), (9, key.len() + 4), "{e}"); // at the value `[]`
    }
}

// Proves a wrong type is reported at the value, with the field path.
#[test]
fn wrong_type_located() {
    let text = MINIMAL.replace("bytes = 1000", "bytes = \"lots\"");
    let e = parse(&text).unwrap_err();
    assert_eq!((e.line, e.field.as_str()), (7, "client.app.bytes"), "{e}");
}

// Proves the error text: position only when known, field only when named, the I/O prefix, and
// no source (so `{:#}` chains do not repeat the message).
#[test]
fn model_error_display() {
    let mut e = ModelError {
        path: "m.toml".into(),
        line: 3,
        col: 8,
        field: "seed".into(),
        kind: ModelErrorKind::Parse("bad".into()),
    };
    assert_eq!(e.to_string(), "m.toml:3:8: seed: bad");
    e.line = 0;
    assert_eq!(e.to_string(), "m.toml: seed: bad");
    e.field.clear();
    e.kind = ModelErrorKind::Io("gone".into());
    assert_eq!(e.to_string(), "m.toml: cannot read: gone");
    assert!(std::error::Error::source(&e).is_none());
    let inv = Invalid {
        field: "duration".into(),
        message: "must be longer than 0s".into(),
    };
    assert_eq!(inv.to_string(), "duration: must be longer than 0s");
}

// Proves errors inside an internally tagged table (which toml places on the whole table) point at
// the key the message names, and stay on the table when the key is not directly in it.
#[test]
fn tagged_table_errors_located() {
    let text = MINIMAL.replace("bytes = 1000", "bytes = 1000\nsize = 3");
    let e = parse(&text).unwrap_err();
    assert_eq!(
        (e.line, e.col, e.field.as_str()),
        (8, 1, "client.app.size"),
        "{e}"
    );
    let text = format!(
        "{MINIMAL}[link]\noutage = {{ kind = \"windows\", windows = [{{ at = \"1s\", for = \"2s\", x = 1 }}] }}\n"
    );
    let e = parse(&text).unwrap_err();
    assert_eq!(
        (e.line, e.col, e.field.as_str()),
        (9, 10, "link.outage"),
        "{e}"
    );
    assert!(e.to_string().contains("unknown field `x`"), "{e}");
}

// Proves the span index picks the innermost field at an offset and the deepest existing field for
// a path, and that line:col counts characters.
#[test]
fn span_index_lookups() {
    let text = "a = { b = [1, 2], c = \"ü\" }\n[d]\ne = 5\n";
    let index = locate::SpanIndex::parse(text).unwrap();
    let at = |needle: &str| text.find(needle).unwrap();
    assert_eq!(index.field_at(at("2")), Some("a.b.1"));
    assert_eq!(index.field_at(at("c =")), Some("a.c"));
    assert_eq!(index.field_at(at("5")), Some("d.e"));
    let span = index.span_of_field("a.b.1.x").unwrap();
    assert_eq!(&text[span], "2");
    assert_eq!(locate::line_col(text, at("5")), (3, 5));
    assert_eq!(locate::line_col(text, at(" }")), (1, 26));
    assert!(locate::SpanIndex::parse("a = = 1").is_none());
}

// Proves `--set` errors name the key component at fault.
#[test]
fn set_errors() {
    let doc = || MINIMAL.parse::<toml_edit::DocumentMut>().unwrap();
    let apply = |o: &str| set::Override::parse(o).and_then(|ov| ov.apply(&mut doc()));
    assert_eq!(apply("seed"), Err(set::SetError::NoEquals));
    assert_eq!(apply("a..b=1"), Err(set::SetError::BadKey));
    assert_eq!(
        apply("seed.x=1").unwrap_err().to_string(),
        "x: the key above it is not a table"
    );
    assert_eq!(apply("link.uplink.delay=\"1ms\""), Ok(()));
}

// Proves the regressions of issue 12, items 1 and 2: a multicast, broadcast or unspecified endpoint
// address (which smoltcp panics on or never answers) and a keep-alive or user timeout under 1 ms
// (a 1 µs keep-alive scaled by lwIP's 1.5 timer scale becomes 0 µs and probed without end until the
// allocator aborted) are refused by validation, so `check` and `run` agree and nothing panics.
#[test]
fn issue_12_unicast_addresses_and_timer_floor() {
    let with = |extra: &str| parse(&format!("{MINIMAL}{extra}"));
    for (table, addr, what) in [
        ("client", "224.0.0.1", "multicast"),
        ("server", "0.0.0.0", "unspecified"),
        ("client", "255.255.255.255", "broadcast"),
    ] {
        let e = with(&format!("[{table}]\naddress = \"{addr}\"\n")).unwrap_err();
        assert_eq!(e.field, format!("{table}.address"), "{e}");
        assert!(e.to_string().contains(&format!("{addr} is {what}")), "{e}");
    }
    for (field, value) in [("keep_alive", "1us"), ("user_timeout", "999us")] {
        let e = with(&format!("[client.tcp]\n{field} = \"{value}\"\n")).unwrap_err();
        assert_eq!(e.field, format!("client.tcp.{field}"), "{e}");
    }
    with("[client.tcp]\nkeep_alive = \"1ms\"\n").expect("1 ms is allowed");
}
