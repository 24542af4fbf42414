"""The style sheet and the table script every site page inlines (no framework, nothing fetched).

The script makes every ``table.lb`` sortable (click a header: ascending, again: descending; numbers by their
``data-v`` value, or ``data-test``/``data-val`` for scores, which follow the split toggle; missing values last),
filterable (a ``.controls[data-for=TABLE]`` box: ``family`` and ``dataset`` selects match the row's
``data-family``/``data-dataset``, the ``component`` box is a substring of its ``data-components``), and the
``split`` radios switch the shown scores between test and validation (the page's ``show-val`` class)."""

from __future__ import annotations

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1500px;padding:0 1.2em 3em;color:#1f2328}
h1{font-size:1.6em;margin:.8em 0 .3em}h2{font-size:1.25em;margin:1.6em 0 .4em;border-bottom:1px solid #d0d7de}
a{color:#0969da}code{background:#f6f8fa;padding:0 .25em;border-radius:3px}
.prov{display:grid;grid-template-columns:max-content 1fr;gap:.15em 1em;margin:.6em 0}.prov dt{font-weight:600}.prov dd{margin:0}
.controls{display:flex;flex-wrap:wrap;gap:.8em;align-items:center;margin:.6em 0;padding:.5em .7em;background:#f6f8fa;border-radius:6px}
.scroll{overflow-x:auto}
table.lb{border-collapse:collapse;font-size:13px;white-space:nowrap}
table.lb th,table.lb td{border:1px solid #d0d7de;padding:.25em .5em;text-align:left}
table.lb th{background:#f6f8fa;cursor:pointer;user-select:none;position:sticky;top:0}
table.lb th[aria-sort=ascending]::after{content:" \\25B2"}table.lb th[aria-sort=descending]::after{content:" \\25BC"}
table.lb td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.top-tier td{background:#e6f4ea}
.badge{display:inline-block;padding:0 .45em;margin-left:.3em;border-radius:9px;font-size:11px;font-weight:600;color:#fff;background:#6e7781}
.v-better{background:#1a7f37}.v-worse{background:#cf222e}.v-equivalent{background:#0969da}.v-inconclusive{background:#9a6700}
.s-val{display:none}.show-val .s-val{display:inline}.show-val .s-test{display:none}
.note{color:#57606a;font-size:12.5px;max-width:70em}.count{color:#57606a}
.plot{margin:1em 0;min-height:300px}
"""

JS = r"""
(function(){
function key(td){
  var split=document.body.classList.contains('show-val')?'val':'test';
  var v=td.getAttribute('data-'+split);if(v===null)v=td.getAttribute('data-v');
  if(v===null){v=td.textContent.trim();return v===''||v==='\u2014'?null:v.toLowerCase();}
  if(v==='')return null;var n=parseFloat(v);return isNaN(n)?v.toLowerCase():n;}
function sortBy(th){
  var table=th.closest('table'),body=table.tBodies[0],i=Array.prototype.indexOf.call(th.parentNode.children,th);
  var asc=th.getAttribute('aria-sort')!=='ascending';
  table.querySelectorAll('th').forEach(function(h){h.removeAttribute('aria-sort');});
  th.setAttribute('aria-sort',asc?'ascending':'descending');
  var rows=Array.prototype.slice.call(body.rows);
  rows.sort(function(x,y){var a=key(x.cells[i]),b=key(y.cells[i]);
    if(a===null||b===null)return (a===null)-(b===null);
    if(typeof a!==typeof b)return typeof a==='number'?-1:1;
    return (a<b?-1:a>b?1:0)*(asc?1:-1);});
  rows.forEach(function(r){body.appendChild(r);});}
function filter(box){
  var table=document.getElementById(box.getAttribute('data-for')),f={},shown=0;
  box.querySelectorAll('[data-filter]').forEach(function(e){f[e.getAttribute('data-filter')]=e.value.trim().toLowerCase();});
  Array.prototype.forEach.call(table.tBodies[0].rows,function(r){
    var ok=(!f.family||r.getAttribute('data-family')===f.family)&&(!f.dataset||r.getAttribute('data-dataset').toLowerCase()===f.dataset)
      &&(!f.component||(r.getAttribute('data-components')||'').indexOf(f.component)>=0);
    r.hidden=!ok;if(ok)shown++;});
  var c=box.querySelector('.count');if(c)c.textContent=shown+' of '+table.tBodies[0].rows.length+' rows';}
document.querySelectorAll('table.lb th').forEach(function(th){th.addEventListener('click',function(){sortBy(th);});});
document.querySelectorAll('.controls[data-for]').forEach(function(box){
  box.querySelectorAll('[data-filter]').forEach(function(e){['input','change'].forEach(function(t){
    e.addEventListener(t,function(){filter(box);});});});
  filter(box);});
document.querySelectorAll('input[name=split]').forEach(function(r){r.addEventListener('change',function(){
  document.body.classList.toggle('show-val',r.value==='val'&&r.checked);});});
})();
"""
