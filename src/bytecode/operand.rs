//! Operand shapes: how each kind of operand is parsed from source text and
//! shown by the disassembler. The op table names one shape per opcode.

use std::ops::Range;
use std::sync::Arc;
use ttvm_runtime::{Atom, FuncProto};

/// The operand shapes, as the language reference describes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    None,
    Int,
    Float,
    Text,
    Bool,
    Var,
    Name,
    Target,
    Callee,
    Count,
    OptInt,
    OptRef,
    OptName,
    OptField,
    ModPath,
    Owner,
}

impl Shape {
    /// How the operand is written, for the language reference.
    pub fn syntax(self) -> &'static str {
        match self {
            Shape::None => "",
            Shape::Int => "n",
            Shape::Float => "f",
            Shape::Text => "s",
            Shape::Bool => "b",
            Shape::Var => "x",
            Shape::Name => "f",
            Shape::Target => "t",
            Shape::Callee => "t p1 … pn",
            Shape::Count => "n",
            Shape::OptInt => "[pid]",
            Shape::OptRef => "[ref]",
            Shape::OptName => "[name]",
            Shape::OptField => "[key]",
            Shape::ModPath => "path",
            Shape::Owner => "",
        }
    }
}

/// An error in one operand: where (byte range in the line) and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperandError {
    pub span: Range<usize>,
    pub message: String,
    pub help: Option<String>,
}

impl OperandError {
    pub fn new(span: Range<usize>, message: impl Into<String>) -> Self {
        OperandError {
            span,
            message: message.into(),
            help: None,
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// One lexical operand.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Token {
    /// A bare word (no spaces).
    Bare(String),
    /// A string literal, escapes decoded.
    Quoted(String),
}

/// A reference to a jump or call target, still to be resolved to an index.
#[derive(Clone, Debug)]
pub struct TargetRef {
    pub span: Range<usize>,
    pub text: String,
}

/// Walks the operands of one line.
pub struct OperandCursor<'a> {
    line: &'a str,
    pos: usize,
    opcode: &'static str,
    /// The target named by this line, if any (filled by target shapes).
    pub target: Option<TargetRef>,
    /// The path named by an IMPORT on this line.
    pub import: Option<(String, Range<usize>)>,
}

impl<'a> OperandCursor<'a> {
    /// `line` is the whole source line with its comment removed; `pos` is
    /// where the operands start (just after the mnemonic).
    pub fn new(line: &'a str, pos: usize, opcode: &'static str) -> Self {
        OperandCursor {
            line,
            pos,
            opcode,
            target: None,
            import: None,
        }
    }

    fn skip_blanks(&mut self) {
        let rest = &self.line[self.pos..];
        self.pos += rest.len() - rest.trim_start_matches([' ', '\t']).len();
    }

    /// True when only blanks remain.
    pub fn at_end(&mut self) -> bool {
        self.skip_blanks();
        self.pos >= self.line.len()
    }

    /// The span of whatever remains (for "unexpected operand" errors).
    pub fn rest_span(&mut self) -> Range<usize> {
        self.skip_blanks();
        self.pos..self.line.trim_end().len().max(self.pos)
    }

    /// The next operand, or `None` at the end of the line.
    pub fn next_token(&mut self) -> Result<Option<(Token, Range<usize>)>, OperandError> {
        self.skip_blanks();
        let start = self.pos;
        let rest = &self.line[start..];
        if rest.is_empty() {
            return Ok(None);
        }
        if rest.starts_with('"') {
            let (text, len) =
                super::escape::parse_string_literal(rest).map_err(|(off, len, msg)| {
                    OperandError::new(start + off..start + off + len, msg)
                })?;
            self.pos = start + len;
            // A literal must be followed by a blank or the end of the line.
            if let Some(c) = self.line[self.pos..].chars().next() {
                if c != ' ' && c != '\t' {
                    return Err(OperandError::new(
                        self.pos..self.pos + c.len_utf8(),
                        "expected a space after the string literal",
                    ));
                }
            }
            return Ok(Some((Token::Quoted(text), start..self.pos)));
        }
        let len = rest.find([' ', '\t']).unwrap_or(rest.len());
        self.pos = start + len;
        Ok(Some((
            Token::Bare(rest[..len].to_string()),
            start..self.pos,
        )))
    }

