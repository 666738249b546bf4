// Tokenize a .ttvm file with the extension's grammar, using the same
// TextMate engine and Oniguruma build as VS Code, and print each line's
// tokens with their scopes:
//   npm install && npm run tokenize -- ../../examples/fib.ttvm
'use strict';

const fs = require('fs');
const vsctm = require('vscode-textmate');
const oniguruma = require('vscode-oniguruma');
const wasm = fs.readFileSync(require.resolve('vscode-oniguruma/release/onig.wasm')).buffer;
const onigLib = oniguruma.loadWASM(wasm).then(() => ({
  createOnigScanner: (p) => new oniguruma.OnigScanner(p),
  createOnigString: (s) => new oniguruma.OnigString(s),
}));
const grammarPath = process.argv[2];
const registry = new vsctm.Registry({
  onigLib,
  loadGrammar: async () => vsctm.parseRawGrammar(fs.readFileSync(grammarPath, 'utf8'), grammarPath),
});
registry.loadGrammar('source.ttvm').then((g) => {
  const lines = fs.readFileSync(process.argv[3], 'utf8').split('\n');
  let stack = vsctm.INITIAL;
  for (const line of lines) {
    const r = g.tokenizeLine(line, stack);
    const toks = r.tokens.map((t) => `${JSON.stringify(line.substring(t.startIndex, t.endIndex))}:${t.scopes.slice(1).join('+') || '-'}`);
    console.log(toks.join('  '));
    stack = r.ruleStack;
  }
});
