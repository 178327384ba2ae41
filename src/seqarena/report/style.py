"""The report's stylesheet, shared by the report page and the data recommendation's own page."""

CSS = """
:root { --fg: #1d1f21; --muted: #5f6368; --line: #dadce0; --bg: #ffffff; --soft: #f6f8fa; --accent: #1a56a8; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: var(--fg); background: var(--bg); }
header { padding: 24px 32px 8px; border-bottom: 1px solid var(--line); background: var(--soft); }
header h1 { margin: 0 0 4px; font-size: 24px; }
.meta { color: var(--muted); margin: 4px 0 12px; }
nav a { margin-right: 14px; color: var(--accent); text-decoration: none; font-weight: 600; }
main { padding: 8px 32px 48px; max-width: 1200px; }
h2 { margin-top: 36px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
h3 { margin: 24px 0 8px; }
table { border-collapse: collapse; margin: 8px 0 4px; font-size: 13.5px; }
th, td { border: 1px solid var(--line); padding: 5px 9px; text-align: left; vertical-align: top; }
th { background: var(--soft); }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.note { color: var(--muted); font-size: 13px; margin: 4px 0 16px; max-width: 1100px; }
.badge { display: inline-block; padding: 1px 9px; border-radius: 10px; font-weight: 700; font-size: 12.5px;
         white-space: nowrap; }
figure.fig { margin: 18px 0 30px; }
figure.fig img { max-width: 100%; height: auto; border: 1px solid var(--line); }
figure.fig.missing img { border-style: dashed; }
figcaption { color: var(--fg); font-size: 13.5px; max-width: 1000px; margin-top: 6px; }
figcaption .settings, figcaption .cmd { display: block; color: var(--muted); }
code { background: var(--soft); padding: 0 4px; border-radius: 3px; font-size: 12.5px; }
blockquote { margin: 6px 0; padding: 4px 12px; border-left: 4px solid var(--line); color: #3c4043; }
article.evidence { border: 1px solid var(--line); border-radius: 6px; padding: 4px 16px 10px; margin: 14px 0; }
article.evidence:target { border-color: var(--accent); box-shadow: 0 0 0 2px #c6dafc; }
dl.facts { display: grid; grid-template-columns: max-content auto; gap: 2px 14px; margin: 8px 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
ul.caveats { margin: 4px 0; color: #7a4b00; }
.kind { color: var(--muted); font-weight: 400; font-size: 14px; }
.rec { border-left: 4px solid var(--accent); padding: 2px 14px; margin: 10px 0; background: var(--soft); }
"""