    /// The next operand, which must be there.
    pub fn expect(&mut self, what: &str) -> Result<(Token, Range<usize>), OperandError> {
        match self.next_token()? {
            Some(t) => Ok(t),
            None => {
                let at = self.line.trim_end().len();
                Err(OperandError::new(
                    at..at + 1,
                    format!("missing operand: {} needs {what}", self.opcode),
                ))
            }
        }
    }

    /// The unquoted remainder of the line, trimmed (PUSH_STR compatibility).
    pub fn rest_of_line(&mut self) -> (String, Range<usize>) {
        self.skip_blanks();
        let start = self.pos;
        let text = self.line[start..].trim_end().to_string();
        self.pos = self.line.len();
        let end = start + text.len();
        (text, start..end)
    }

    pub fn opcode(&self) -> &'static str {
        self.opcode
    }
}

/// Access to names while showing operands (labels for targets).
pub trait NameView {
    /// The label at instruction `index`, if there is one.
    fn label_at(&self, index: u32) -> Option<&str>;
}

/// An operand shape: parse it from a line, show it again.
pub trait Operand: Sized {
    const SHAPE: Shape;
    fn parse(cursor: &mut OperandCursor<'_>) -> Result<Self, OperandError>;
    fn text(&self, names: &dyn NameView) -> String;
    /// The label, for the shape that is one ([`Target`]).
    fn as_target(&self) -> Option<&Target> {
        None
    }
    fn as_target_mut(&mut self) -> Option<&mut Target> {
        None
    }
    /// The callee, for the shape that is one ([`Callee`]).
    fn as_callee(&self) -> Option<&Callee> {
        None
    }
    fn as_callee_mut(&mut self) -> Option<&mut Callee> {
        None
    }
    /// The variable, for the shape that is one ([`Var`]).
    fn as_var_mut(&mut self) -> Option<&mut Var> {
        None
    }
}

/// An operand that says how many values an instruction pops (the op
/// table's `(operand)` pops): a CALL's parameters, MAKE_LIST's count, an
/// optional literal that is popped when absent.
pub trait StackOperand {
    fn on_stack(&self) -> u32;
}

impl StackOperand for Callee {
    fn on_stack(&self) -> u32 {
        self.params.len() as u32
    }
}

impl StackOperand for Count {
    fn on_stack(&self) -> u32 {
        self.0
    }
}

impl StackOperand for OptInt {
    fn on_stack(&self) -> u32 {
        self.0.is_none() as u32
    }
}

impl StackOperand for OptName {
    fn on_stack(&self) -> u32 {
        self.0.is_none() as u32
    }
}

impl StackOperand for OptRef {
    fn on_stack(&self) -> u32 {
        self.0.is_none() as u32
    }
}

/// No operand.
#[derive(Clone, Copy, Debug, Default)]
pub struct Nil;

impl Operand for Nil {
    const SHAPE: Shape = Shape::None;
    fn parse(_: &mut OperandCursor<'_>) -> Result<Self, OperandError> {
        Ok(Nil)
    }
    fn text(&self, _: &dyn NameView) -> String {
        String::new()
    }
}

fn bare(token: Token, span: &Range<usize>, what: &str) -> Result<String, OperandError> {
    match token {
        Token::Bare(s) => Ok(s),
        Token::Quoted(_) => Err(OperandError::new(
            span.clone(),
            format!("expected {what}, found a string literal"),
        )),
    }
}

/// Parse an integer operand: decimal, optional sign, `_` separators.
pub fn parse_int(text: &str, span: &Range<usize>) -> Result<i64, OperandError> {
    let digits: String = text.chars().filter(|&c| c != '_').collect();
    let unsigned = digits.strip_prefix(['-', '+']).unwrap_or(&digits);
    let well_formed = !unsigned.is_empty()
        && unsigned.bytes().all(|b| b.is_ascii_digit())
        && !text.starts_with('_')
        && !text.ends_with('_');
    if !well_formed {
        return Err(
            OperandError::new(span.clone(), format!("invalid integer `{text}`"))
                .with_help("integers are decimal with an optional sign, e.g. `-42` or `1_000_000`"),
        );
    }
    digits.parse::<i64>().map_err(|_| {
        OperandError::new(span.clone(), format!("integer `{text}` is out of range"))
            .with_help("integers must lie between -9223372036854775808 and 9223372036854775807")
    })
}

impl Operand for i64 {
    const SHAPE: Shape = Shape::Int;
    fn parse(c: &mut OperandCursor<'_>) -> Result<Self, OperandError> {
        let (tok, span) = c.expect("an integer")?;
        let text = bare(tok, &span, "an integer")?;
        parse_int(&text, &span)
    }
    fn text(&self, _: &dyn NameView) -> String {
        self.to_string()
    }
}

impl Operand for f64 {
    const SHAPE: Shape = Shape::Float;
    fn parse(c: &mut OperandCursor<'_>) -> Result<Self, OperandError> {
        let (tok, span) = c.expect("a number")?;
        let text = bare(tok, &span, "a number")?;
        let cleaned: String = text.chars().filter(|&c| c != '_').collect();
        cleaned.parse::<f64>().map_err(|_| {
            OperandError::new(span.clone(), format!("invalid float `{text}`"))
                .with_help("write floats like `3.14`, `-2`, `1e10`, `inf` or `nan`")
        })
    }
    fn text(&self, _: &dyn NameView) -> String {
        if self.is_finite() {
            format!("{self:?}")
        } else {
            self.to_string()
        }
    }
}

impl Operand for bool {
    const SHAPE: Shape = Shape::Bool;
    fn parse(c: &mut OperandCursor<'_>) -> Result<Self, OperandError> {
        let (tok, span) = c.expect("`true` or `false`")?;
        match bare(tok, &span, "`true` or `false`")?.as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            other => Err(
                OperandError::new(span, format!("invalid boolean `{other}`"))
                    .with_help("write `true` or `false`"),
            ),
        }
    }
    fn text(&self, _: &dyn NameView) -> String {
        self.to_string()
    }
}

