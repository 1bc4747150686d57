//! `tcpsim test`: `[[expect]]` properties checked over a model's `[search]` space — failures with
//! counterexample files and JUnit reports, fixed models passing, determinism, located errors for
//! bad tables, and saved counterexamples tried first.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngSeed, TestRunner};

use tcpsim::clock::Dur;
use tcpsim::model::{LossModel, OutageSchedule};

use crate::{root, scratch};

/// `tcpsim ARGS` run in `dir`.
fn tcpsim_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tcpsim"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The shipped search model (`models/esp32-wifi-generic.toml`) without its own properties, with
/// `extra` appended.
fn generic_with(extra: &str) -> String {
    let text = fs::read_to_string(root().join("models/esp32-wifi-generic.toml")).unwrap();
    let head = &text[..text
        .find("\n# Properties over")
        .expect("the properties' comment")];
    format!("{head}\n{extra}")
}

const NO_STALE: &str =
    "[[expect]]\nname = \"no stale data after the FIN\"\nnever = \"stale-seq-after-fin\"\n";
const COUNTEREXAMPLE: &str = "tcpsim-test/esp32-wifi-generic--no-stale-data-after-the-fin.toml";

// Proves the acceptance path end to end: a property the shipped search space violates (the
// stale-FIN sequence) fails with exit 1, prints the shrunk counterexample's features, writes it
// as a model file that `tcpsim run` reproduces, and reports a JUnit failure; the closing line is
// exactly `N passed, M failed`.
#[test]
fn violated_property_fails_with_counterexample_and_junit() {
    let dir = scratch("expect_fails");
    fs::write(dir.join("m.toml"), generic_with(NO_STALE)).unwrap();
    let o = tcpsim_in(
        &dir,
        &["test", "m.toml", "--cases", "64", "--junit", "j.xml"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.starts_with("FAIL  m.toml: no stale data after the FIN (after "),
        "{out}"
    );
    assert!(
        out.contains("stale-seq-after-fin at ") && out.contains("ack_to_stale_s="),
        "{out}"
    );
    assert!(
        out.contains(&format!("counterexample: {COUNTEREXAMPLE}")),
        "{out}"
    );
    assert_eq!(out.lines().last(), Some("0 passed, 1 failed"));
    // The counterexample is a model file carrying the property; running it shows the signature.
    let cx = tcpsim::Scenario::load(&dir.join(COUNTEREXAMPLE)).expect("loads");
    assert!(cx.search.is_none());
    assert_eq!(cx.expect.len(), 1);
    let report = tcpsim::simulate(&cx, &mut (), tcpsim::run::Analyse::Yes).unwrap();
    assert!(
        report
            .summary
            .findings
            .iter()
            .any(|f| f.signature == "stale-seq-after-fin")
    );
    // And it fails on its own under `tcpsim test`.
    let again = tcpsim_in(&dir, &["test", COUNTEREXAMPLE]);
    assert_eq!(again.status.code(), Some(1), "{}", stdout(&again));
    let junit = fs::read_to_string(dir.join("j.xml")).unwrap();
    assert!(junit.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"tcpsim test\" tests=\"1\" failures=\"1\""), "{junit}");
    assert!(
        junit.contains("<testsuite name=\"m.toml\" tests=\"1\" failures=\"1\""),
        "{junit}"
    );
    assert!(junit.contains("<testcase name=\"no stale data after the FIN\" classname=\"esp32-wifi-generic\">\n      <failure message=\"stale-seq-after-fin at "), "{junit}");
}

