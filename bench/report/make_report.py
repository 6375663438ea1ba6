#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Writes bench/report/REPORT.md, report.json and the plots' data and gnuplot
script from the raw outputs of one scripts/bench.sh run (issue 13 section 2).

Inputs (in --raw): perop.json (xdpkv_bench), e2e.json (xdpkv_e2e),
user.json (xdpkv_user_bench, Google Benchmark), objs.txt (per-backend ELF
symbol sizes of the bench programs), meta.json (bench.sh: mode, command,
commit, start/end). Only the standard library: runs on a bare Debian python3.
"""
import argparse
import json
import os
import re
import statistics

KEYS = [1, 2, 8, 32, 60]


def load(path, default=None):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def med(v):
    return statistics.median(v) if v else float("nan")


def fmt(x, nd=2, sign=False):
    if x is None or x != x:
        return "n/a"
    return f"{x:+.{nd}f}" if sign else f"{x:.{nd}f}"


def spread(v, nd=2):
    return f"[{min(v):.{nd}f}, {max(v):.{nd}f}]" if v else ""


# ---- per operation -----------------------------------------------------------


class PerOp:
    def __init__(self, j):
        self.j = j
        self.rows = {}
        for r in j.get("results", []):
            self.rows[(r["program"], r["keys"])] = r

    def row(self, prog, keys=0):
        return self.rows.get((prog, keys))

    def deltas(self, prog, keys, ref="empty"):
        a, b = self.row(prog, keys), self.row(ref, keys) or self.row(ref, 0)
        if not a or not b:
            return []
        return [x - y for x, y in zip(a["samples_ns"], b["samples_ns"])]

    def d(self, prog, keys, ref="empty"):
        return med(self.deltas(prog, keys, ref))


PEROP_ROWS = [
    ("tlv_get", "TLV walk to the key (baseline)"),
    ("get", "get, general path"),
    ("get_const", "get, literal key"),
    ("get_fast", "get, fast layout"),
    ("has", "has, general"),
    ("has_fast", "has, fast layout"),
    ("set_overwrite", "set, same-size overwrite, general"),
    ("set_ow_fast", "set overwrite, fast layout"),
    ("set_ow_strict", "set overwrite, strict mode (registry lookup)"),
    ("ins+del", "insert + delete pair, general"),
    ("del+ins", "delete + insert pair, general"),
]


def perop_section(p, out, data_dir):
    j = p.j
    m = j.get("machine", {})
    out.append("## 1. Per operation (BPF_PROG_TEST_RUN)\n")
    out.append(
        f"`xdpkv_bench`, repeat {j.get('repeat')} x {j.get('rounds')} rounds: every program once per "
        f"round, start rotated, so every row is measured side by side; {j.get('runs')} timed runs, "
        f"{j.get('clamped_runs')} clamped into the kernel's [duration, duration+1) interval; "
        f"per-syscall overhead {fmt(j.get('syscall_overhead_ns', 0) / 1000, 0)} us subtracted. "
        "Method: [bench/README.md](../README.md).\n")
    out.append("Each cell: median over rounds of (program - `empty`) in the same round, ns per "
               "operation, with [min, max] of that difference over the rounds.\n")
    keys = [k for k in KEYS if p.row("get", k)]
    out.append("| program | what | " + " | ".join(f"{k} keys" for k in keys) + " |")
    out.append("|---|---|" + "---|" * len(keys))
    for prog, what in PEROP_ROWS:
        if not any(p.row(prog, k) for k in keys):
            continue
        cells = []
        for k in keys:
            dv = p.deltas(prog, k)
            cells.append(f"{fmt(med(dv), sign=True)} {spread(dv, 1)}" if dv else "n/a")
        out.append(f"| `{prog}` | {what} | " + " | ".join(cells) + " |")
    out.append("")
    out.append("Baselines (no store) and instruction counts:\n")
    out.append("| program | what | median ns/op [min, max] | - empty, ns | verified insns | JIT bytes |")
    out.append("|---|---|---|---|---|---|")
    for prog, what in [("empty", "return XDP_PASS: the floor"),
                       ("fixed_get", "fixed struct at data_meta, load"),
                       ("fixed_set", "fixed struct, store"),
                       ("percpu_get", "per-CPU array map lookup")]:
        r = p.row(prog)
        if r:
            out.append(f"| `{prog}` | {what} | {fmt(r['median_ns'])} {spread(r['samples_ns'], 1)} | "
                       f"{fmt(p.d(prog, 0), sign=True)} | {r['verified_insns']} | {r.get('jited_bytes', '')} |")
    out.append("")
    out.append("Verified instructions of the store programs (the same at every size): " + ", ".join(
        f"`{prog}` {p.row(prog, keys[0])['verified_insns']}" for prog, _ in PEROP_ROWS
        if keys and p.row(prog, keys[0])) + ".\n")
    out.append("![cost against store size](perop.png)\n")
    out.append("Full table (absolute ns/op, kernel duration, deltas to the fixed load/store): "
               "[bench.txt](bench.txt).\n")
    # plot data: keys, then per program median delta, min, max
    progs = ["get", "get_fast", "has", "has_fast", "set_overwrite", "set_ow_fast", "tlv_get",
             "ins+del"]
    with open(os.path.join(data_dir, "perop.dat"), "w") as f:
        f.write("# keys " + " ".join(f"{q}_med {q}_min {q}_max" for q in progs) + "\n")
        for k in keys:
            cols = [str(k)]
            for q in progs:
                dv = p.deltas(q, k)
                if q == "ins+del":  # one insert or delete, derived: half the pair
                    dv = [x / 2 for x in dv]
                cols += [fmt(med(dv), 3), fmt(min(dv), 3), fmt(max(dv), 3)] if dv else ["NaN"] * 3
            f.write(" ".join(cols) + "\n")
    return progs


# ---- hand-off (issue 22): what a load-balancer author reads first -------------

# bench/e2e's rows of the demo LB (e2e.cpp redirect_variants)
LB_FIXED = "LB on a fixed struct (3 values, IPIP)"
LB_XDPKV = "LB on xdpkv (3 values, IPIP)"

# (operation, fixed-struct program, xdpkv program, goal at 3 values in ns over the fixed struct)
HANDOFF = [("create", "fixed_create", "kv_create", 5.0),
           ("read", "fixed_read", "kv_read", 3.0),
           ("overwrite", "fixed_ow", "kv_ow", None)]
HANDOFF_EXTRA = [("read, fast layout", "fixed_read", "kv_read_fast"),
                 ("overwrite, fast layout", "fixed_ow", "kv_ow_fast"),
                 ("read, keys in descending order (general path)", "fixed_read", "kv_read_general"),
                 ("overwrite, keys in descending order (general path)", "fixed_ow", "kv_ow_general"),
                 ("read, 3 single gets (before get_many)", "fixed_read", "kv_read_1by1"),
                 ("create, 3 single sets (before set_many)", "fixed_create", "kv_create_1by1")]


def lb_pair(e):
    """The demo LB on xdpkv over the same LB on a fixed struct, per round: (stats, rows) or None."""
    rows = {v["name"]: v for v in (e or {}).get("e2e", []) if v.get("pps") is not None}
    fx, kv = rows.get(LB_FIXED), rows.get(LB_XDPKV)
    if not fx or not kv or not fx.get("pps_rounds") or len(fx["pps_rounds"]) != len(kv.get("pps_rounds", [])):
        return None
    r = [k / f for k, f in zip(kv["pps_rounds"], fx["pps_rounds"]) if f > 0]
    return (r, fx, kv) if r else None


def lb_pair_lines(e, out, result):
    pair = lb_pair(e)
    if not pair:
        out.append("End to end, the demo's LB on xdpkv against the same LB on a fixed struct: not measured "
                   "in this run.\n")
        return
    r, fx, kv = pair
    out.append("End to end, the demo's load balancer (`userspace/demo/lb.bpf.c`: `lb_ingress` tags 3 values and "
               "IPIP-encapsulates, the devmap program, `lb_backend` and `lb_tc` on the backend read them; "
               "ring-buffer records off), handing the values over in an xdpkv store against the same program "
               "built on a fixed struct (`lb::Options::fixed_struct`), live frames, the two back to back in "
               "every round (section 2):\n")
    out.append("| LB hand-off | median pps [min, max] | delivered | xdpkv / fixed, per round |")
    out.append("|---|---|---:|---|")
    for v, cell in ((fx, "1.000"), (kv, f"**{med(r):.3f}** [{min(r):.3f}, {max(r):.3f}]")):
        dl = 100.0 * v["delivered"] / v["sent"] if v.get("sent") else 0
        out.append(f"| {v['name']} | {v['pps']:,.0f} [{v['pps_min']:,.0f}, {v['pps_max']:,.0f}] | "
                   f"{dl:.1f}% | {cell} |")
    out.append("")
    result["lb_end_to_end"] = {"ratio": med(r), "ratio_min": min(r), "ratio_max": max(r), "rounds": len(r),
                               "fixed_pps": fx["pps"], "xdpkv_pps": kv["pps"]}


def handoff_section(p, e, out, result):
    if not p or not p.row("kv_create", 3) and not p.row("kv_read", 3):
        return
    out.append("## Per packet: xdpkv against a fixed struct\n")
    out.append("A producer hands n values (u64 id, u32, u32, ... as a load balancer does) to later "
               "programs. *fixed struct*: the values at constant offsets of a struct at `data_meta` "
               "(create: `bpf_xdp_adjust_meta` + stores). *xdpkv*: `xdpkv_set_many` into an empty "
               "area (create), `xdpkv_get_many` (read), `xdpkv_set_many` of the present keys "
               "(overwrite), keys in ascending order, the store holding just them (the hand-off's "
               "shape, which the calls take a path of their own for: docs/API.md \"Several keys\"); "
               "no loader set-up. Both undo a create in the same repetition. ns per packet, "
               "median over rounds [min, max]; the difference is the median of same-round "
               "differences.\n")
    out.append("| operation | values | fixed struct, ns | xdpkv, ns | xdpkv - fixed, ns | goal (3 values) |")
    out.append("|---|---:|---|---|---:|---|")
    rows = []
    for op, fixed, kv, goal in HANDOFF:
        for n in (1, 3, 8):
            f, k = p.row(fixed, n), p.row(kv, n)
            if not f or not k:
                out.append(f"| {op} | {n} | not measured on this kernel | | | |")
                continue
            d = p.d(kv, n, fixed)
            verdict = ""
            if goal is not None and n == 3:
                verdict = f"<= +{goal:.0f}: {'met' if d <= goal else 'not met'}"
            out.append(f"| {op} | {n} | {fmt(f['median_ns'])} {spread(f['samples_ns'])} | "
                       f"{fmt(k['median_ns'])} {spread(k['samples_ns'])} | {fmt(d, sign=True)} | {verdict} |")
            rows.append({"operation": op, "values": n, "fixed_ns": f["median_ns"], "xdpkv_ns": k["median_ns"],
                         "delta_ns": d, "goal_ns": goal if n == 3 else None})
    extra = [(what, fixed, kv) for what, fixed, kv in HANDOFF_EXTRA if p.row(kv, 3) and p.row(fixed, 3)]
    if extra:
        out.append("\nThree values, other ways:\n")
        out.append("| xdpkv | ns | - fixed struct, ns |")
        out.append("|---|---|---:|")
        for what, fixed, kv in extra:
            k = p.row(kv, 3)
            out.append(f"| {what} | {fmt(k['median_ns'])} {spread(k['samples_ns'])} | "
                       f"{fmt(p.d(kv, 3, fixed), sign=True)} |")
    out.append("")
    result["handoff"] = rows
    lb_pair_lines(e, out, result)


# ---- end to end, GRO, tracer -------------------------------------------------


def e2e_section(e, out, data_dir, note_quick):
    out.append("## 2. End to end (bench/e2e, `xdpkv_e2e`)\n")
    if not e or "e2e" not in e:
        out.append("Not run.\n")
        return
    out.append(
        "Frames from the client namespace into `lbin`, whose XDP program (one variant per run) "
        "redirects them through a devmap out of `lbout` to `be`, where `e2e_sink` counts and drops. "
        "Rate: frames that reached the sink per second of sending. Variants take turns within every "
        f"round ({e.get('rounds')} rounds); each ratio is the median rate over the baseline's median "
        "of the same run (the DPDK rows: over the DPDK baseline). Sources: the live-frames generator "
        "(BPF_PROG_RUN, `BPF_F_TEST_XDP_LIVE_FRAMES`, XDP_TX out of `cli`) and `xdpkv-trafficgen` "
        "(DPDK 22.11, net_af_xdp on `cli`, full speed).\n")
    out.append("| variant | source | median pps | [min, max] | ratio | delivered | runs |")
    out.append("|---|---|---:|---|---:|---:|---:|")
    rows = []
    for v in e["e2e"]:
        if v.get("pps") is None:
            out.append(f"| {v['name']} | {v.get('source', '')} | not measured | | | | 0 |")
            continue
        dl = 100.0 * v["delivered"] / v["sent"] if v.get("sent") else 0
        out.append(f"| {v['name']} | {v.get('source', '')} | {v['pps']:,.0f} | "
                   f"[{v['pps_min']:,.0f}, {v['pps_max']:,.0f}] | {v['ratio']:.3f} | {dl:.1f}% | {v['runs']} |")
        rows.append(v)
    notes = [v for v in e["e2e"] if v.get("not_measured")]
    if notes:
        out.append("")
        out.append(f"DPDK rows not measured: {notes[0]['not_measured']}")
    dn = [v for v in e["e2e"] if v.get("source") == "dpdk" and v.get("note")]
    if dn:
        out.append("")
        out.append("DPDK runs: " + "; ".join(f"{v['name']}: {v['note']}" for v in dn) + ".")
    out.append("")
    out.append("![end-to-end rates](e2e.png)\n")
    with open(os.path.join(data_dir, "e2e.dat"), "w") as f:
        f.write("# idx ratio ratio_min ratio_max label\n")
        for i, v in enumerate(rows):
            base = v["pps"] / v["ratio"] if v["ratio"] else 1
            lab = v["name"].replace('"', "'")
            f.write(f'{i} {v["ratio"]:.4f} {v["pps_min"] / base:.4f} {v["pps_max"] / base:.4f} "{lab}"\n')


def parse_guest_gro(path):
    """guest-gro.txt: 'KVER module-hints GRO (...): segs/skb without X (...), with Y (...)'."""
    rows = []
    if not os.path.exists(path):
        return rows
    for line in open(path):
        m = re.match(r"(\S+) module-hints GRO .*segs/skb without ([0-9.]+) .*, with ([0-9.]+) ", line)
        if m:
            rows.append({"where": m.group(1), "without": float(m.group(2)), "with": float(m.group(3))})
    return rows


def gro_section(e, out, data_dir, guest_gro):
    out.append("## 3. GRO\n")
    if not e or "gro" not in e:
        out.append("Not run.\n")
        return
    out.append("A TCP stream from the client namespace into `lbin` (GRO on, XDP writes the store "
               "then XDP_PASS); TC ingress on `lbin` counts the skbs GRO built. The kernel never merges "
               "skbs whose metadata differ (`gro_list_prepare` -> `skb_metadata_differs`). Ratios: "
               "median Gbit/s over the no-store median of the same run.\n")
    out.append("Reordering, per run (medians): *late* = data skbs that reached TC ingress behind data "
               "already seen there (what GRO's held packets cause), *ofo* = the receiver's "
               "`TcpExtTCPOFOQueue`, *reord* and *retr* = the sender's `TcpExtTCPSACKReorder` and "
               "`RetransSegs`. The tagger rows run the shipped tagger (`userspace/trace/tagger.bpf.c`) "
               "as `xdpkv tag` loads it (an 8-byte id and the 4-byte origin mark on a tagged packet): `--per-packet` is the old default (one packet in 64), "
               "*bursts* the new one (one TCP burst in 64, docs/TRACE.md).\n")
    out.append("| store written in XDP | Gbit/s | [min, max] | ratio | segments per skb [min, max] "
               "| late | ofo | reord | retr | tagged | runs |")
    out.append("|---|---:|---|---:|---|---:|---:|---:|---:|---:|---:|")
    for g in e["gro"]:
        out.append(f"| {g['name']} | {g['gbps']:.2f} | [{g['gbps_min']:.2f}, {g['gbps_max']:.2f}] | "
                   f"{g['ratio']:.3f} | {g['segs_per_skb']:.2f} [{g['segs_min']:.2f}, {g['segs_max']:.2f}] | "
                   f"{g.get('late_skbs', 0):.0f} | {g.get('rcv_ofo_queue', 0):.0f} | "
                   f"{g.get('snd_sack_reorder', 0):.0f} | {g.get('snd_retrans_segs', 0):.0f} | "
                   f"{100 * g.get('tagged_share', 0):.1f}% | {g['runs']} |")
    out.append("")
    if guest_gro:
        out.append("Module hints (`bpf_xdpkv_hints_store` on every packet, its constant mark under "
                   "key 63; tests/vm `F_Gro.ModuleHintsKeepGro`, a 4 MiB TCP stream in a guest under "
                   "TCG: segments per skb only, throughput there means little):\n")
        out.append("| guest kernel | segments per skb, no store | with module hints |")
        out.append("|---|---:|---:|")
        for g in guest_gro:
            out.append(f"| {g['where']} | {g['without']:.2f} | {g['with']:.2f} |")
        out.append("")
    else:
        out.append("Module hints: not in this run (measured in the guests by tests/vm "
                   "`F_Gro.ModuleHintsKeepGro`: segments per skb with `bpf_xdpkv_hints_store` on "
                   "every packet against none).\n")
    out.append("![GRO](gro.png)\n")
    with open(os.path.join(data_dir, "gro.dat"), "w") as f:
        f.write("# idx gbps min max segs label\n")
        for i, g in enumerate(e["gro"]):
            f.write(f'{i} {g["gbps"]:.3f} {g["gbps_min"]:.3f} {g["gbps_max"]:.3f} {g["segs_per_skb"]:.2f} "{g["name"]}"\n')


def tracer_section(e, out, data_dir):
    tc = (e or {}).get("tracer_cost")
    if not tc:
        return
    out.append("### The tracer's cost per event\n")
    if tc and "not_measured" in tc[0]:
        out.append(f"Not measured: {tc[0]['not_measured']}\n")
        return
    out.append("`xdpkv-trafficgen` (DPDK, net_af_xdp, its token bucket paces) sends into `lbin`, whose XDP "
               "program gives each frame a PACKET_ID and passes it; `xdpkv trace`'s library "
               "(`xdpkv::trace::Tracer`, key id 0, netns filter, polling as the CLI does) follows the skbs "
               "(several events per packet: receive, drop). `poll ns/event`: CPU time of the tracer's "
               "polling thread (ring buffer, decode, callback) per event received; its growth with the "
               "rate is the user-space cost of load. The BPF side's cost on the packet path is the "
               "\"+ tracer attached\" row of the table above.\n")
    out.append("| offered pps | achieved pps | events/s | lost | poll ns/event [min, max] | runs |")
    out.append("|---:|---:|---:|---:|---|---:|")
    with open(os.path.join(data_dir, "tracer.dat"), "w") as f:
        f.write("# events_per_s poll_ns min max\n")
        for t in tc:
            out.append(f"| {t['offered_pps']:,} | {t['achieved_pps']:,.0f} | {t['events_per_s']:,.0f} | "
                       f"{t['lost']:.0f} | {t['poll_ns_per_event']:.0f} [{t['poll_ns_per_event_min']:.0f}, "
                       f"{t['poll_ns_per_event_max']:.0f}] | {t['runs']} |")
            f.write(f"{t['events_per_s']:.0f} {t['poll_ns_per_event']:.1f} "
                    f"{t['poll_ns_per_event_min']:.1f} {t['poll_ns_per_event_max']:.1f}\n")
    out.append("")
    out.append("![tracer cost per event](tracer.png)\n")


def tagger_section(e, out):
    tg = (e or {}).get("tagger_cost")
    if not tg:
        return
    out.append("### The tagger's cost per packet on 1 and 2 CPUs\n")
    out.append("BPF_PROG_TEST_RUN of the shipped tagger (`xdpkv tag`'s program, one in 64, an 8-byte id and the 4-byte origin mark in one `xdpkv_set_many`) "
               "on one thread on each CPU alone in turn (1 CPU), then on two threads pinned to CPUs 0 and 1 "
               "at the same time (2 CPUs): ns per packet as the kernel reports it (its mean per repetition), "
               "median over the threads and rounds. The goal: no more per packet on 2 CPUs than on 1 "
               "(nothing shared written per packet; docs/PERFORMANCE.md, \"The tagger on many CPUs\").\n")
    out.append("| frame | CPUs | ns/packet | [min, max] | runs |")
    out.append("|---|---:|---:|---|---:|")
    for t in tg:
        out.append(f"| {t['frame']} | {t['cpus']} | {t['ns']:.1f} | [{t['ns_min']:.1f}, {t['ns_max']:.1f}] | "
                   f"{t['runs']} |")
    out.append("")


# ---- kernel module: instruction counts -----------------------------------------


def parse_objs(path):
    """objs.txt: '== backend' then llvm-readelf -s lines; FUNC sizes / 8 = instructions."""
    res, cur = {}, None
    try:
        lines = open(path).read().splitlines()
    except OSError:
        return res
    for ln in lines:
        if ln.startswith("== "):
            cur = ln[3:].strip()
            res[cur] = {}
            continue
        f = ln.split()
        if cur and len(f) >= 8 and f[3] == "FUNC":
            res[cur][f[7]] = int(f[2], 0) // 8
    return res


def parse_guest_insns(path):
    """guest-insns.txt: 'KVER PROG inline verified V xlated X jited J B, kfunc verified ...'."""
    rows = []
    try:
        lines = open(path).read().splitlines()
    except OSError:
        return rows
    pat = re.compile(r"^(\S+) (\S+) inline verified (\d+) xlated (\d+) jited (\d+) B, "
                     r"kfunc verified (\d+) xlated (\d+) jited (\d+) B$")
    for ln in lines:
        m = pat.match(ln)
        if m:
            k, prog, *n = m.groups()
            n = [int(x) for x in n]
            rows.append({"kernel": k, "program": prog,
                         "inline": {"verified": n[0], "xlated": n[1], "jited_bytes": n[2]},
                         "kfunc": {"verified": n[3], "xlated": n[4], "jited_bytes": n[5]}})
    return rows


def module_section(objs, p, out, result, guest=None):
    out.append("## 4. Kernel module backend: instruction counts only\n")
    out.append("**Not timed.** The module (`xdpkv.ko`) runs only in the TCG guest here, where time means "
               "nothing. The counts below are instructions in the BPF object (ELF symbol size / 8, "
               "before the verifier; a 64-bit immediate load counts 2) of `bench/progs/bench.bpf.c` "
               "built for each backend; inline subprograms called from a program are listed in their own "
               "row. The verified and JITed counts of both builds follow, from the guests.\n")
    inl, kf = objs.get("inline", {}), objs.get("kfunc", {})
    if not inl or not kf:
        out.append("Objects not found: not measured.\n")
        return
    out.append("| program | inline insns (ELF) | kfunc insns (ELF) | kfunc / inline | inline verified |")
    out.append("|---|---:|---:|---:|---:|")
    names = {"bench_empty": "empty", "kv_get": "get", "kv_get_const": "get_const", "kv_has": "has",
             "kv_set_ow": "set_overwrite", "kv_ins_del": "ins+del", "kv_del_ins": "del+ins"}
    rows = []
    for sym in sorted(set(inl) | set(kf)):
        a, b = inl.get(sym), kf.get(sym)
        prog = names.get(sym, sym)
        pr = p.row(prog, 8) or p.row(prog, 0) if p else None
        ver = pr["verified_insns"] if pr else ""
        ratio = f"{b / a:.2f}" if a and b else ""
        out.append(f"| `{sym}` | {a if a is not None else '-'} | {b if b is not None else '-'} | {ratio} | {ver} |")
        rows.append({"symbol": sym, "inline_elf_insns": a, "kfunc_elf_insns": b})
    out.append("")
    result["module"] = {"what": "ELF instruction counts (not verified, not timed)", "programs": rows}
    if not guest:
        out.append("Verified and JITed counts per backend: not measured (the VM tests, which load the "
                   "module in a guest, are not configured or failed: see `guest-ctest.txt`).\n")
        return
    out.append("Verified and JITed, per backend, with the module loaded in the guests (tests/vm, "
               "`xdpkv-vm: bench insns` lines): verified = instructions the verifier processed, "
               "xlated = instructions after it, JIT = x86-64 bytes. The kfunc build calls into the "
               "module: its cost is in the module's C code, which these counts do not include.\n")
    out.append("| kernel | program | inline verified | inline xlated | inline JIT B | kfunc verified | "
               "kfunc xlated | kfunc JIT B | JIT kfunc / inline |")
    out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in guest:
        i, k = r["inline"], r["kfunc"]
        ratio = f"{k['jited_bytes'] / i['jited_bytes']:.2f}" if i["jited_bytes"] else ""
        out.append(f"| {r['kernel']} | `{r['program']}` | {i['verified']} | {i['xlated']} | {i['jited_bytes']} | "
                   f"{k['verified']} | {k['xlated']} | {k['jited_bytes']} | {ratio} |")
    out.append("")
    out.append("In-guest time ratios are not reported: under TCG (no KVM here) they measure the "
               "emulator's translation of each instruction, not the CPU.\n")
    result["module"]["guest"] = guest


# ---- user space ------------------------------------------------------------------


def bench_runs(u):
    """Google Benchmark's iterations, by run name."""
    runs = {}
    for b in (u or {}).get("benchmarks", []):
        if b.get("run_type") != "iteration" or b.get("error_occurred"):
            continue
        runs.setdefault(b["run_name"], []).append(b)
    return runs


