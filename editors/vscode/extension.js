// The ttvm extension: highlighting comes from syntaxes/ttvm.tmLanguage.json;
// everything else from the language server, `ttvm lsp`, started here.
'use strict';

const vscode = require('vscode');
const { LanguageClient } = require('vscode-languageclient/node');

let client;

function makeClient() {
  const command = vscode.workspace.getConfiguration('ttvm').get('server.path') || 'ttvm';
  const serverOptions = {
    run: { command, args: ['lsp'] },
    debug: { command, args: ['lsp'] },
  };
  const clientOptions = {
    documentSelector: [
      { scheme: 'file', language: 'ttvm' },
      { scheme: 'untitled', language: 'ttvm' },
    ],
  };
  return new LanguageClient('ttvm', 'ttvm language server', serverOptions, clientOptions);
}

async function activate(context) {
  client = makeClient();
  context.subscriptions.push(
    vscode.commands.registerCommand('ttvm.restartServer', async () => {
      if (client) {
        await client.stop();
      }
      client = makeClient();
      await client.start();
    }),
  );
  await client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
