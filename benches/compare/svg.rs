//! The SVG bar chart of the ratios.

use crate::report::{fmt_ratio, Row};
use std::fmt::Write as _;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// One kind of bar: its label and the ratio it shows.
type Bar = (&'static str, fn(&Row) -> Option<f64>);

/// The bars of each row: ttvm against Erlang, and, when any row has a Lua
/// time, against Lua 5.4 and LuaJIT.
fn bars(rows: &[Row]) -> Vec<Bar> {
    let mut v: Vec<Bar> = vec![("interp/erl", Row::ratio), ("jit/erl", Row::j_ratio)];
    if rows.iter().any(|r| r.lua_ratio().is_some()) {
        v.push(("interp/lua", Row::lua_ratio));
    }
    if rows.iter().any(|r| r.luajit_ratio().is_some()) {
        v.push(("jit/luajit", Row::luajit_ratio));
    }
    v
}

/// Horizontal bar chart of the ratios on a log2 axis, with a line at 1.0.
/// One row per case (workload × scheduler count), rows of one workload
/// together; each row has a bar per comparison (`bars`): the interpreter
/// light, `--jit` dark; green when ttvm is faster, red when the other
/// system is, blue-grey shades for the Lua comparisons.
pub fn svg(rows: &[Row], mode: &str, erl_note: Option<&str>) -> String {
    let kinds = bars(rows);
    let left = 170.0;
    let width = 560.0;
    let bar_h = 11.0 * kinds.len() as f64;
    let gap = 6.0;
    // Extra space between workloads.
    let group_gap = 10.0;
    let top = if erl_note.is_some() { 90.0 } else { 76.0 };
    // The top of each row; a new workload starts a new group.
    let mut ys = Vec::with_capacity(rows.len());
    let mut y = top;
    for (i, r) in rows.iter().enumerate() {
        if i > 0 && rows[i - 1].name != r.name {
            y += group_gap;
        }
        ys.push(y);
        y += bar_h + gap;
    }
    let axis_y = y;
    let h = axis_y + 50.0;
    let total_w = left + width + 100.0;
    let ratios: Vec<f64> = rows
        .iter()
        .flat_map(|r| kinds.iter().map(move |(_, f)| f(r)))
        .flatten()
        .filter(|x| *x > 0.0)
        .collect();
    let lo = ratios
        .iter()
        .cloned()
        .fold(1.0f64, f64::min)
        .log2()
        .floor()
        .min(-1.0);
    let hi = ratios
        .iter()
        .cloned()
        .fold(1.0f64, f64::max)
        .log2()
        .ceil()
        .max(1.0);
    let x = |r: f64| left + (r.log2() - lo) / (hi - lo) * width;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{total_w}" height="{h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="22" font-size="15" text-anchor="middle">ttvm time / Erlang or Lua time ({}; log scale, &lt;1 = ttvm faster)</text>"#,
        total_w / 2.0,
        esc(mode)
    );
    let _ = writeln!(
        s,
        r##"<text x="{}" y="42" text-anchor="middle" fill="#444">light: interpreter, dark: --jit; vs Erlang: green ttvm faster, red slower; vs Lua: blue faster, orange slower; S = schedulers</text>"##,
        total_w / 2.0
    );
    if let Some(n) = erl_note {
        let _ = writeln!(
            s,
            r##"<text x="{}" y="58" text-anchor="middle" fill="#c9302c">{} — no Erlang ratios</text>"##,
            total_w / 2.0,
            esc(n)
        );
    }
    // Grid and axis labels at powers of two.
    let step = ((hi - lo) / 10.0).ceil().max(1.0) as i32;
    let mut e = (lo as i32).div_euclid(step) * step;
    while e <= hi as i32 {
        let r = 2f64.powi(e);
        let gx = x(r);
        if gx < left - 0.5 {
            e += step;
            continue;
        }
        let label = if e >= 0 {
            format!("{}", 1u64 << e)
        } else {
            format!("1/{}", 1u64 << -e)
        };
        let _ = writeln!(
            s,
            r##"<line x1="{gx:.1}" y1="{top}" x2="{gx:.1}" y2="{axis_y}" stroke="#ddd"/><text x="{gx:.1}" y="{:.1}" text-anchor="middle">{label}</text>"##,
            axis_y + 16.0
        );
        e += step;
    }
    let x1 = x(1.0);
    for (i, r) in rows.iter().enumerate() {
        let y = ys[i];
        if i == 0 || rows[i - 1].name != r.name {
            let _ = writeln!(
                s,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
                left - 40.0,
                y + bar_h * 0.7,
                esc(r.name)
            );
        }
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="#666">S{}</text>"##,
            left - 8.0,
            y + bar_h * 0.7,
            r.sched
        );
        // One bar per kind, top to bottom.
        let n = kinds.len() as f64;
        for (k, (name, of)) in kinds.iter().enumerate() {
            let ratio = of(r);
            let yb = y + k as f64 * bar_h / n;
            let hb = bar_h / n - 1.0;
            let interp = name.starts_with("interp");
            let vs_lua = name.contains("lua");
            match ratio {
                Some(v) if v > 0.0 => {
                    let xv = x(v);
                    let (a, b) = if xv >= x1 { (x1, xv) } else { (xv, x1) };
                    let color = match (vs_lua, v > 1.0, interp) {
                        (false, true, true) => "#e8908d",
                        (false, true, false) => "#c9302c",
                        (false, false, true) => "#92d292",
                        (false, false, false) => "#3d8b3d",
                        (true, true, true) => "#f0b27a",
                        (true, true, false) => "#d35400",
                        (true, false, true) => "#9dc3e6",
                        (true, false, false) => "#2e6da4",
                    };
                    let _ = writeln!(
                        s,
                        r#"<rect x="{a:.1}" y="{yb:.1}" width="{:.1}" height="{hb}" fill="{color}"/>"#,
                        (b - a).max(1.0)
                    );
                    let _ = writeln!(
                        s,
                        r#"<text x="{:.1}" y="{:.1}" font-size="10">{}× {}</text>"#,
                        b.max(x1) + 4.0,
                        yb + hb * 0.85,
                        fmt_ratio(v),
                        name
                    );
                }
                _ => {
                    let _ = writeln!(
                        s,
                        r##"<text x="{:.1}" y="{:.1}" fill="#888" font-size="10">n/a</text>"##,
                        x1 + 4.0,
                        yb + hb * 0.85
                    );
                }
            }
        }
    }
    let _ = writeln!(
        s,
        r#"<line x1="{x1:.1}" y1="{:.1}" x2="{x1:.1}" y2="{axis_y}" stroke="black" stroke-width="2"/>"#,
        top - 6.0
    );
    let _ = writeln!(
        s,
        r#"<text x="{x1:.1}" y="{:.1}" text-anchor="middle">1.0</text>"#,
        top - 10.0
    );
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">ratio (ttvm --stats time / Erlang or Lua self-timed; start-up: wall / wall)</text>"#,
        left + width / 2.0,
        axis_y + 36.0
    );
    s.push_str("</svg>\n");
    s
}