def result_user_codec(u):
    """The codec rows per store size: CPU times of every repetition and their medians."""
    runs, codec = bench_runs(u), []
    for k in KEYS:
        g = [b["cpu_time"] for b in runs.get(f"BM_CodecGet/keys:{k}", [])]
        it = [b["cpu_time"] for b in runs.get(f"BM_CodecIterate/keys:{k}", [])]
        fe = [b["cpu_time"] for b in runs.get(f"BM_CodecForEach/keys:{k}", [])]
        if g or it or fe:
            codec.append({"keys": k, "get": g, "iterate": it, "for_each": fe, "get_ns": med(g) if g else None,
                          "iterate_ns": med(it) if it else None, "for_each_ns": med(fe) if fe else None})
    return codec


def user_section(u, out, data_dir, result):
    out.append("## 5. User space\n")
    if not u or "benchmarks" not in u:
        out.append("Not run.\n")
        return
    runs = bench_runs(u)
    reps = max((len(v) for v in runs.values()), default=0)
    out.append(f"`xdpkv_user_bench` (Google Benchmark, {reps} repetitions; median with [min, max] "
               "over them).\n")
    popcount = u.get("context", {}).get("popcount", "not reported")
    out.append("Codec (libxdpkv_codec, on a copy of the area, as an AF_XDP reader or the tracer sees it): "
               "`View` construction (reads and validates the header once) + `valid()` + `get(32)`, and "
               "iterating every entry, summing values, with `entries()` (builds a vector) and with "
               "`for_each` (allocates nothing): CPU time per operation (the thread's; wall time counts "
               "other processes' turns on a loaded machine), the View's construction included. Stores as "
               f"in section 1. Popcount path: **{popcount}** (`xdpkv::popcount_path()`: the popcnt "
               "instruction when the CPU has it, checked once at run time).\n")
    out.append("| keys | decode: valid + get, ns [min, max] | `entries()` all, ns [min, max] | "
               "`entries()` ns per entry | `for_each` all, ns [min, max] | `for_each` ns per entry |")
    out.append("|---:|---|---|---:|---|---:|")
    codec = result_user_codec(u)
    for c in codec:
        k, g, it, fe = c["keys"], c["get"], c["iterate"], c["for_each"]
        out.append(f"| {k} | {fmt(med(g), 1)} {spread(g, 1)} | {fmt(med(it), 1)} {spread(it, 1)} | "
                   f"{fmt(med(it) / k if it else None, 1)} | {fmt(med(fe), 1)} {spread(fe, 1)} | "
                   f"{fmt(med(fe) / k if fe else None, 2)} |")
        for x in ("get", "iterate", "for_each"):
            del c[x]
    out.append("")
    out.append("Registry (pinned maps, allocation in a BPF_PROG_TYPE_SYSCALL program under a spin lock): "
               "threads = concurrent registrants, each with its own handle. Register: `register_key` + "
               "`unregister` of a name of its own (a pair per operation). Total operations per second "
               "over all threads (wall clock).\n")
    out.append("| registrants | register+unregister per s [min, max] | lookup per s [min, max] |")
    out.append("|---:|---|---|")
    reg = []
    with open(os.path.join(data_dir, "registry.dat"), "w") as f:
        f.write("# threads register_med min max lookup_med min max\n")
        for t in [1, 2, 4, 8]:
            r = [b["items_per_second"] for b in runs.get(f"BM_RegistryRegister/real_time/threads:{t}", [])]
            lk = [b["items_per_second"] for b in runs.get(f"BM_RegistryLookup/real_time/threads:{t}", [])]
            if not r and not lk:
                continue
            def cell(v):
                return f"{med(v):,.0f} [{min(v):,.0f}, {max(v):,.0f}]" if v else "n/a"
            out.append(f"| {t} | {cell(r)} | {cell(lk)} |")
            f.write(f"{t} {fmt(med(r), 1)} {fmt(min(r), 1) if r else 'NaN'} {fmt(max(r), 1) if r else 'NaN'} "
                    f"{fmt(med(lk), 1)} {fmt(min(lk), 1) if lk else 'NaN'} {fmt(max(lk), 1) if lk else 'NaN'}\n")
            reg.append({"threads": t, "register_per_s": med(r) if r else None,
                        "lookup_per_s": med(lk) if lk else None})
    out.append("")
    out.append("![registry operations per second against registrants](registry.png)\n")
    result["user"] = {"codec": codec, "popcount": popcount, "registry": reg}