/// The string of PUSH_STR.
#[derive(Clone, Debug)]
pub struct Text(pub Arc<ttvm_runtime::Str>);

impl Operand for Text {
    const SHAPE: Shape = Shape::Text;
    fn parse(c: &mut OperandCursor<'_>) -> Result<Self, OperandError> {
        if c.at_end() {
            c.expect("a string")?;
        }
        let save = c.pos;
        if c.line[save..].starts_with('"') {
            if let Some((Token::Quoted(s), _)) = c.next_token()? {
                return Ok(Text(Arc::new(s.into())));
            }
        }
        let (text, _) = c.rest_of_line();
        Ok(Text(Arc::new(text.into())))
    }
    fn text(&self, _: &dyn NameView) -> String {
        super::escape::quote(&self.0)
    }
}

fn parse_name(c: &mut OperandCursor<'_>, what: &str) -> Result<(Atom, Range<usize>), OperandError> {
    let (tok, span) = c.expect(what)?;
    let text = match tok {
        Token::Bare(s) | Token::Quoted(s) => s,
    };
    if text.is_empty() {
        return Err(OperandError::new(span, "a name cannot be empty"));
    }
    Ok((Atom::new(&text), span))
}

fn name_text(a: &Atom) -> String {
    let s = a.as_str();
    if s.is_empty() || s.contains([' ', '\t', '"', ';']) || s.chars().any(char::is_control) {
        super::escape::quote(s)
    } else {
        s.to_string()
    }
}

/// A variable: its name, and its slot in the frame (set by the resolver).
#[derive(Clone, Debug)]
pub struct Var {
    pub name: Atom,
    pub slot: u32,
}

impl Operand for Var {
    const SHAPE: Shape = Shape::Var;
    fn parse(c: &mut OperandCursor<'_>) -> Result<Self, OperandError> {
        let (name, _) = parse_name(c, "a variable name")?;
        Ok(Var { name, slot: 0 })
    }
    fn text(&self, _: &dyn NameView) -> String {
        name_text(&self.name)
    }
    fn as_var_mut(&mut self) -> Option<&mut Var> {
        Some(self)
    }
}

