"""bench/harness/report.py — summary table, PNG plots, baseline comparison for bench.py.

Regression compares ratios (forwarder / testpmd-io, forwarder / l3fwd-lpm measured in the same
run), never absolute Mpps: absolute rates on a shared VM move by tens of percent between runs,
ratios of neighbours measured in interleaved rounds move by a few.
"""

import json
import os

RATIOS = ("ratio_testpmd_io_core", "ratio_l3fwd_lpm_core")  # what --regress gates on


def _fmt(x, spec):
    return spec % x if isinstance(x, (int, float)) else "-"


def _pair(r, name):
    raw, core = r.get("ratio_" + name), r.get("ratio_" + name + "_core")
    if raw is None:
        return "-"
    return "%.2f (%.2f)" % (raw, core) if core is not None else "%.2f" % raw


def table_md(rows, info):
    lines = [
        "| setup | forwarder | fam | FIB | traffic | frame | Mpps (median) | min–max | spread "
        "| CV | ns/pkt | worker CPU | Mpps/core | × testpmd-io (per core) | × l3fwd-LPM (per core) "
        "| n | notes |",
        "|---|---|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        fib = r["key"].split("/")[3]
        notes = r["status"] if r["status"] != "ok" else "; ".join(r.get("warnings", []))
        lines.append("| %s | %s | %s | %s | %s | %d B | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            r["setup"], r["forwarder"], r["family"].replace("ipv", "v"), fib, r["traffic"],
            r["frame_size"], _fmt(r.get("mpps"), "%.2f"),
            ("%.2f–%.2f" % (r["mpps_min"], r["mpps_max"])) if "mpps_min" in r else "-",
            _fmt(100 * r["spread"], "%.1f %%") if r.get("spread") is not None else "-",
            _fmt(100 * r["cv"], "%.1f %%") if r.get("cv") is not None else "-",
            _fmt(r.get("ns_per_pkt"), "%.1f"),
            _fmt(100 * r["worker_cpu_share"], "%.0f %%") if r.get("worker_cpu_share") else "-",
            _fmt(r.get("mpps_per_core"), "%.2f"), _pair(r, "testpmd_io"), _pair(r, "l3fwd_lpm"),
            r.get("repetitions", 0), notes))
    head = ("Ratios are per round (same round, neighbouring processes), medians over rounds; in "
            "brackets the same ratio of per-core rates (each rate divided by the worker thread's "
            "share of core 1), which --regress gates on.\n\n")
    head += ("Run %s UTC on %s (%d CPUs, %s, kernel %s, DPDK %s, EAL memory: %s), load average at "
            "start %s, end %s.\nCommand: `%s`. %s rounds x %.1f s windows after %.1f s warm-up, "
            "%d-frame pcaps, layout %s.\n\n") % (
        info.get("started_utc"), info.get("cpu"), info.get("cpus", 0), info.get("host"),
        info.get("kernel"), info.get("dpdk"), info.get("mem"), info.get("loadavg_at_start"),
        info.get("loadavg_at_end"), info.get("command"), info.get("reps"),
        info.get("window_s", 0), info.get("warmup_s", 0), info.get("frames", 0),
        info.get("layout"))
    return head + "\n".join(lines) + "\n"


CHURN_STEP_S = 0.1  # bench.CHURN_TIMELINE_STEP_S: one churn_timeline sample's interval