# ---- goals ---------------------------------------------------------------------------

# "Today" for the fast paths: bench/README.md's idle run (2026-11-22), ns over empty at 8 keys.
FAST_TODAY = {"get_fast": 2.00, "has_fast": 1.74, "set_ow_fast": 1.69}


def goals(p, e, u, out, result):
    out.append("## Goals (issues 13 and 22): met or not\n")
    out.append("Reported, never asserted. Per-operation goals at 8 keys, measured side by side in this run.\n")
    out.append("| goal | measured | verdict |")
    out.append("|---|---|---|")
    g = []

    def add(goal, measured, ok, why):
        verdict = ("met" if ok else "not met") if ok is not None else "not measured"
        out.append(f"| {goal} | {measured} | {verdict}{': ' + why if why else ''} |")
        g.append({"goal": goal, "measured": measured, "verdict": verdict, "reason": why})

    if p and p.row("get", 8):
        def why(general, fast, ref):
            extra = p.d(general, 8, fast)
            return (f"the general path's header work (SWAR popcounts, BPF has no popcount "
                    f"instruction; store-size validation) measures {extra:+.2f} ns here "
                    f"(`{general}` - `{fast}`, same run); `{fast}` is {p.d(fast, 8, ref):+.2f} ns")

        d = p.d("get", 8, "fixed_get")
        add("general get within 4 ns of the fixed load", f"{d:+.2f} ns", d <= 4,
            "" if d <= 4 else why("get", "get_fast", "fixed_get"))
        d = p.d("set_overwrite", 8)
        add("same-size overwrite within 5 ns of the empty program", f"{d:+.2f} ns", d <= 5,
            "" if d <= 5 else why("set_overwrite", "set_ow_fast", "empty"))
        d = p.d("has", 8, "fixed_get")
        add("has within 3 ns (of the fixed load, as for get)", f"{d:+.2f} ns", d <= 3,
            "" if d <= 3 else why("has", "has_fast", "fixed_get"))
        for prog, today in FAST_TODAY.items():
            d = p.d(prog, 8)
            ok = d <= today + 0.5
            add(f"`{prog}` no slower than before the general-path work ({today:+.2f} ns over empty, "
                "bench/README.md's idle run, AMD EPYC VM, 2026-11-22; +0.5 ns allowed for noise)",
                f"{d:+.2f} ns", ok, "" if ok else "slower than that recorded run (another day, maybe "
                "another CPU: a reference, not a same-run ratio)")
    else:
        add("per-operation goals", "not run", None, "")
    rows = {v["name"]: v for v in (e or {}).get("e2e", []) if v.get("pps") is not None}
    h = rows.get("+ PACKET_ID + hints (software)")
    if h:
        ok = h["ratio"] >= 0.95
        idr = rows.get("+ PACKET_ID", {}).get("ratio")
        why = "" if ok else (
            f"the software Toeplitz hash over the 5-tuple in BPF (40-byte key, bit by bit); "
            f"PACKET_ID alone is at {idr:.3f}; a NIC hash (bpf_xdp_metadata_rx_hash, Linux >= 6.3) "
            "would replace it, veth has none for these frames")
        add("PACKET_ID with hints >= 95% of the baseline rate", f"{h['ratio']:.3f}", ok, why)
    else:
        add("PACKET_ID with hints >= 95% of the baseline rate", "not run", None, "")
    goals_22(p, e, u, rows, add)
    out.append("")
    result["goals"] = g


