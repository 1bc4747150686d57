//! Issue 11, item 1: captures as people paste them. The text tshark and tcpdump themselves print
//! from tcpsim's own pcaps must import to the same packets as the pcap.

use std::path::Path;
use std::process::Command;

use tcpsim::capture::{ImportOptions, import_file};
use tcpsim::trace::packet::TcpFlags;

use super::{have_tool, root, scratch};

/// A packet in a form every format can express: time since the first packet (µs), endpoint names,
/// flags, sequence (`None` where tcpdump leaves it out: a segment that occupies no sequence space)
/// and ACK relative to the ISNs, window, length.
type Canon = (i64, String, String, TcpFlags, Option<u32>, u32, u32, u32);

/// Imports `path` and puts its packets in canonical form. `rest_relative`: the text prints
/// sequence and ACK numbers relative to the ISNs except on SYNs and bare RSTs (tcpdump without
/// `-S`); otherwise
/// numbers are absolute (pcap) or relative from the SYN's 0 (tshark), which the same arithmetic
/// handles.
fn canonical(path: &Path, rest_relative: bool) -> Vec<Canon> {
    let mut raw = Vec::new();
    let (names, _) = import_file(path, ImportOptions::default(), &mut |p, _| raw.push(*p))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut isn = std::collections::BTreeMap::new();
    for p in &raw {
        if p.flags.contains(TcpFlags::SYN) {
            isn.entry(p.src).or_insert(p.seq);
        }
    }
    let t0 = raw.first().map_or(0, |p| p.t.total_micros());
    raw.iter()
        .map(|p| {
            let own = isn.get(&p.src).copied().unwrap_or(0);
            let peer = isn.get(&p.dst).copied().unwrap_or(0);
            // tcpdump prints a SYN's numbers and a bare RST's sequence number absolute.
            let syn = p.flags.contains(TcpFlags::SYN);
            let bare_rst = p.flags.contains(TcpFlags::RST) && !p.flags.contains(TcpFlags::ACK);
            let (seq, ack) = if rest_relative && !syn && !bare_rst {
                (p.seq, p.ack)
            } else {
                (p.seq.wrapping_sub(own), p.ack.wrapping_sub(peer))
            };
            let ack = if p.flags.contains(TcpFlags::ACK) {
                ack
            } else {
                0
            };
            let seq = (p.seq_len() > 0 || p.flags.contains(TcpFlags::RST)).then_some(seq);
            (
                p.t.total_micros() - t0,
                names.get(p.src).to_string(),
                names.get(p.dst).to_string(),
                p.flags & !TcpFlags::PSH,
                seq,
                ack,
                p.win,
                p.len,
            )
        })
        .collect()
}

/// Asserts two imports are equal, showing the first packet that differs (not both lists).
fn same(got: &[Canon], want: &[Canon], name: &str) {
    if let Some(i) = (0..got.len().max(want.len())).find(|&i| got.get(i) != want.get(i)) {
        panic!(
            "{name}: packet {i}: {:?} vs the pcap's {:?}",
            got.get(i),
            want.get(i)
        );
    }
}

/// Runs the stale-FIN model with a pcap output into `dir/run` and returns the pcap's path.
fn stale_fin_pcap(dir: &Path) -> std::path::PathBuf {
    let run = dir.join("run");
    let o = Command::new(env!("CARGO_BIN_EXE_tcpsim"))
        .args([
            "run",
            "models/esp32-wifi-stale-fin.toml",
            "--outputs",
            "pcap",
            "--out",
        ])
        .arg(&run)
        .current_dir(root())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    run.join("trace.pcap")
}