def plots(rows, out):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in rows if r.get("mpps")]
    # 1. Mpps by FIB size per (setup, family, frame), one line per forwarder; raw and per core.
    groups = {}
    for r in ok:
        if r["traffic"] == "uniform" and r["forwarder"] != "testpmd-io" and not r.get(
                "churn_rate"):
            groups.setdefault((r["setup"], r["family"], r["frame_size"]), []).append(r)
    for metric, fname, ylabel in (
            ("mpps", "mpps_by_fib.png", "Mpps (median, min–max bars)"),
            ("mpps_per_core", "mpps_per_core_by_fib.png", "Mpps per owned core (median)")):
        if not groups:
            break
        fig, axes = plt.subplots(1, len(groups), figsize=(6 * len(groups), 4.5), squeeze=False)
        for ax, (g, rs) in zip(axes[0], sorted(groups.items())):
            for fwd in sorted({r["forwarder"] for r in rs}):
                pts = sorted((r["fib_size"], r) for r in rs
                             if r["forwarder"] == fwd and r.get(metric))
                if not pts:
                    continue
                xs = [p[0] for p in pts]
                ys = [p[1][metric] for p in pts]
                if metric == "mpps":
                    lo = [p[1]["mpps"] - p[1]["mpps_min"] for p in pts]
                    hi = [p[1]["mpps_max"] - p[1]["mpps"] for p in pts]
                    ax.errorbar(xs, ys, yerr=[lo, hi], marker="o", capsize=3, label=fwd)
                else:
                    ax.plot(xs, ys, marker="o", label=fwd)
            for r in ok:
                if (r["forwarder"] == "testpmd-io" and r.get(metric)
                        and (r["setup"], r["family"], r["frame_size"]) == g):
                    ax.axhline(r[metric], color="grey", linestyle="--", label="testpmd-io")
            ax.set_xscale("log")
            ax.set_xlabel("FIB size (routes)")
            ax.set_ylabel(ylabel)
            ax.set_title("%s, %s, %d B, uniform" % g)
            ax.set_ylim(bottom=0)
            ax.grid(True, alpha=0.3)
            ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(os.path.join(out, fname), dpi=110)
        plt.close(fig)
    # 2. Every cell, median with min–max.
    if ok:
        fig, ax = plt.subplots(figsize=(max(8, 0.45 * len(ok)), 5))
        labels = [r["key"].replace("pcap/", "") for r in ok]
        ys = [r["mpps"] for r in ok]
        err = [[r["mpps"] - r["mpps_min"] for r in ok], [r["mpps_max"] - r["mpps"] for r in ok]]
        colors = {"testpmd-io": "grey", "l3fwd-lpm": "tab:blue", "l3fwd-fib": "tab:cyan",
                  "rsfwd": "tab:red", "rsfwd-cycles": "tab:pink", "rsfwd-random": "tab:orange"}
        ax.bar(range(len(ok)), ys, yerr=err, capsize=2,
               color=[colors.get(r["forwarder"], "k") for r in ok])
        ax.set_xticks(range(len(ok)))
        ax.set_xticklabels(labels, rotation=75, ha="right", fontsize=7)
        ax.set_ylabel("Mpps")
        ax.grid(True, axis="y", alpha=0.3)
        fig.tight_layout()
        fig.savefig(os.path.join(out, "cells.png"), dpi=110)
        plt.close(fig)
    # 3. Cycles per packet by stage, when rsfwd reported them.
    st = [r for r in ok if r.get("stage_cycles_owned")]
    if st:
        fig, ax = plt.subplots(figsize=(max(6, 0.8 * len(st)), 4.5))
        stages = sorted({k for r in st for k in r["stage_cycles_owned"]})
        bottom = [0.0] * len(st)
        for s in stages:
            v = [r["stage_cycles_owned"].get(s, 0.0) for r in st]
            ax.bar(range(len(st)), v, bottom=bottom, label=s)
            bottom = [b + x for b, x in zip(bottom, v)]
        ax.set_xticks(range(len(st)))
        ax.set_xticklabels([r["key"].replace("pcap/", "") for r in st], rotation=60, ha="right",
                           fontsize=7)
        ax.set_ylabel("TSC cycles / packet x worker CPU share")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(os.path.join(out, "cycles_by_stage.png"), dpi=110)
        plt.close(fig)
    # 4. Churn timeline: sink Mpps every 100 ms through one churning and one paused window of
    # the same rsfwd process (the first pair of each rsfwd-churn cell), churning time shaded.
    ch = [r for r in ok if r.get("churn_timeline")]
    if ch:
        fig, axes = plt.subplots(len(ch), 1, figsize=(9, 2.6 * len(ch)), squeeze=False)
        for ax, r in zip(axes[:, 0], ch):
            tl = r["churn_timeline"]
            xs, ys = [], []
            for i, p in enumerate(tl):
                if i and p[0] - tl[i - 1][0] > 2.5 * CHURN_STEP_S:  # the settle gap: no line
                    xs.append(float("nan"))
                    ys.append(float("nan"))
                xs.append(p[0])
                ys.append(p[1])
            ax.plot(xs, ys, marker=".", color="tab:red", label="sink Mpps (100 ms)")
            for i, p in enumerate(tl):  # shade each churning sample's interval
                if p[2]:
                    start = tl[i - 1][0] if i and tl[i - 1][2] else p[0] - CHURN_STEP_S
                    ax.axvspan(start, p[0], color="tab:orange", alpha=0.2, lw=0)
            kept = r.get("churn_kept")
            ax.set_title("%s: %d changes/s while shaded%s" % (
                r["key"], r.get("churn_rate") or 0,
                "; kept %.1f %% (median of %d pairs)" % (100 * kept, len(r["churn_on_mpps"]))
                if kept else ""), fontsize=9)
            ax.set_ylabel("Mpps")
            ax.set_ylim(bottom=0)
            ax.grid(True, alpha=0.3)
        axes[-1, 0].set_xlabel("seconds (one churning and one paused window, settle gap between)")
        fig.tight_layout()
        fig.savefig(os.path.join(out, "churn_timeline.png"), dpi=110)
        plt.close(fig)


