//! The message loop: the handshake, the open documents, and dispatch.
//!
//! Documents are analysed lazily: a change only marks a document stale;
//! when no message is waiting, every stale document is analysed and its
//! diagnostics published (so a burst of changes costs one analysis), and a
//! request about a stale document analyses it first.

use super::analysis::Analysis;
use super::text::{Encoding, LineIndex};
use super::{complete, diagnostics, hover, navigate};
use crossbeam_channel::TryRecvError;
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, Response};
use lsp_types::{
    CompletionOptions, CompletionResponse, DidChangeTextDocumentParams, DidCloseTextDocumentParams,
    DidOpenTextDocumentParams, DocumentSymbolParams, DocumentSymbolResponse, GotoDefinitionParams,
    GotoDefinitionResponse, HoverParams, HoverProviderCapability, InitializeParams,
    InitializeResult, OneOf, PositionEncodingKind, PublishDiagnosticsParams, ReferenceParams,
    ServerCapabilities, ServerInfo, TextDocumentContentChangeEvent, TextDocumentPositionParams,
    TextDocumentSyncCapability, TextDocumentSyncKind, Uri,
};
use serde_json::Value;
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;

struct Document {
    text: String,
    version: i32,
    /// `None` while stale.
    analysis: Option<Rc<Analysis>>,
    /// The analysis of this text panicked (a bug): not retried until the
    /// text changes.
    failed: bool,
}

struct Server<'c> {
    connection: &'c Connection,
    encoding: Encoding,
    documents: HashMap<Uri, Document>,
    shut_down: bool,
}

/// Run the protocol on `connection`: the exit status once the client says
/// `exit` (0 after `shutdown`, else 1), or why the session broke off.
pub fn serve(connection: &Connection) -> Result<i32, String> {
    let Some(encoding) = handshake(connection)? else {
        return Ok(1);
    };
    let mut server = Server {
        connection,
        encoding,
        documents: HashMap::new(),
        shut_down: false,
    };
    loop {
        let msg = match connection.receiver.try_recv() {
            Ok(msg) => msg,
            Err(TryRecvError::Empty) if server.publish_stale()? => continue,
            Err(TryRecvError::Empty) => match connection.receiver.recv() {
                Ok(msg) => msg,
                Err(_) => return server.closed(),
            },
            Err(TryRecvError::Disconnected) => return server.closed(),
        };
        match msg {
            Message::Request(req) => server.request(req)?,
            Message::Notification(n) if n.method == "exit" => {
                return Ok(if server.shut_down { 0 } else { 1 });
            }
            Message::Notification(n) => server.notification(n)?,
            // The server sends no requests, so expects no responses.
            Message::Response(_) => {}
        }
    }
}

fn send(connection: &Connection, msg: impl Into<Message>) -> Result<(), String> {
    connection
        .sender
        .send(msg.into())
        .map_err(|_| "the connection to the client is closed".to_string())
}

/// Wait for `initialize`, answer it and wait for `initialized`. Requests
/// before it are refused as the protocol says; `exit` before it ends the
/// session (`None`).
fn handshake(connection: &Connection) -> Result<Option<Encoding>, String> {
    let closed = || "the client closed the connection before `initialize`".to_string();
    let (id, params) = loop {
        match connection.receiver.recv().map_err(|_| closed())? {
            Message::Request(req) if req.method == "initialize" => break (req.id, req.params),
            Message::Request(req) => send(
                connection,
                Response::new_err(
                    req.id,
                    ErrorCode::ServerNotInitialized as i32,
                    format!("`{}` before `initialize`", req.method),
                ),
            )?,
            Message::Notification(n) if n.method == "exit" => return Ok(None),
            _ => {}
        }
    };
    let params: InitializeParams = match serde_json::from_value(params) {
        Ok(p) => p,
        Err(e) => {
            send(
                connection,
                Response::new_err(id, ErrorCode::InvalidParams as i32, e.to_string()),
            )?;
            return Err(format!("invalid `initialize` parameters: {e}"));
        }
    };
    let utf8 = params
        .capabilities
        .general
        .and_then(|g| g.position_encodings)
        .is_some_and(|e| e.contains(&PositionEncodingKind::UTF8));
    let (encoding, kind) = if utf8 {
        (Encoding::Utf8, PositionEncodingKind::UTF8)
    } else {
        (Encoding::Utf16, PositionEncodingKind::UTF16)
    };
    let result = InitializeResult {
        capabilities: ServerCapabilities {
            position_encoding: Some(kind),
            text_document_sync: Some(TextDocumentSyncCapability::Kind(
                TextDocumentSyncKind::INCREMENTAL,
            )),
            hover_provider: Some(HoverProviderCapability::Simple(true)),
            definition_provider: Some(OneOf::Left(true)),
            references_provider: Some(OneOf::Left(true)),
            document_symbol_provider: Some(OneOf::Left(true)),
            completion_provider: Some(CompletionOptions {
                trigger_characters: Some(vec![" ".into()]),
                ..CompletionOptions::default()
            }),
            ..ServerCapabilities::default()
        },
        server_info: Some(ServerInfo {
            name: "ttvm".into(),
            version: Some(env!("CARGO_PKG_VERSION").into()),
        }),
    };
    send(connection, Response::new_ok(id, result))?;
    Ok(Some(encoding))
}