fn run_tool(tool: &str, args: &[&str], out: &Path) {
    let o = Command::new(tool).args(args).output().expect("runs");
    assert!(
        o.status.success(),
        "{tool} {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::write(out, o.stdout).unwrap();
}

// Proves the import of `tshark -r trace.pcap` (relative, absolute and date-and-time columns), of
// its CSV export (with Wireshark's header row, with tshark's, and without one) and of `tcpdump -v
// -r` / `-vv` output equals the import of the pcap itself, packet for packet: time, endpoints,
// flags, sequence, ACK, window and length. Before, tshark text read as "0 TCP packets" and the
// other two were errors.
#[test]
fn tshark_and_tcpdump_text_import_like_the_pcap() {
    if !have_tool("tshark", "tshark_and_tcpdump_text_import_like_the_pcap")
        || !have_tool("tcpdump", "tshark_and_tcpdump_text_import_like_the_pcap")
    {
        return;
    }
    let dir = scratch("text_formats");
    let pcap = stale_fin_pcap(&dir);
    let want = canonical(&pcap, false);
    assert!(want.len() > 1000, "{} packets", want.len());
    let p = pcap.to_str().unwrap();
    let cols = tcpsim::capture::TSHARK_CSV_ARGS;
    let mut cases: Vec<(&str, Vec<&str>, bool)> = vec![
        ("tshark.txt", vec!["-r", p], false),
        ("tshark-ad.txt", vec!["-r", p, "-t", "ad"], false),
        ("tshark-a.txt", vec!["-r", p, "-t", "a"], false),
        ("tshark-e.txt", vec!["-r", p, "-t", "e"], false),
    ];
    let mut csv_args = vec!["-r", p, "-E", "header=y"];
    csv_args.extend(cols);
    let mut csv_bare = vec!["-r", p];
    csv_bare.extend(cols);
    cases.push(("tshark-header.csv", csv_args, false));
    cases.push(("tshark-bare.csv", csv_bare.clone(), false));
    for (name, args, rel) in &cases {
        let out = dir.join(name);
        run_tool("tshark", args, &out);
        same(&canonical(&out, *rel), &want, name);
    }
    // Wireshark's own "Export Packet Dissections -> As CSV" header row.
    let bare = std::fs::read_to_string(dir.join("tshark-bare.csv")).unwrap();
    let gui = dir.join("wireshark.csv");
    std::fs::write(
        &gui,
        format!("\u{feff}\"No.\",\"Time\",\"Source\",\"Destination\",\"Protocol\",\"Length\",\"Info\"\n{bare}"),
    )
    .unwrap();
    same(&canonical(&gui, false), &want, "wireshark.csv");
    for (name, flag) in [
        ("tcpdump-v.txt", "-v"),
        ("tcpdump-vv.txt", "-vv"),
        ("tcpdump-n.txt", "-n"),
    ] {
        let out = dir.join(name);
        run_tool("tcpdump", &[flag, "-r", p], &out);
        same(&canonical(&out, true), &want, name);
    }
    // tcpdump's banner and summary around the packets, and a UTF-8 BOM, as pasted from a terminal.
    let body = std::fs::read_to_string(dir.join("tcpdump-n.txt")).unwrap();
    let pasted = dir.join("pasted.txt");
    std::fs::write(
        &pasted,
        format!(
            "\u{feff}tcpdump: verbose output suppressed, use -v[v]... for full protocol decode\n\
             listening on eth0, link-type EN10MB (Ethernet), snapshot length 262144 bytes\n\
             {body}1008 packets captured\n1010 packets received by filter\n0 packets dropped by kernel\n"
        ),
    )
    .unwrap();
    same(&canonical(&pasted, true), &want, "pasted.txt");
}

// Proves a higher-layer line without TCP fields (tshark's `HTTP 140 GET /`) is placed in its
// flow when the flow tells where (one pair of ports between its hosts, whose last segment gives
// the next sequence number and the header length: 140 − 66 = 74 bytes at seq 1), and otherwise is
// neither imported as a packet nor dropped silently: it is counted in the report and a warning
// says how to re-export it with TCP fields.
#[test]
fn lines_without_tcp_fields_are_reported() {
    let dir = scratch("text_formats_http");
    let cap = dir.join("http.txt");
    std::fs::write(
        &cap,
        "    1   0.000000 10.0.0.2 → 10.0.0.9 TCP 74 51234 → 80 [SYN] Seq=0 Win=64240 Len=0 MSS=1460\n\
         \x20   2   0.000100 10.0.0.9 → 10.0.0.2 TCP 74 80 → 51234 [SYN, ACK] Seq=0 Ack=1 Win=65160 Len=0 MSS=1460\n\
         \x20   3   0.000200 10.0.0.2 → 10.0.0.9 TCP 66 51234 → 80 [ACK] Seq=1 Ack=1 Win=64256 Len=0\n\
         \x20   4   0.000300 10.0.0.2 → 10.0.0.9 HTTP 140 GET / HTTP/1.1\n\
         \x20   5   0.000400 10.0.0.2 → 10.0.0.9 DNS 80 Standard query 0x1 A example.com\n\
         \x20   6   0.000500 10.0.0.7 → 10.0.0.9 HTTP 72 GET / HTTP/1.1\n\
         \x20   7   0.000600 10.0.0.9 → 10.0.0.2 TCP 66 80 → 51234 [ACK] Seq=1 Ack=75 Win=509 Len=0\n",
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_tcpsim"))
        .args(["analyze"])
        .arg(&cap)
        .output()
        .unwrap();
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        out.contains(
            "5 TCP packets, 1 connection(s), 1 non-TCP packets skipped, \
             1 of them higher-layer packets placed in their flow"
        ),
        "{out}"
    );
    // The placed segment is new data the server then acknowledges: no hole, no retransmission.
    assert!(out.contains("syn 2, new-data 1, ack 2\n"), "{out}");
    assert!(out.contains("1 non-TCP packets skipped"), "{out}");
    assert!(
        out.contains("1 packets without TCP fields not imported"),
        "{out}"
    );
    assert!(err.contains("--disable-protocol http"), "{err}");
}

// Proves payload lengths come from the IP header, not the captured length: the stale-FIN run's
// pcap cut to 96 bytes per packet by `editcap -s 96` imports to the same packets as the whole
// pcap and its analysis finds no "previous segment not captured" (the old code found 501 in this
// run's cut pcap; tshark sees none).
#[test]
fn snapshot_length_cut_pcap_reads_like_the_whole() {
    if !have_tool("editcap", "snapshot_length_cut_pcap_reads_like_the_whole") {
        return;
    }
    let dir = scratch("text_formats_snaplen");
    let pcap = stale_fin_pcap(&dir);
    let cut = dir.join("cut.pcap");
    let o = Command::new("editcap")
        .args(["-F", "pcap", "-s", "96"])
        .arg(&pcap)
        .arg(&cut)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(std::fs::metadata(&cut).unwrap().len() < std::fs::metadata(&pcap).unwrap().len());
    let want = canonical(&pcap, false);
    assert!(
        want.iter().any(|p| p.7 > 96),
        "the run has segments longer than the cut"
    );
    same(&canonical(&cut, false), &want, "cut.pcap");
    let opts = tcpsim::analyze::AnalyzeOptions::default();
    let (a, _) = tcpsim::analyze::analyze_file(&cut, ImportOptions::default(), opts).unwrap();
    let (whole, _) = tcpsim::analyze::analyze_file(&pcap, ImportOptions::default(), opts).unwrap();
    assert_eq!(a, whole);
    assert!(
        a.connections
            .iter()
            .all(|c| !c.classes.contains_key("previous-segment-not-captured")),
        "{:?}",
        a.connections[0].classes
    );
}

// Proves Wireshark's own classification (the bracketed expert info of tshark text) is kept beside
// tcpsim's: the report counts Wireshark's labels separately, so a duplicate ACK Wireshark flags
// and tcpsim does not (nothing was outstanding) shows as such in both the text and the JSON.
#[test]
fn wireshark_expert_info_is_kept() {
    let dir = scratch("text_formats_expert");
    let cap = dir.join("expert.txt");
    std::fs::write(
        &cap,
        "    1   0.000000 10.0.0.2 → 10.0.0.9 TCP 74 51234 → 8883 [SYN] Seq=0 Win=64240 Len=0 MSS=1460\n\
         \x20   2   0.000100 10.0.0.9 → 10.0.0.2 TCP 74 8883 → 51234 [SYN, ACK] Seq=0 Ack=1 Win=65160 Len=0 MSS=1460\n\
         \x20   3   0.000200 10.0.0.2 → 10.0.0.9 TCP 66 51234 → 8883 [ACK] Seq=1 Ack=1 Win=64256 Len=0\n\
         \x20   4   0.100000 10.0.0.2 → 10.0.0.9 TCP 78 51234 → 8883 [PSH, ACK] Seq=1 Ack=1 Win=501 Len=12\n\
         \x20   5   0.300000 10.0.0.2 → 10.0.0.9 TCP 78 [TCP Retransmission] 51234 → 8883 [PSH, ACK] Seq=1 Ack=1 Win=501 Len=12\n\
         \x20   6   0.300100 10.0.0.9 → 10.0.0.2 TCP 66 8883 → 51234 [ACK] Seq=1 Ack=13 Win=509 Len=0\n\
         \x20   7   0.300200 10.0.0.9 → 10.0.0.2 TCP 66 [TCP Dup ACK 6#1] 8883 → 51234 [ACK] Seq=1 Ack=13 Win=509 Len=0\n",
    )
    .unwrap();
    let (a, _) =
        tcpsim::analyze::analyze_file(&cap, ImportOptions::default(), Default::default()).unwrap();
    let c = &a.connections[0];
    assert_eq!(c.wireshark.get("retransmission"), Some(&1), "{c:?}");
    assert_eq!(c.wireshark.get("duplicate-ack"), Some(&1), "{c:?}");
    assert_eq!(c.classes.get("retransmission"), Some(&1), "{c:?}");
    assert_eq!(c.classes.get("duplicate-ack"), None, "{c:?}");
    let text = tcpsim::report::analyze_text("expert.txt", &Default::default(), &a);
    assert!(
        text.contains("  wireshark's own analysis: retransmission 1, duplicate-ack 1\n"),
        "{text}"
    );
}

// Proves higher-layer lines are placed in their flow exactly: tshark told to decode the stale-FIN
// run's port as MQTT prints some segments as `MQTT 106 Subscribe Request ...` or `TCP 139 [TCP
// segment of a reassembled PDU]`, without TCP fields;
// the import of that text equals the pcap's, packet for packet, with those lines placed.
#[test]
fn higher_layer_lines_placed_like_the_pcap() {
    if !have_tool("tshark", "higher_layer_lines_placed_like_the_pcap") {
        return;
    }
    let dir = scratch("text_formats_mqtt");
    let pcap = stale_fin_pcap(&dir);
    let text = dir.join("mqtt.txt");
    run_tool(
        "tshark",
        &["-r", pcap.to_str().unwrap(), "-d", "tcp.port==20271,mqtt"],
        &text,
    );
    let upper = std::fs::read_to_string(&text)
        .unwrap()
        .lines()
        .filter(|l| !l.contains("Len="))
        .count();
    // An MQTT line, and `TCP 139 [TCP segment of a reassembled PDU]` lines without ports.
    assert!(
        upper >= 2,
        "tshark printed {upper} lines without TCP fields"
    );
    let (_, stats) = import_file(&text, ImportOptions::default(), &mut |_, _| {}).unwrap();
    assert_eq!(stats.placed_in_flow, upper as u64);
    assert_eq!(stats.no_tcp_fields, 0);
    same(
        &canonical(&text, false),
        &canonical(&pcap, false),
        "mqtt.txt",
    );
}

// Proves placement is safe where the flow cannot tell (review findings): a line of a protocol over
// UDP (CoAP) between the same hosts is never placed in the TCP flow, and the header length is not
// taken from a SYN (its options) or from a 60-byte frame (Ethernet pads it), so the HTTP line after
// a padded ACK is placed only once an unpadded segment gave the length: here the 54-byte headers of
// the ACK, so 154 − 54 = 100 bytes, which the server then acknowledges (no hole).
#[test]
fn placement_only_where_the_flow_tells() {
    let dir = scratch("text_formats_placement");
    let cap = dir.join("mixed.txt");
    std::fs::write(
        &cap,
        "1 0.000 10.0.0.2 → 10.0.0.1 TCP 74 5000 → 80 [SYN] Seq=0 Win=64240 Len=0 MSS=1460\n\
         2 0.001 10.0.0.1 → 10.0.0.2 TCP 74 80 → 5000 [SYN, ACK] Seq=0 Ack=1 Win=65160 Len=0 MSS=1460\n\
         3 0.002 10.0.0.2 → 10.0.0.1 TCP 60 5000 → 80 [ACK] Seq=1 Ack=1 Win=502 Len=0\n\
         4 0.003 10.0.0.2 → 10.0.0.1 CoAP 80 CON, MID:1, POST, /x\n\
         5 0.004 10.0.0.2 → 10.0.0.1 HTTP 154 GET / HTTP/1.1\n\
         6 0.005 10.0.0.2 → 10.0.0.1 TCP 74 5000 → 80 [PSH, ACK] Seq=1 Ack=1 Win=502 Len=20\n\
         7 0.006 10.0.0.1 → 10.0.0.2 TCP 54 80 → 5000 [ACK] Seq=1 Ack=21 Win=509 Len=0\n\
         8 0.007 10.0.0.2 → 10.0.0.1 HTTP 154 GET / HTTP/1.1\n\
         9 0.008 10.0.0.1 → 10.0.0.2 TCP 54 80 → 5000 [ACK] Seq=1 Ack=121 Win=509 Len=0\n",
    )
    .unwrap();
    let (_, stats) = import_file(&cap, ImportOptions::default(), &mut |_, _| {}).unwrap();
    // Line 4 (UDP) and line 5 (no unpadded length yet) are counted; line 8 is placed.
    assert_eq!(
        (stats.placed_in_flow, stats.no_tcp_fields),
        (1, 2),
        "{stats:?}"
    );
    let (a, _) =
        tcpsim::analyze::analyze_file(&cap, ImportOptions::default(), Default::default()).unwrap();
    let classes = &a.connections[0].classes;
    assert_eq!(classes.get("new-data"), Some(&2), "{classes:?}");
    assert!(
        classes
            .keys()
            .all(|k| !k.contains("retransmission") && !k.contains("not-captured")),
        "{classes:?}"
    );
}
