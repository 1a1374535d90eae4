// Validates an AsyncAPI document with the official parser (@asyncapi/parser, the one AsyncAPI
// Studio and the CLI use): the 3.0 schema, references, and the spec's own rules.
// Usage: node tests/asyncapi/validate.mjs FILE   (exit 1 on an error; warnings are printed)
import { readFile } from "node:fs/promises";
import { Parser, DiagnosticSeverity } from "@asyncapi/parser";

const file = process.argv[2];
if (!file) {
  console.error("usage: node validate.mjs ASYNCAPI_FILE");
  process.exit(2);
}
const text = await readFile(file, "utf8");
const { document, diagnostics } = await new Parser().parse(text, { source: file });
const names = Object.fromEntries(Object.entries(DiagnosticSeverity).map(([k, v]) => [v, k]));
for (const d of diagnostics) {
  const where = d.path.length ? d.path.join(".") : "(document)";
  console.log(`${names[d.severity] ?? d.severity}: ${d.code}: ${d.message} at ${where}`);
}
const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error);
if (!document || errors.length) {
  console.error(`${file}: not a valid AsyncAPI document (${errors.length} errors)`);
  process.exit(1);
}
console.log(`${file}: valid AsyncAPI ${document.version()}, ` +
  `${document.channels().length} channels, ${document.operations().length} operations`);
