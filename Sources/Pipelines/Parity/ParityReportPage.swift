/// The HTML report's style sheet and script, kept apart from the markup so their hashes (the
/// page's Content-Security-Policy) are of exactly these strings. The script only filters rows
/// already in the page: it reads and writes the URL fragment and touches nothing else.
enum ParityReportPage {
    static let style = """
        body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem;color:#1b1f24}
        h1{font-size:1.6rem;margin:0 0 .5rem}h2{font-size:1.2rem;border-bottom:1px solid #ccd;margin-top:2rem}
        table{border-collapse:collapse;width:100%;margin:.5rem 0}
        th,td{border:1px solid #d5d8de;padding:.25rem .4rem;vertical-align:top;text-align:left}
        th{background:#eef0f4;position:sticky;top:0}dl{display:grid;grid-template-columns:max-content auto;gap:.1rem 1rem}
        dt{font-weight:600}code,pre{font:12px/1.4 ui-monospace,Menlo,Consolas,monospace}
        pre{background:#f5f6f8;padding:.5rem;white-space:pre-wrap;margin:.25rem 0}
        .verdict{border:2px solid;border-radius:6px;padding:.75rem 1rem}.verdict.pass{border-color:#2d7a3e;background:#f1faf3}
        .verdict.fail{border-color:#a40e0e;background:#fff5f5}.word{font-size:2rem;font-weight:700;margin:0}
        .verdict.pass .word{color:#2d7a3e}.verdict.fail .word{color:#a40e0e}.summary{font-weight:600}
        .tiles{display:flex;flex-wrap:wrap;gap:.5rem;list-style:none;padding:0}
        .tile{border:1px solid #d5d8de;border-radius:4px;padding:.25rem .6rem;background:#fff}.tile b{font-size:1.2rem}
        .tile.fail.nonzero,.tile.error.nonzero,.tile.critical.nonzero,.tile.high.nonzero,.tile.expired.nonzero{border-color:#a40e0e;color:#a40e0e}
        .failing li{margin:.2rem 0}.facts{margin-top:1rem}
        .filters{display:flex;flex-wrap:wrap;gap:.75rem;align-items:end;margin:.5rem 0;position:sticky;top:0;background:#fff;padding:.4rem 0}
        .filters label{display:flex;flex-direction:column;font-weight:600;font-size:.85rem}
        .filters select,.filters input{font:inherit;font-weight:400;padding:.15rem}
        tr.fail td,tr.error td{background:#fde2e1}tr.exception td{background:#fff4d6}tr.not-tested td{background:#eef0f4}
        td.v{font-weight:600}tr.critical td:first-child,tr.high td:first-child{color:#a40e0e;font-weight:600}
        details summary{cursor:pointer}details.evidence dl{margin:.3rem 0}
        @media print{body{margin:0;font-size:10px}.filters{display:none}h2{page-break-after:avoid}tr{page-break-inside:avoid}}
        """

    static let script = """
        (() => {
          "use strict";
          const keys = ["role", "relation", "command", "verdict", "q"];
          const rows = Array.from(document.querySelectorAll("#cells tbody tr"));
          const field = (k) => document.getElementById("f-" + k);
          function read() {
            const p = new URLSearchParams(location.hash.slice(1));
            for (const k of keys) {
              const f = field(k), v = p.get(k) || "";
              f.value = f.tagName === "SELECT" && !Array.from(f.options).some((o) => o.value === v) ? "" : v;
            }
          }
          function apply() {
            const want = {};
            for (const k of keys) want[k] = field(k).value.trim();
            const q = want.q.toLowerCase();
            const shown = [];
            for (const r of rows) {
              const ok = ["role", "relation", "command", "verdict"].every((k) => !want[k] || r.dataset[k] === want[k])
                && (!q || r.textContent.toLowerCase().includes(q));
              r.hidden = !ok;
              if (ok) shown.push(r);
            }
            document.getElementById("shown").textContent = String(shown.length);
            if (shown.length === 1) shown[0].querySelector("details").open = true;
          }
          function write() {
            const p = new URLSearchParams();
            for (const k of keys) { const v = field(k).value.trim(); if (v) p.set(k, v); }
            history.replaceState(null, "", "#" + p.toString());
            apply();
          }
          document.getElementById("filters").addEventListener("input", write);
          document.getElementById("filters").addEventListener("submit", (e) => e.preventDefault());
          window.addEventListener("hashchange", () => { read(); apply(); document.getElementById("cells").scrollIntoView(); });
          read();
          apply();
        })();
        """
}
