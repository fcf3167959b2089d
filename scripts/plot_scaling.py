#!/usr/bin/env python3
"""Draws scaling_bench's Google Benchmark JSON as an SVG with two panels:
MB/s and messages/s against message size, and messages/s against rule count (log axes).

usage: plot_scaling.py scaling.json out.svg
No plotting library needed: the SVG is written by hand."""
import json
import math
import sys


def series(bench, prefix):
    pts = {}
    for b in bench["benchmarks"]:
        name = b.get("run_name", b["name"])
        if not name.startswith(prefix) or b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        x = int(name.split("/")[1])
        pts[x] = b  # median aggregate (if present) overwrites plain runs
    return sorted(pts.items())


def panel(x0, y0, w, h, title, xs, ys_list, xlabel, ylabel, labels, colors, xfmt):
    out = []
    out.append(f'<text x="{x0 + w / 2}" y="{y0 - 12}" text-anchor="middle" font-size="15" font-weight="bold">{title}</text>')
    out.append(f'<rect x="{x0}" y="{y0}" width="{w}" height="{h}" fill="none" stroke="#333"/>')
    lx = [math.log10(x) for x in xs]
    xmin, xmax = min(lx), max(lx)
    allv = [v for ys in ys_list for v in ys if v > 0]
    ymin, ymax = math.log10(min(allv)) - 0.1, math.log10(max(allv)) + 0.1
    sx = lambda v: x0 + (math.log10(v) - xmin) / ((xmax - xmin) or 1) * w
    sy = lambda v: y0 + h - (math.log10(v) - ymin) / ((ymax - ymin) or 1) * h
    for x in xs:
        out.append(f'<line x1="{sx(x):.1f}" y1="{y0 + h}" x2="{sx(x):.1f}" y2="{y0 + h + 5}" stroke="#333"/>')
        out.append(f'<text x="{sx(x):.1f}" y="{y0 + h + 18}" text-anchor="middle" font-size="11">{xfmt(x)}</text>')
    e = math.floor(ymin)
    while e <= ymax:
        for m in (1, 2, 5):
            v = m * 10 ** e
            if ymin <= math.log10(v) <= ymax:
                out.append(f'<line x1="{x0}" y1="{sy(v):.1f}" x2="{x0 + w}" y2="{sy(v):.1f}" stroke="#ddd"/>')
                out.append(f'<text x="{x0 - 6}" y="{sy(v) + 4:.1f}" text-anchor="end" font-size="11">{v:,.0f}</text>')
        e += 1
    for ys, label, color, i in zip(ys_list, labels, colors, range(len(labels))):
        path = " ".join(f"{'M' if k == 0 else 'L'}{sx(x):.1f},{sy(y):.1f}" for k, (x, y) in enumerate(zip(xs, ys)))
        out.append(f'<path d="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        for x, y in zip(xs, ys):
            out.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3" fill="{color}"/>')
        out.append(f'<text x="{x0 + w - 10}" y="{y0 + 18 + 16 * i}" text-anchor="end" font-size="12" fill="{color}">{label}</text>')
    out.append(f'<text x="{x0 + w / 2}" y="{y0 + h + 36}" text-anchor="middle" font-size="12">{xlabel}</text>')
    out.append(f'<text x="{x0 - 58}" y="{y0 + h / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 {x0 - 58} {y0 + h / 2})">{ylabel}</text>')
    return out


def main():
    data = json.load(open(sys.argv[1]))
    size = series(data, "BM_MessageSize/")
    rules = series(data, "BM_RuleCount/")
    kb = lambda x: f"{x // 1024} KB" if x < 1 << 20 else f"{x >> 20} MB"
    svg = ['<svg xmlns="http://www.w3.org/2000/svg" width="1000" height="420" font-family="sans-serif">',
           '<rect width="100%" height="100%" fill="white"/>']
    if size:
        xs = [x for x, _ in size]
        svg += panel(90, 50, 360, 300, "Cost vs message size (1,000 rules)", xs,
                     [[b["items_per_second"] for _, b in size], [b["bytes_per_second"] / 1e6 for _, b in size]],
                     "message size", "per second (log)", ["messages/s", "MB/s"], ["#1f77b4", "#d62728"], kb)
    if rules:
        xs = [x for x, _ in rules]
        svg += panel(590, 50, 360, 300, "Cost vs rule count (4 KB messages)", xs,
                     [[b["items_per_second"] for _, b in rules]],
                     "rules (generated)", "messages/s (log)", ["messages/s"], ["#1f77b4"], lambda x: f"{x:,}")
    c = data.get("context", {})
    svg.append(f'<text x="10" y="410" font-size="10" fill="#555">veto scaling_bench, 1 thread, {c.get("num_cpus", "?")} cpus, {c.get("date", "")}</text>')
    svg.append("</svg>")
    open(sys.argv[2], "w").write("\n".join(svg))


if __name__ == "__main__":
    main()