def goals_22(p, e, u, rows, add):
    """Issue 22's goals 1, 3 and 4 (goal 2 is issue 13's three rows above, goal 5 this report's lead)."""
    for op, fixed, kv, goal in HANDOFF:
        if goal is None:
            continue
        name = f"{op} 3 values within the fixed struct + {goal:.0f} ns (issue 22)"
        if p and p.row(kv, 3) and p.row(fixed, 3):
            d = p.d(kv, 3, fixed)
            other = "; ".join(f"{what} {p.d(k, 3, f):+.2f}" for what, f, k in HANDOFF_EXTRA
                              if k.startswith(kv) and p.row(k, 3) and p.row(f, 3))
            add(name, f"{d:+.2f} ns", d <= goal, "" if d <= goal else
                "per key remain the key's length from the header bits and one range check per value "
                "(the verifier gives a packet pointer plus a variable no range: each value needs its "
                "own), per call the store's size check; a fixed struct has its layout compiled in. "
                f"Same run: {other} (docs/PERFORMANCE.md, hand-off)")
        else:
            add(name, "not run", None, "")
    base, tr = rows.get("redirect only (baseline)"), rows.get("untagged + tracer attached")
    name = "tracer attached keeps >= 0.95 of the redirect rate of untagged traffic (issue 22)"
    if base and tr:
        ok = tr["ratio"] >= 0.95
        why = ("without `--redirects` the tracer runs no program per frame on this path (only "
               "`xdp_devmap_xmit`, once per devmap batch; the frames die in XDP, so no skb point "
               f"fires); the baseline's own rounds spread over [{base['pps_min'] / base['pps']:.3f}, "
               f"{base['pps_max'] / base['pps']:.3f}] of its median, so {e.get('rounds')} rounds do not "
               "resolve a gap this size: docs/PERFORMANCE.md (\"The tracer and untagged traffic\") "
               "gives a run of 11 rounds")
        add(name, f"{tr['ratio']:.3f}", ok, "" if ok else why)
    else:
        add(name, "not run", None, "")
    tg = (e or {}).get("tagger_cost") or []
    for frame in sorted({t["frame"] for t in tg}):
        one = next((t for t in tg if t["frame"] == frame and t["cpus"] == 1), None)
        two = next((t for t in tg if t["frame"] == frame and t["cpus"] == 2), None)
        if one and two:
            ok = two["ns"] <= one["ns"] * 1.10
            add(f"tagger per packet on 2 CPUs no more than on 1, {frame} (issue 22; +10% for noise)",
                f"{one['ns']:.1f} ns on 1, {two['ns']:.1f} ns on 2", ok,
                "" if ok else "the two CPUs write shared cache lines (docs/PERFORMANCE.md)")
    codec = (result_user_codec(u))
    if codec:
        worst = max(c["get_ns"] for c in codec if c["get_ns"] is not None)
        add("user space `valid()` + `get()` at most 5 ns at every store size (issue 22)",
            f"{worst:.1f} ns (worst over 1-60 keys)", worst <= 5, "" if worst <= 5 else
            "measured above 5 ns: see section 5")
        big = [c for c in codec if c["keys"] >= 8 and c.get("for_each_ns")]
        if big:
            per = max(c["for_each_ns"] / c["keys"] for c in big)
            small = next((c for c in codec if c["keys"] == 1 and c.get("for_each_ns")), None)
            note = (f"; at 1 key {small['for_each_ns']:.1f} ns, the View's construction included"
                    if small else "")
            add("user space iteration at most 2 ns per entry (`for_each`, 8 to 60 keys; issue 22)",
                f"{per:.2f} ns per entry (worst){note}", per <= 2,
                "" if per <= 2 else "above 2 ns per entry: see section 5")
    else:
        add("user space goals (issue 22)", "not run", None, "")