/// A field or process name.
#[derive(Clone, Debug)]
pub struct Name(pub Atom);

impl Operand for Name {
    const SHAPE: Shape = Shape::Name;
    fn parse(c: &mut OperandCursor<'_>) -> Result<Self, OperandError> {
        Ok(Name(parse_name(c, "a name")?.0))
    }
    fn text(&self, _: &dyn NameView) -> String {
        name_text(&self.0)
    }
}

fn parse_target(c: &mut OperandCursor<'_>) -> Result<(), OperandError> {
    let (tok, span) = c.expect("a label or instruction index")?;
    let text = bare(tok, &span, "a label or instruction index")?;
    c.target = Some(TargetRef { span, text });
    Ok(())
}

fn target_text(t: u32, names: &dyn NameView) -> String {
    match names.label_at(t) {
        Some(l) => l.to_string(),
        None => t.to_string(),
    }
}

/// A jump target: an instruction index (resolved by the assembler).
#[derive(Clone, Copy, Debug)]
pub struct Target(pub u32);

impl Operand for Target {
    const SHAPE: Shape = Shape::Target;
    fn parse(c: &mut OperandCursor<'_>) -> Result<Self, OperandError> {
        parse_target(c)?;
        Ok(Target(u32::MAX))
    }
    fn text(&self, names: &dyn NameView) -> String {
        target_text(self.0, names)
    }
    fn as_target(&self) -> Option<&Target> {
        Some(self)
    }
    fn as_target_mut(&mut self) -> Option<&mut Target> {
        Some(self)
    }
}

/// A call target with parameter names (CALL, MAKE_FUNCTION, MAKE_LAMBDA).
#[derive(Clone, Debug)]
pub struct Callee {
    pub target: u32,
    pub params: Box<[Atom]>,
    /// Each parameter's slot in the callee's frame (set by the resolver).
    pub param_slots: Box<[u32]>,
    /// The function value this names (set by the resolver).
    pub proto: Option<Arc<FuncProto>>,
}

impl Operand for Callee {
    const SHAPE: Shape = Shape::Callee;
    fn parse(c: &mut OperandCursor<'_>) -> Result<Self, OperandError> {
        parse_target(c)?;
        let mut params = Vec::new();
        while let Some((tok, span)) = c.next_token()? {
            let name = match tok {
                Token::Bare(s) | Token::Quoted(s) => s,
            };
            if name.is_empty() {
                return Err(OperandError::new(span, "a parameter name cannot be empty"));
            }
            params.push(Atom::new(&name));
        }
        Ok(Callee {
            target: u32::MAX,
            params: params.into(),
            param_slots: Box::new([]),
            proto: None,
        })
    }
    fn text(&self, names: &dyn NameView) -> String {
        let mut s = target_text(self.target, names);
        for p in self.params.iter() {
            s.push(' ');
            s.push_str(&name_text(p));
        }
        s
    }
    fn as_callee(&self) -> Option<&Callee> {
        Some(self)
    }
    fn as_callee_mut(&mut self) -> Option<&mut Callee> {
        Some(self)
    }
}

/// An element count (MAKE_LIST).
#[derive(Clone, Copy, Debug)]
pub struct Count(pub u32);

impl Operand for Count {
    const SHAPE: Shape = Shape::Count;
    fn parse(c: &mut OperandCursor<'_>) -> Result<Self, OperandError> {
        let (tok, span) = c.expect("a count")?;
        let text = bare(tok, &span, "a count")?;
        let n = parse_int(&text, &span)?;
        u32::try_from(n).map(Count).map_err(|_| {
            OperandError::new(span, format!("count `{text}` is out of range"))
                .with_help("a count lies between 0 and 4294967295")
        })
    }
    fn text(&self, _: &dyn NameView) -> String {
        self.0.to_string()
    }
}

/// An optional PID: literal when given, else popped.
#[derive(Clone, Copy, Debug)]
pub struct OptInt(pub Option<i64>);