// Proves a fixed model passes: after the failure above, the server's read timeout (which sends
// the FIN) is turned off; the saved counterexample is replayed onto the changed model, the
// property now holds there and on every generated case: exit 0, a passing JUnit test case.
#[test]
fn fixed_model_passes() {
    let dir = scratch("expect_fixed");
    fs::write(dir.join("m.toml"), generic_with(NO_STALE)).unwrap();
    let o = tcpsim_in(&dir, &["test", "m.toml", "--cases", "64"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(dir.join(COUNTEREXAMPLE).is_file());
    // The search space varies the read timeout too: the fix takes it out of the space as well.
    let fixed = generic_with(NO_STALE)
        .replace("idle_timeout = \"15s\"", "idle_timeout = \"off\"")
        .replace("idle_timeout = [\"14900ms\", \"15600ms\"]\n", "");
    fs::write(dir.join("m.toml"), fixed).unwrap();
    let o = tcpsim_in(
        &dir,
        &["test", "m.toml", "--cases", "64", "--junit", "j.xml"],
    );
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert_eq!(
        stdout(&o),
        "PASS  m.toml: no stale data after the FIN (64 cases)\n1 passed, 0 failed\n"
    );
    let junit = fs::read_to_string(dir.join("j.xml")).unwrap();
    assert!(junit.contains("tests=\"1\" failures=\"0\""), "{junit}");
    assert!(
        junit.contains(
            "<testcase name=\"no stale data after the FIN\" classname=\"esp32-wifi-generic\"/>"
        ),
        "{junit}"
    );
    assert!(!junit.contains("<failure"), "{junit}");
}

// Proves determinism: the same seed gives the same report, counterexample file and JUnit XML
// byte for byte, whatever the number of threads; another seed checks other cases.
#[test]
fn same_seed_same_report_and_files() {
    let extra = format!(
        "{NO_STALE}\n[[expect]]\nname = \"the connection survives\"\noutcome = \"survived\"\n"
    );
    let run = |name: &str, args: &[&str]| {
        let dir = scratch(name);
        fs::write(dir.join("m.toml"), generic_with(&extra)).unwrap();
        let mut all = vec!["test", "m.toml", "--cases", "32", "--junit", "j.xml"];
        all.extend_from_slice(args);
        let o = tcpsim_in(&dir, &all);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        let mut files: Vec<(String, Vec<u8>)> = Vec::new();
        for sub in [
            "j.xml",
            COUNTEREXAMPLE,
            "tcpsim-test/esp32-wifi-generic--the-connection-survives.toml",
        ] {
            files.push((sub.to_string(), fs::read(dir.join(sub)).expect(sub)));
        }
        (stdout(&o), files)
    };
    let a = run("expect_det_a", &["--jobs", "1"]);
    let b = run("expect_det_b", &["--jobs", "2"]);
    assert_eq!(a.0, b.0);
    for (fa, fb) in a.1.iter().zip(&b.1) {
        assert!(fa == fb, "{} differs between runs", fa.0);
    }
    let c = run("expect_det_c", &["--seed", "7"]);
    assert_ne!(a.1[1], c.1[1], "another seed finds another counterexample");
}

// Proves bad [[expect]] tables are errors (exit 2) naming file:line:col and the field, before
// anything runs.
#[test]
fn bad_expect_tables_are_located_errors() {
    let dir = scratch("expect_bad");
    let head = "version = 1\nname = \"x\"\nseed = 1\nclient = { app = { kind = \"bulk\", bytes = 100 } }\n\n[[expect]]\nname = \"a\"\n";
    let cases: [(&str, &str); 10] = [
        (
            "bogus = 1\n",
            "m.toml:8:1: expect.0.bogus: unknown field `bogus`",
        ),
        (
            "never = \"rto-backoff\"\noutcome = \"reset\"\n",
            "m.toml:9:11: expect.0.outcome: one check per [[expect]] table: never and outcome given",
        ),
        (
            "",
            "m.toml:7:8: expect.0.name: no check: give one of never, always",
        ),
        (
            "never = \"stale\"\n",
            "m.toml:8:9: expect.0.never: unknown signature \"stale\"",
        ),
        (
            "outcome = \"dead\"\n",
            "m.toml:8:11: expect.0.outcome: unknown variant `dead`",
        ),
        (
            "outcome = \"reset\"\nmin = 1.0\n",
            "m.toml:9:7: expect.0.min: only goes with feature",
        ),
        (
            "feature = \"rto-backoff.total_s\"\nmin = 5.0\nmax = 1.0\n",
            "m.toml:10:7: expect.0.max: 1 is below min (5)",
        ),
        // A misspelt feature is never measured, so it would pass whatever the bounds.
        (
            "feature = \"stale-seq-after-fin.fin_to_ack_sec\"\nmax = 0.0001\n",
            "m.toml:8:11: expect.0.feature: stale-seq-after-fin has no feature \"fin_to_ack_sec\"",
        ),
        (
            "final_state = { side = \"server\", state = \"OPEN\" }\n",
            "m.toml:8:42: expect.0.final_state.state: unknown TCP state \"OPEN\"",
        ),
        (
            "always = \"rto-backoff\"\nset = [\"client.nope=1\"]\n",
            "m.toml:9:7: expect.0.set: --set client.nope=1: client.nope: unknown field `nope`",
        ),
    ];
    for (body, want) in cases {
        fs::write(dir.join("m.toml"), format!("{head}{body}")).unwrap();
        let o = tcpsim_in(&dir, &["test", "m.toml"]);
        assert_eq!(o.status.code(), Some(2), "{body}: {}", stdout(&o));
        let err = stderr(&o);
        assert!(
            err.starts_with(&format!("tcpsim: error: {want}")),
            "{body}\n got: {err}"
        );
        assert!(!dir.join("tcpsim-test").exists());
    }
    // Two properties whose names give the same file name.
    fs::write(
        dir.join("m.toml"),
        format!(
            "{head}always = \"rto-backoff\"\n\n[[expect]]\nname = \"A!\"\nnever = \"rto-backoff\"\n"
        ),
    )
    .unwrap();
    let err = stderr(&tcpsim_in(&dir, &["test", "m.toml"]));
    assert!(
        err.contains("m.toml:11:8: expect.1.name: \"A!\" has the same file name (a)"),
        "{err}"
    );
    // A control character in a name reached terminals raw and made the JUnit XML unreadable.
    let head = head.replace("name = \"a\"", "name = \"a\\u001b[2Jb\"");
    fs::write(
        dir.join("m.toml"),
        format!("{head}always = \"rto-backoff\"\n"),
    )
    .unwrap();
    let o = tcpsim_in(&dir, &["test", "m.toml"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("expect.0.name: \"a\\u{1b}[2Jb\" holds a control character"),
        "{err}"
    );
    assert!(!err.contains('\u{1b}'), "{err}");
}

// Proves saved counterexamples are tried first: a second run with a one-case budget and another
// seed still fails, on the saved counterexample (reported as such, with the same observations).
#[test]
fn saved_counterexamples_are_tried_first() {
    let dir = scratch("expect_saved");
    fs::write(dir.join("m.toml"), generic_with(NO_STALE)).unwrap();
    let first = stdout(&tcpsim_in(&dir, &["test", "m.toml", "--cases", "64"]));
    let saved = fs::read(dir.join(COUNTEREXAMPLE)).unwrap();
    let o = tcpsim_in(&dir, &["test", "m.toml", "--cases", "1", "--seed", "12345"]);
    assert_eq!(o.status.code(), Some(1));
    let second = stdout(&o);
    assert!(
        second.starts_with("FAIL  m.toml: no stale data after the FIN (saved counterexample)\n"),
        "{second}"
    );
    let observed = |s: &str| s.lines().nth(1).map(str::to_string);
    assert_eq!(observed(&first), observed(&second));
    assert_eq!(
        fs::read(dir.join(COUNTEREXAMPLE)).unwrap(),
        saved,
        "rewritten identically"
    );
}

// Proves replaying a drawn scenario onto its own model gives it back, for any draw of the shipped
// search space: what makes a saved counterexample the same case on an unchanged model.
#[test]
fn replay_of_a_draw_is_the_draw() {
    let base = crate::model("esp32-wifi-generic.toml");
    let strategy = tcpsim::search::strategy(&base);
    let mut runner = TestRunner::new(Config {
        rng_seed: RngSeed::Fixed(3),
        ..Config::default()
    });
    for _ in 0..200 {
        let s = strategy.new_tree(&mut runner).unwrap().current();
        assert_eq!(tcpsim::search::replay(&base, &s), s);
    }
}

// Proves the committed models' properties all hold (what CI runs), one line each.
#[test]
fn committed_models_hold() {
    let dir = scratch("expect_models");
    let models = root().join("models");
    let o = tcpsim_in(&dir, &["test", models.to_str().unwrap(), "--cases", "32"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let out = stdout(&o);
    assert!(
        out.lines()
            .all(|l| l.starts_with("PASS  ") || l.ends_with(" passed, 0 failed")),
        "{out}"
    );
    assert!(out.ends_with(" passed, 0 failed\n"));
    assert!(!dir.join("tcpsim-test").exists());
}

// Proves the duty-cycle, burst-loss and RTO-base keys of `[search]` (issue 10, item 3): on the telemetry
// model (a 30 s / 6 s duty cycle) with duty ranges and `loss_burst`, drawn cases keep the model's
// schedule or take a duty cycle whose period, down time, phase and jitter lie in their ranges (a
// part without a range keeps the model's); burst loss is drawn with its rate and burst length in
// range; the client's initial RTO (lwIP's base) in its range; all three occur; and every draw
// replays onto its model as itself.
#[test]
fn duty_cycle_and_burst_loss_space() {
    let text = fs::read_to_string(root().join("models/esp32-wifi-telemetry.toml")).unwrap()
        + "\n[search]\nwindows = 0\nduty_period = [\"20s\", \"40s\"]\nduty_down = [\"1s\", \"10s\"]\n\
           duty_jitter = [\"0s\", \"2s\"]\nloss = [0.0, 0.05]\nloss_burst = [2.0, 8.0]\n\
           rto_initial = [\"1500ms\", \"3s\"]\n";
    let base = tcpsim::Scenario::from_toml(&text, std::path::Path::new("t.toml")).unwrap();
    let strategy = tcpsim::search::strategy(&base);
    let mut runner = TestRunner::new(Config {
        rng_seed: RngSeed::Fixed(5),
        ..Config::default()
    });
    let (mut duty, mut burst, mut rto) = (0, 0, 0);
    for _ in 0..200 {
        let s = strategy.new_tree(&mut runner).unwrap().current();
        match &s.link.outage {
            OutageSchedule::DutyCycle {
                period,
                down,
                phase,
                jitter,
            } if s.link.outage != base.link.outage => {
                duty += 1;
                assert!((Dur::secs(20)..=Dur::secs(40)).contains(period), "{period}");
                assert!((Dur::secs(1)..=Dur::secs(10)).contains(down), "{down}");
                assert!(*jitter <= Dur::secs(2), "{jitter}");
                assert_eq!(*phase, Dur::secs(20), "no duty_phase range: the model's");
            }
            o => assert_eq!(o, &base.link.outage),
        }
        for l in [&s.link.uplink.loss, &s.link.downlink.loss] {
            if let LossModel::GilbertElliott {
                loss_rate,
                mean_burst,
            } = l
            {
                burst += 1;
                assert!(*loss_rate > 0.0 && *loss_rate <= 0.05 && (2.0..=8.0).contains(mean_burst));
            }
        }
        let r = s.client.tcp.rto_initial;
        if r != base.client.tcp.rto_initial {
            rto += 1;
            assert!((Dur::ms(1500)..=Dur::secs(3)).contains(&r), "{r}");
        }
        assert_eq!(tcpsim::search::replay(&base, &s), s);
    }
    assert!(
        duty > 20 && burst > 20 && rto > 20,
        "duty {duty}, burst {burst}, rto {rto}"
    );
}

// Proves `--cases N` counts the cases checked, not the draws: a [search] space whose duty cycles
// are mostly invalid (down time longer than the period: rejected, not simulated) still reports
// exactly N cases for a property that holds (it reported N plus the rejected draws).
#[test]
fn rejected_draws_are_not_counted_as_cases() {
    let dir = scratch("expect_rejects");
    let space = "duty_period = [\"1s\", \"2s\"]\nduty_down = [\"1.9s\", \"30s\"]\n\n";
    let holds =
        "[[expect]]\nname = \"counts\"\nfeature = \"rto-backoff.retransmissions\"\nmin = 0\n";
    fs::write(dir.join("m.toml"), generic_with(&format!("{space}{holds}"))).unwrap();
    let o = tcpsim_in(&dir, &["test", "m.toml", "--cases", "20", "--jobs", "1"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "PASS  m.toml: counts (20 cases)\n1 passed, 0 failed\n"
    );
}