# ---- emulated: what the host refuses, measured in a guest kernel -----------------------------


def emulated_section(pj, where, out, result):
    """The write paths a refusing host cannot load, from xdpkv_bench in a guest
    kernel under QEMU/TCG: ratios to that run's own empty program and the
    verifier's and JIT's counts, never absolute times."""
    p = PerOp(pj)
    empty = med(p.row("empty", 0)["samples_ns"]) if p.row("empty", 0) else float("nan")
    out.append("\n## Write paths, emulated in a guest kernel\n")
    out.append(f"This host's kernel refuses them: {where.get('refusal', '?')}\n")
    out.append(f"So they ran in {where.get('guest', 'a guest kernel')} under QEMU/TCG (`scripts/guest.sh`), "
               "the same binary. TCG translates the JIT's x86 code again, so only figures of that one run "
               "compared with each other mean anything: each cell is the program's median ns/op divided "
               "by the guest run's own `empty` program, then verified instructions and JITed bytes "
               "(exact anywhere).\n")
    out.append("| program | path | " + " | ".join(f"{k} keys" for k in KEYS) + " |")
    out.append("|---|---|" + "---|" * len(KEYS))
    rows = []
    for name, what in PEROP_ROWS:
        cells = []
        for k in KEYS:
            r = p.row(name, k)
            if not r:
                cells.append("n/a")
                continue
            ratio = med(r["samples_ns"]) / empty if empty == empty and empty > 0 else float("nan")
            cells.append(f"{fmt(ratio)}x, {r.get('verified_insns')} insns, {r.get('jited_bytes')} B")
            rows.append({"program": name, "keys": k, "ratio_to_empty": ratio,
                         "verified_insns": r.get("verified_insns"), "jited_bytes": r.get("jited_bytes")})
        out.append(f"| `{name}` | {what} | " + " | ".join(cells) + " |")
    result["per_op_emulated"] = {"where": where, "rows": rows}