impl Server<'_> {
    fn closed(&self) -> Result<i32, String> {
        if self.shut_down {
            Ok(0)
        } else {
            Err("the client closed the connection without `shutdown` and `exit`".into())
        }
    }

    /// Analyse and publish every stale document; false if there was none.
    fn publish_stale(&mut self) -> Result<bool, String> {
        let stale: Vec<Uri> = self
            .documents
            .iter()
            .filter(|(_, d)| d.analysis.is_none() && !d.failed)
            .map(|(u, _)| u.clone())
            .collect();
        for uri in &stale {
            self.analysis(uri)?;
        }
        Ok(!stale.is_empty())
    }

    /// The document's analysis, made (and its diagnostics published) if it
    /// is stale.
    fn analysis(&mut self, uri: &Uri) -> Result<Option<Rc<Analysis>>, String> {
        let Some(doc) = self.documents.get_mut(uri) else {
            return Ok(None);
        };
        if let Some(a) = &doc.analysis {
            return Ok(Some(a.clone()));
        }
        if doc.failed {
            return Ok(None);
        }
        let version = doc.version;
        let (text, encoding) = (doc.text.clone(), self.encoding);
        let made = catch_unwind(AssertUnwindSafe(|| {
            let a = Analysis::new(uri.clone(), text, encoding);
            let d = diagnostics::diagnostics(&a);
            (Rc::new(a), d)
        }));
        let (a, diagnostics) = match made {
            Ok(made) => made,
            Err(_) => {
                doc.failed = true;
                let d = lsp_types::Diagnostic {
                    severity: Some(lsp_types::DiagnosticSeverity::ERROR),
                    source: Some("ttvm".into()),
                    message: "ttvm lsp failed to analyse this text (a bug: the panic is on the server's stderr)".into(),
                    ..lsp_types::Diagnostic::default()
                };
                self.publish(uri.clone(), vec![d], Some(version))?;
                return Ok(None);
            }
        };
        doc.analysis = Some(a.clone());
        self.publish(uri.clone(), diagnostics, Some(version))?;
        Ok(Some(a))
    }

    fn publish(
        &self,
        uri: Uri,
        diagnostics: Vec<lsp_types::Diagnostic>,
        version: Option<i32>,
    ) -> Result<(), String> {
        let params = PublishDiagnosticsParams {
            uri,
            diagnostics,
            version,
        };
        send(
            self.connection,
            Notification::new("textDocument/publishDiagnostics".into(), params),
        )
    }

    fn notification(&mut self, n: Notification) -> Result<(), String> {
        match n.method.as_str() {
            "textDocument/didOpen" => {
                let Ok(p) = serde_json::from_value::<DidOpenTextDocumentParams>(n.params) else {
                    return Ok(());
                };
                self.documents.insert(
                    p.text_document.uri,
                    Document {
                        text: p.text_document.text,
                        version: p.text_document.version,
                        analysis: None,
                        failed: false,
                    },
                );
            }
            "textDocument/didChange" => {
                let Ok(p) = serde_json::from_value::<DidChangeTextDocumentParams>(n.params) else {
                    return Ok(());
                };
                if let Some(doc) = self.documents.get_mut(&p.text_document.uri) {
                    for change in p.content_changes {
                        apply_change(&mut doc.text, change, self.encoding);
                    }
                    doc.version = p.text_document.version;
                    doc.analysis = None;
                    doc.failed = false;
                }
            }
            "textDocument/didClose" => {
                let Ok(p) = serde_json::from_value::<DidCloseTextDocumentParams>(n.params) else {
                    return Ok(());
                };
                if self.documents.remove(&p.text_document.uri).is_some() {
                    self.publish(p.text_document.uri, Vec::new(), None)?;
                }
            }
            // A saved file may be imported by another open document.
            "textDocument/didSave" => {
                for doc in self.documents.values_mut() {
                    doc.analysis = None;
                    doc.failed = false;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn request(&mut self, req: Request) -> Result<(), String> {
        let id = req.id.clone();
        if self.shut_down {
            return send(
                self.connection,
                Response::new_err(
                    id,
                    ErrorCode::InvalidRequest as i32,
                    "the server is shutting down".into(),
                ),
            );
        }
        if req.method == "shutdown" {
            self.shut_down = true;
            return send(self.connection, Response::new_ok(id, ()));
        }
        let method = req.method.clone();
        let answer = catch_unwind(AssertUnwindSafe(|| self.answer(req)));
        let response = match answer {
            Ok(Ok(Some(value))) => Response::new_ok(id, value),
            Ok(Ok(None)) => Response::new_err(
                id,
                ErrorCode::MethodNotFound as i32,
                format!("`{method}` is not supported"),
            ),
            Ok(Err(Answer::Params(e))) => Response::new_err(
                id,
                ErrorCode::InvalidParams as i32,
                format!("invalid parameters for `{method}`: {e}"),
            ),
            Ok(Err(Answer::Closed(e))) => return Err(e),
            Err(_) => Response::new_err(
                id,
                ErrorCode::InternalError as i32,
                format!("the server failed on `{method}` (a bug: the panic is on its stderr)"),
            ),
        };
        send(self.connection, response)
    }

    /// The result of a request; `None` for an unsupported method.
    fn answer(&mut self, req: Request) -> Result<Option<Value>, Answer> {
        macro_rules! params {
            ($t:ty) => {
                serde_json::from_value::<$t>(req.params)
                    .map_err(|e| Answer::Params(e.to_string()))?
            };
        }
        let json =
            |v: Result<Value, serde_json::Error>| v.map_err(|e| Answer::Params(e.to_string()));
        Ok(Some(match req.method.as_str() {
            "textDocument/hover" => {
                let p = params!(HoverParams);
                let pos = p.text_document_position_params;
                let r = self.at(&pos)?.and_then(|(a, at)| hover::hover(&a, at));
                json(serde_json::to_value(r))?
            }
            "textDocument/definition" => {
                let p = params!(GotoDefinitionParams);
                let r = self
                    .at(&p.text_document_position_params)?
                    .map(|(a, at)| GotoDefinitionResponse::Array(navigate::definition(&a, at)));
                json(serde_json::to_value(r))?
            }
            "textDocument/references" => {
                let p = params!(ReferenceParams);
                let with = p.context.include_declaration;
                let r = self
                    .at(&p.text_document_position)?
                    .map(|(a, at)| navigate::references(&a, at, with));
                json(serde_json::to_value(r))?
            }
            "textDocument/completion" => {
                let p = params!(lsp_types::CompletionParams);
                let r = self
                    .at(&p.text_document_position)?
                    .map(|(a, at)| CompletionResponse::Array(complete::completion(&a, at)));
                json(serde_json::to_value(r))?
            }
            "textDocument/documentSymbol" => {
                let p = params!(DocumentSymbolParams);
                let r = self
                    .analysis(&p.text_document.uri)
                    .map_err(Answer::Closed)?
                    .map(|a| DocumentSymbolResponse::Nested(navigate::symbols(&a)));
                json(serde_json::to_value(r))?
            }
            _ => return Ok(None),
        }))
    }

    /// The analysis of a position's document and the position's byte offset.
    fn at(
        &mut self,
        p: &TextDocumentPositionParams,
    ) -> Result<Option<(Rc<Analysis>, usize)>, Answer> {
        let a = self
            .analysis(&p.text_document.uri)
            .map_err(Answer::Closed)?;
        Ok(a.map(|a| {
            let at = a.offset(p.position);
            (a, at)
        }))
    }
}

enum Answer {
    Params(String),
    Closed(String),
}

/// Apply one `didChange` event: a whole new text, or a range replaced.
fn apply_change(text: &mut String, change: TextDocumentContentChangeEvent, encoding: Encoding) {
    match change.range {
        None => *text = change.text,
        Some(range) => {
            let index = LineIndex::new(text, encoding);
            let start = index.offset(text, range.start);
            let end = index.offset(text, range.end).max(start);
            text.replace_range(start..end, &change.text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lsp_types::{Position, Range};

    #[test]
    fn changes_apply_whole_or_by_range() {
        let mut text = "PUSH_INT 1\nPRÏNT\n".to_string();
        let edit = |range: Option<Range>, t: &str| TextDocumentContentChangeEvent {
            range,
            range_length: None,
            text: t.into(),
        };
        // Replace `Ï` (one UTF-16 unit) with `I`.
        let r = Range::new(Position::new(1, 2), Position::new(1, 3));
        apply_change(&mut text, edit(Some(r), "I"), Encoding::Utf16);
        assert_eq!(text, "PUSH_INT 1\nPRINT\n");
        let r = Range::new(Position::new(0, 9), Position::new(0, 10));
        apply_change(&mut text, edit(Some(r), "42"), Encoding::Utf16);
        assert_eq!(text, "PUSH_INT 42\nPRINT\n");
        apply_change(&mut text, edit(None, "HALT\n"), Encoding::Utf16);
        assert_eq!(text, "HALT\n");
    }
}