def current_ratios(rows):
    out = {}
    for r in rows:
        for name in RATIOS:
            # memif/virtio are generator-bound and null is pointer passing: never gated
            if r.get(name) is not None and r["forwarder"] != "testpmd-io" and r[
                    "setup"] == "pcap":
                if name.startswith("ratio_l3fwd_lpm") and r["forwarder"] == "l3fwd-lpm":
                    continue
                out["%s:%s" % (r["key"], name.replace("ratio_", ""))] = r[name]
    return out


def write_baseline(rows, path, info, tolerance):
    old = {}
    if os.path.exists(path):
        old = json.load(open(path))
    base = {
        "_comment": "Ratios (forwarder / peer, same run) that scripts/bench.sh --regress gates "
                    "on; keys are setup/forwarder/family/FIB/traffic/frame:peer. Regenerate with "
                    "--update-baseline after a reviewed change.",
        "tolerance": tolerance if tolerance is not None else old.get("tolerance", 0.15),
        "recorded": {"utc": info.get("started_utc"), "command": info.get("command"),
                     "cpu": info.get("cpu"), "mem": info.get("mem")},
        "ratios": dict(sorted({**old.get("ratios", {}), **current_ratios(rows)}.items())),
    }
    with open(path, "w") as f:
        json.dump(base, f, indent=1)
        f.write("\n")


def regress(rows, path, tolerance):
    """(ok, text): ok is False when a ratio is below baseline * (1 - tolerance)."""
    if not os.path.exists(path):
        return True, "regress: no baseline at %s (create one with --update-baseline)\n" % path
    base = json.load(open(path))
    tol = tolerance if tolerance is not None else base.get("tolerance", 0.15)
    cur = current_ratios(rows)
    reps = {r["key"]: r.get("repetitions", 0) for r in rows}
    lines = ["regress: rsfwd ratios may fall at most %.0f %% below the baseline (%s); peer "
             "ratios (l3fwd vs testpmd) and cells with < 3 samples are info, not gated" % (
                 100 * tol, path)]
    ok = True
    for k, want in sorted(base.get("ratios", {}).items()):
        got = cur.get(k)
        if got is None:
            lines.append("  %-14s %-58s baseline %.3f, not measured in this run" % ("skip", k, want))
            continue
        floor = want * (1 - tol)
        # peers' ratios are a harness sanity check; a cell needs >= 3 samples to gate
        n = reps.get(k.split(":")[0], 0)
        gated = k.split("/")[1].startswith("rsfwd") and n >= 3
        if gated:
            verdict = "ok  " if got >= floor else "FAIL"
            ok = ok and got >= floor
        else:
            verdict = ("info" if got >= floor else "info(low)") + ("" if n >= 3 else "(n=%d)" % n)
        lines.append("  %-14s %-58s %.3f vs baseline %.3f (floor %.3f, %+.1f %%)" % (
            verdict, k, got, want, floor, 100 * (got / want - 1)))
    for k in sorted(set(cur) - set(base.get("ratios", {}))):
        lines.append("  %-14s %-58s %.3f (not in baseline)" % ("new", k, cur[k]))
    lines.append("regress: %s" % ("PASS" if ok else "REGRESSION"))
    return ok, "\n".join(lines) + "\n"


def write_docs(path, table, out, section="results"):
    """Replaces the text between <!-- bench:SECTION:begin --> and ...:end --> in path."""
    begin, end = "<!-- bench:%s:begin -->" % section, "<!-- bench:%s:end -->" % section
    text = open(path).read()
    i, j = text.index(begin) + len(begin), text.index(end)
    rel = os.path.relpath(out, os.path.dirname(os.path.dirname(os.path.abspath(path))))
    body = "\n" + table + "\nRaw results: `%s/results.jsonl` (not committed).\n" % rel
    with open(path, "w") as f:
        f.write(text[:i] + body + text[j:])