# ---- main ---------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    meta = load(os.path.join(a.raw, "meta.json"), {})
    pj = load(os.path.join(a.raw, "perop.json"))
    p = PerOp(pj) if pj else None
    e = load(os.path.join(a.raw, "e2e.json"))
    u = load(os.path.join(a.raw, "user.json"))
    objs = parse_objs(os.path.join(a.raw, "objs.txt"))
    data_dir = os.path.join(a.raw, "plot")
    os.makedirs(data_dir, exist_ok=True)

    result = {"generated": meta, "machine": (pj or {}).get("machine", {})}
    out = []
    quick = meta.get("mode") == "quick"
    out.append("# xdpkv: what it costs\n")
    if quick:
        out.append("> **QUICK MODE (smoke run): fewer repeats and runs than the report needs; these "
                   "numbers are not results.** Run `scripts/bench.sh` without `--quick` for the report.\n")
    handoff_section(p, e, out, result)  # the table a load-balancer author reads first (issue 22)
    m = result["machine"]
    out.append(f"Generated by `{meta.get('command', 'scripts/bench.sh')}` from commit {meta.get('commit', '?')}, "
               f"{meta.get('start', '?')} to {meta.get('end', '?')} ({meta.get('seconds', '?')} s).\n")
    out.append(f"Machine: {meta.get('cpu', m.get('cpu', '?'))}, {meta.get('cores', m.get('cores', '?'))} CPUs, "
               f"Linux {meta.get('kernel', m.get('kernel', '?'))}, {meta.get('virt', '')}; load average at start "
               f"{meta.get('load_start', '?')}, at end {meta.get('load_end', '?')}; bpf_jit_enable "
               f"{m.get('bpf_jit_enable', '?')}.\n")
    out.append(f"Run counts: per operation {pj.get('rounds') if pj else '-'} rounds x {pj.get('repeat') if pj else '-'} "
               f"repeats; end to end and GRO {e.get('rounds') if e else '-'} rounds; user space "
               f"{meta.get('user_reps', '-')} repetitions. Raw outputs: [report.json](report.json), "
               "[bench.txt](bench.txt), [e2e.txt](e2e.txt).\n")
    goals(p, e, u, out, result)
    if p:
        perop_section(p, out, data_dir)
        result["per_op"] = pj
    where = meta.get("where", {})
    if where.get("e2e") == "guest":
        out.append(f"\n> The end-to-end, tracer and GRO figures below ran in {where.get('guest', 'a guest')} "
                   "under QEMU/TCG (this host refuses what they need: "
                   f"{where.get('refusal', '?')}). Emulated: compare only ratios within that run.\n")
    gj = load(os.path.join(a.raw, "perop-guest.json"))
    if gj:
        emulated_section(gj, where, out, result)
    e2e_section(e, out, data_dir, quick)
    tracer_section(e, out, data_dir)
    tagger_section(e, out)
    guest_gro = parse_guest_gro(os.path.join(a.raw, "guest-gro.txt"))
    gro_section(e, out, data_dir, guest_gro)
    module_section(objs, p, out, result, parse_guest_insns(os.path.join(a.raw, "guest-insns.txt")))
    user_section(u, out, data_dir, result)
    if e:
        result["e2e"] = [{"name": v["name"], "pps": v.get("pps"), "ratio": v.get("ratio"),
                          **{k: v[k] for k in v if k not in ("name", "pps", "ratio")}} for v in e.get("e2e", [])]
        result["gro"] = e.get("gro", [])
        result["gro_module"] = guest_gro
        result["tracer_cost"] = e.get("tracer_cost", [])
        result["tagger_cost"] = e.get("tagger_cost", [])
    with open(os.path.join(a.out, "REPORT.md"), "w") as f:
        f.write("\n".join(out).rstrip() + "\n")
    with open(os.path.join(a.out, "report.json"), "w") as f:
        json.dump(result, f, indent=1, sort_keys=False)
        f.write("\n")


if __name__ == "__main__":
    main()