impl Operand for OptInt {
    const SHAPE: Shape = Shape::OptInt;
    fn parse(c: &mut OperandCursor<'_>) -> Result<Self, OperandError> {
        match c.next_token()? {
            None => Ok(OptInt(None)),
            Some((tok, span)) => {
                let text = bare(tok, &span, "an integer")?;
                Ok(OptInt(Some(parse_int(&text, &span)?)))
            }
        }
    }
    fn text(&self, _: &dyn NameView) -> String {
        self.0.map(|v| v.to_string()).unwrap_or_default()
    }
}

/// An optional name: literal when given, else popped.
#[derive(Clone, Debug)]
pub struct OptName(pub Option<Atom>);

impl Operand for OptName {
    const SHAPE: Shape = Shape::OptName;
    fn parse(c: &mut OperandCursor<'_>) -> Result<Self, OperandError> {
        if c.at_end() {
            return Ok(OptName(None));
        }
        Ok(OptName(Some(parse_name(c, "a name")?.0)))
    }
    fn text(&self, _: &dyn NameView) -> String {
        self.0.as_ref().map(name_text).unwrap_or_default()
    }
}

/// An optional field name (GET_FIELD, SET_FIELD, HAS_FIELD, DELETE_FIELD):
/// literal when given, else a Str popped from the top of the stack.
#[derive(Clone, Debug)]
pub struct OptField(pub Option<Atom>);

impl Operand for OptField {
    const SHAPE: Shape = Shape::OptField;
    fn parse(c: &mut OperandCursor<'_>) -> Result<Self, OperandError> {
        if c.at_end() {
            return Ok(OptField(None));
        }
        Ok(OptField(Some(parse_name(c, "a field name")?.0)))
    }
    fn text(&self, _: &dyn NameView) -> String {
        self.0.as_ref().map(name_text).unwrap_or_default()
    }
}

/// An IMPORT: the path as written, the loaded module, and where each of the
/// module's exports lands in the importer's frame (set by the loader).
#[derive(Clone, Debug)]
pub struct ModPath {
    pub path: String,
    pub module: u32,
    /// Shared by the IMPORTs of one module in one frame layout.
    pub binds: Arc<[(Atom, u32)]>,
}

impl Operand for ModPath {
    const SHAPE: Shape = Shape::ModPath;
    fn parse(c: &mut OperandCursor<'_>) -> Result<Self, OperandError> {
        let (tok, span) = c.expect("a module path")?;
        let path = match tok {
            Token::Bare(s) | Token::Quoted(s) => s,
        };
        if path.is_empty() {
            return Err(OperandError::new(span, "a module path cannot be empty"));
        }
        c.import = Some((path.clone(), span));
        Ok(ModPath {
            path,
            module: u32::MAX,
            binds: Arc::new([]),
        })
    }
    fn text(&self, _: &dyn NameView) -> String {
        super::escape::quote(&self.path)
    }
}

/// The TRY (instruction index) that owns an END_TRY, fixed at assembly time
/// (SPEC §3.8); `None` when no TRY owns it. Written with no operand.
#[derive(Clone, Copy, Debug, Default)]
pub struct Owner(pub Option<u32>);

impl Operand for Owner {
    const SHAPE: Shape = Shape::Owner;
    fn parse(_: &mut OperandCursor<'_>) -> Result<Self, OperandError> {
        Ok(Owner(None))
    }
    fn text(&self, _: &dyn NameView) -> String {
        String::new()
    }
}

/// An optional monitor reference: literal when given, else popped.
#[derive(Clone, Copy, Debug)]
pub struct OptRef(pub Option<i64>);

impl Operand for OptRef {
    const SHAPE: Shape = Shape::OptRef;
    fn parse(c: &mut OperandCursor<'_>) -> Result<Self, OperandError> {
        OptInt::parse(c).map(|OptInt(v)| OptRef(v))
    }
    fn text(&self, names: &dyn NameView) -> String {
        OptInt(self.0).text(names)
    }
}

impl StackOperand for OptField {
    fn on_stack(&self) -> u32 {
        self.0.is_none() as u32
    }
}
