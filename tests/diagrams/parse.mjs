// Parses diagrams with the parsers their readers use, and prints what each parser understood.
//
//   node tests/diagrams/parse.mjs < in.json > out.json
//
// in.json:  [{"format": "mermaid" | "dot", "text": "..."}, ...]
// out.json: one result per input, in order:
//   {"error": "the parser's messages"}     when the text does not parse (for DOT: or Graphviz warns)
//   mermaid: {"nodes": [{id, lines, classes}], "edges": [{source, target, stroke, label}],
//             "subgraphs": [{id, title, members}], "classes": {name: [style, ...]}}
//   dot:     {"nodes": [{name, lines, style, tooltip}], "edges": [{source, target, style, label, tooltip}],
//             "clusters": [{name, label, members}]}
// members: the names of the nodes and subgraphs directly inside, not inside a nested one
// "lines" is a label as displayed: entities decoded, split at line breaks.
//
// mermaid parses with its own flowchart grammar (mermaid is what renders ```mermaid blocks on GitHub); it needs
// a DOM only for DOMPurify, which jsdom provides: no browser. Graphviz is the real one, compiled to WebAssembly.
// Install with `npm ci` in this folder (package-lock.json pins every version).
import { readFileSync } from 'node:fs';
import { JSDOM } from 'jsdom';

const { window } = new JSDOM('');
globalThis.window = window;
globalThis.document = window.document;
const { default: mermaid } = await import('mermaid');
const { instance } = await import('@viz-js/viz');

function htmlText(html) {
  const area = window.document.createElement('textarea');
  area.innerHTML = html;
  return area.value;
}

// mermaid keeps `#name;` / `#123;` entities as placeholders until it renders (its decodeEntities)
function mermaidLines(text) {
  const html = text.replace(/\uFB02\u00B0\u00B0/g, '&#').replace(/\uFB02\u00B0/g, '&').replace(/\u00B6\u00DF/g, ';');
  return html.split(/<br\s*\/?>/i).map(htmlText);
}

async function parseMermaid(text) {
  await mermaid.parse(text); // throws the parser's error; also registers the diagram types
  const { db } = await mermaid.mermaidAPI.getDiagramFromText(text);
  return {
    nodes: [...db.getVertices().values()].map((v) => ({ id: v.id, lines: mermaidLines(v.text), classes: v.classes })),
    edges: db.getEdges().map((e) => ({ source: e.start, target: e.end, stroke: e.stroke, label: e.text })),
    subgraphs: db.getSubGraphs().map((s) => ({ id: s.id, title: mermaidLines(s.title).join('\n'), members: s.nodes })),
    classes: Object.fromEntries([...db.getClasses().entries()].map(([name, c]) => [name, c.styles])),
  };
}

// Graphviz's label escapes: \n \l \r end a line (a last one ends the label); \x stands for x
function dotLines(label) {
  const lines = [''];
  for (let i = 0; i < label.length; i++) {
    if (label[i] === '\\' && i + 1 < label.length) {
      const next = label[++i];
      if ('nlr'.includes(next)) lines.push('');
      else lines[lines.length - 1] += next;
    } else {
      lines[lines.length - 1] += label[i];
    }
  }
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function parseDot(viz, text) {
  const result = viz.render(text, { format: 'json0' });
  if (result.status !== 'success' || result.errors.length > 0) { // warnings too: the text should be clean
    throw new Error(result.errors.map((e) => `${e.level}: ${e.message}`).join('; '));
  }
  const graph = JSON.parse(result.output);
  const objects = graph.objects ?? [];
  const name = (gvid) => objects[gvid].name;
  const isCluster = (o) => o.nodes !== undefined || o.subgraphs !== undefined;
  return {
    nodes: objects.filter((o) => !isCluster(o))
      .map((o) => ({ name: o.name, lines: dotLines(o.label === undefined || o.label === '\\N' ? o.name : o.label), style: o.style ?? '', tooltip: o.tooltip ?? '' })),
    edges: (graph.edges ?? []).map((e) => ({
      source: name(e.tail), target: name(e.head), style: e.style ?? '', label: e.label ?? '', tooltip: e.tooltip ?? '',
    })),
    clusters: objects.filter(isCluster).map((o) => {
      // Graphviz lists a cluster's nodes with those of the clusters inside it: keep the direct ones
      const nested = new Set((o.subgraphs ?? []).flatMap((s) => objects[s].nodes ?? []));
      const direct = (o.nodes ?? []).filter((n) => !nested.has(n));
      return { name: o.name, label: dotLines(o.label ?? '').join('\n'), members: [...(o.subgraphs ?? []), ...direct].map(name) };
    }),
  };
}

const viz = await instance();
const results = [];
for (const { format, text } of JSON.parse(readFileSync(0, 'utf8'))) {
  try {
    if (format === 'mermaid') results.push(await parseMermaid(text));
    else if (format === 'dot') results.push(parseDot(viz, text));
    else throw new Error(`unknown format ${format}`);
  } catch (error) {
    results.push({ error: String(error.message ?? error) });
  }
}
process.stdout.write(JSON.stringify(results));
