//! The op table: one list drives the instruction enum, the assembler's
//! mnemonics and operand parsing, the disassembler, the verifier's stack
//! effects and the language reference (`docs/LANGUAGE.md`).
//!
//! Each row: `MNEMONIC Variant(OperandShape) [pops, pushes] flags "summary"`.
//! `pops`/`pushes` of `-1` mean "depends on the operand" (see `Instr::stack_effect`).
//! Flags: `ends_block` — a basic block starts right after this instruction
//! (SPEC §4.6); `no_fallthrough` — control never reaches the next instruction;
//! `lib` — a library operation: its semantics is a pure function of its
//! operands in `src/library/`, reached from both tiers through
//! `library::call` (it pops exactly `pops` values and pushes `pushes`).

use super::operand::*;

macro_rules! for_each_op {
    ($m:ident) => {
        $m! {
            // §3.1 Stack and constants
            "Stack and constants";
            PUSH_INT PushInt(i64) [0, 1] [] "`-- n`: push an integer";
            PUSH_FLOAT PushFloat(f64) [0, 1] [] "`-- f`: push a float";
            PUSH_STR PushStr(Text) [0, 1] [] "`-- s`: push a string (quoted with escapes, or the unquoted rest of the line)";
            PUSH_BOOL PushBool(bool) [0, 1] [] "`-- b`: push `true` or `false`";
            TRUE True(Nil) [0, 1] [] "`-- true`";
            FALSE False(Nil) [0, 1] [] "`-- false`";
            NULL Null(Nil) [0, 1] [] "`-- null`";
            DUP Dup(Nil) [1, 2] [] "`a -- a a`";
            POP Pop(Nil) [1, 0] [] "`a --`";
            SWAP Swap(Nil) [2, 2] [] "`a b -- b a`";
            OVER Over(Nil) [2, 3] [] "`a b -- a b a`";
            // §3.2 Arithmetic
            "Arithmetic";
            ADD Add(Nil) [2, 1] [] "`a b -- a+b`: Int (wrapping) or Float when either is a Float";
            SUB Sub(Nil) [2, 1] [] "`a b -- a-b`";
            MUL Mul(Nil) [2, 1] [] "`a b -- a*b`";
            DIV Div(Nil) [2, 1] [] "`a b -- a/b`: Ints truncate toward zero; by zero raises `division by zero`";
            MOD Mod(Nil) [2, 1] [] "`a b -- a%b`: remainder with the sign of `a`; fmod for floats";
            ADD_F AddF(Nil) [2, 1] [] "`a b -- a+b` as a Float";
            SUB_F SubF(Nil) [2, 1] [] "`a b -- a-b` as a Float";
            MUL_F MulF(Nil) [2, 1] [] "`a b -- a*b` as a Float";
            DIV_F DivF(Nil) [2, 1] [] "`a b -- a/b` as a Float";
            NEG Neg(Nil) [1, 1] [] "`a -- -a` (`i64::MIN` wraps to itself)";
            CONCAT Concat(Nil) [2, 1] [] "`a b -- s`: the PRINT texts of `a` and `b` joined";
            // §3.3 Comparison and logic
            "Comparison and logic";
            EQ Eq(Nil) [2, 1] [] "`a b -- 1|0`: structural equality";
            NE Ne(Nil) [2, 1] [] "`a b -- 1|0`: structural inequality";
            GT Gt(Nil) [2, 1] [] "`a b -- 1|0`: numbers or two strings";
            LT Lt(Nil) [2, 1] [] "`a b -- 1|0`";
            GE Ge(Nil) [2, 1] [] "`a b -- 1|0`";
            LE Le(Nil) [2, 1] [] "`a b -- 1|0`";
            EQ_F EqF(Nil) [2, 1] [] "`a b -- 1|0`: numeric, equal within 2.220446049250313e-16";
            NE_F NeF(Nil) [2, 1] [] "`a b -- 1|0`: numeric, not within the epsilon";
            GT_F GtF(Nil) [2, 1] [] "`a b -- 1|0`: numeric only";
            LT_F LtF(Nil) [2, 1] [] "`a b -- 1|0`: numeric only";
            GE_F GeF(Nil) [2, 1] [] "`a b -- 1|0`: numeric only";
            LE_F LeF(Nil) [2, 1] [] "`a b -- 1|0`: numeric only";
            NOT Not(Nil) [1, 1] [] "`a -- Bool`: by truthiness";
            AND And(Nil) [2, 1] [] "`a b -- Bool`";
            OR Or(Nil) [2, 1] [] "`a b -- Bool`";
            // §3.4 Variables
            "Variables";
            STORE Store(Var) [1, 0] [] "`v --`: set a variable of the current frame";
            LOAD Load(Var) [0, 1] [] "`-- v`: read a variable (unknown raises `undefined variable: x`)";
            DELETE Delete(Var) [0, 0] [] "`--`: forget a variable (unknown is a no-op)";
            DUMP_SCOPE DumpScope(Nil) [0, 0] [] "`--`: print the frame's variables to stderr";
            // §3.5 Control flow
            "Control flow";
            JMP Jmp(Target) [0, 0] [ends_block no_fallthrough] "jump to a label or instruction index";
            JZ Jz(Target) [1, 0] [ends_block] "`v --`: jump when `v` is false";
            JNZ Jnz(Target) [1, 0] [ends_block] "`v --`: jump when `v` is true";
            HALT Halt(Nil) [0, 0] [no_fallthrough] "end the current process normally (in a module's top level: end the module's run)";
            // §3.6 Functions and closures
            "Functions and closures";
            CALL Call(Callee) [-1, 0] [ends_block] "`a1 … an --`: call `target` binding the parameters (top of stack to the last)";
            RET Ret(Nil) [0, 0] [ends_block no_fallthrough] "return to the caller";
            MAKE_FUNCTION MakeFunction(Callee) [0, 1] [] "`-- f`: a Function value";
            CAPTURE Capture(Var) [0, 0] [] "`--`: remember a variable for the next MAKE_LAMBDA in this frame";
            MAKE_LAMBDA MakeLambda(Callee) [0, 1] [] "`-- c`: a Closure of the remembered captures";
            CALL_FUNCTION CallFunction(Nil) [-1, 0] [ends_block] "`a1 … an f --`: call a Function or Closure";
            // §3.7 Lists, objects, strings
            "Lists, objects, strings";
            MAKE_LIST MakeList(Count) [-1, 1] [] "`v1 … vn -- list`";
            LEN Len(Nil) [1, 1] [] "`x -- n`: list elements, object fields or string characters";
            INDEX Index(Nil) [2, 1] [] "`x i -- v`: list element or 1-character string";
            APPEND Append(Nil) [2, 1] [] "`list v -- list'`";
            SET_INDEX SetIndex(Nil) [3, 1] [] "`list i v -- list'`";
            MAKE_OBJECT MakeObject(Nil) [0, 1] [] "`-- {}`";
            SET_FIELD SetField(OptField) [-1, 1] [] "`obj v [key] -- obj'`: set a field (an existing one keeps its position); without an operand the key, a Str, is popped from the top";
            GET_FIELD GetField(OptField) [-1, 1] [] "`obj [key] -- v` (null when missing; `message`/`value` of an Exception)";
            HAS_FIELD HasField(OptField) [-1, 1] [] "`obj [key] -- 1|0`";
            DELETE_FIELD DeleteField(OptField) [-1, 1] [] "`obj [key] -- obj'`";
            KEYS Keys(Nil) [1, 1] [] "`obj -- list` of field names in insertion order";
            TO_STR ToStr(Nil) [1, 1] [] "`v -- s`: its PRINT text";
            TO_INT ToInt(Nil) [1, 1] [] "`v -- n`: from Int, Float (truncated) or a decimal Str";
            TO_FLOAT ToFloat(Nil) [1, 1] [] "`v -- f`: from Int, Float or a decimal Str";
            // Issue 14: strings (src/library/strings.rs); positions count characters
            "Strings";
            SUBSTR Substr(Nil) [3, 1] [lib] "`s start len -- s'`: `len` characters from character `start` (clamped at the end)";
            FIND Find(Nil) [2, 1] [lib] "`s needle -- i|-1`: character position of the first occurrence";
            SPLIT Split(Nil) [2, 1] [lib] "`s sep -- list`: the parts between separators (empty `sep`: the characters)";
            JOIN Join(Nil) [2, 1] [lib] "`list sep -- s`: the elements' PRINT texts with `sep` between";
            REPLACE Replace(Nil) [3, 1] [lib] "`s from to -- s'`: every occurrence of `from` replaced";
            TRIM Trim(Nil) [1, 1] [lib] "`s -- s'`: leading and trailing whitespace removed";
            UPPER Upper(Nil) [1, 1] [lib] "`s -- s'`: upper case (Unicode)";
            LOWER Lower(Nil) [1, 1] [lib] "`s -- s'`: lower case (Unicode)";
            STARTS_WITH StartsWith(Nil) [2, 1] [lib] "`s prefix -- Bool`";
            ENDS_WITH EndsWith(Nil) [2, 1] [lib] "`s suffix -- Bool`";
            CHR Chr(Nil) [1, 1] [lib] "`n -- s`: the character of code point `n`";
            ORD Ord(Nil) [1, 1] [lib] "`s -- n`: the code point of a 1-character string";
            REPEAT Repeat(Nil) [2, 1] [lib] "`s n -- s'`: `s` repeated `n` times";
            // Issue 14: numbers (src/library/math.rs)
            "Numbers";
            SQRT Sqrt(Nil) [1, 1] [lib] "`x -- f`: square root (NaN below 0)";
            POW Pow(Nil) [2, 1] [lib] "`x y -- r`: `x` to the power `y` (Int when both are Ints and `y >= 0`)";
            EXP Exp(Nil) [1, 1] [lib] "`x -- f`: e to the power `x`";
            LOG Log(Nil) [1, 1] [lib] "`x -- f`: natural logarithm";
            SIN Sin(Nil) [1, 1] [lib] "`x -- f`: sine (radians)";
            COS Cos(Nil) [1, 1] [lib] "`x -- f`: cosine (radians)";
            ATAN2 Atan2(Nil) [2, 1] [lib] "`y x -- f`: the angle of the point (x, y), in radians";
            FLOOR Floor(Nil) [1, 1] [lib] "`x -- n`: largest Int not above `x`";
            CEIL Ceil(Nil) [1, 1] [lib] "`x -- n`: smallest Int not below `x`";
            ROUND Round(Nil) [1, 1] [lib] "`x -- n`: nearest Int, halves away from zero";
            ABS Abs(Nil) [1, 1] [lib] "`x -- |x|` (Int stays Int; `i64::MIN` raises)";
            MIN Min(Nil) [2, 1] [lib] "`a b -- a|b`: the smaller (numbers, or two strings)";
            MAX Max(Nil) [2, 1] [lib] "`a b -- a|b`: the larger (numbers, or two strings)";
            FORMAT Format(Nil) [2, 1] [lib] "`x decimals -- s`: `x` with exactly `decimals` digits after the point";
            // Issue 14: lists (src/library/lists.rs)
            "Lists";
            SLICE Slice(Nil) [3, 1] [lib] "`list start end -- list'`: elements `start` to `end` (exclusive, clamped)";
            REVERSE Reverse(Nil) [1, 1] [lib] "`list -- list'`: the elements in reverse order";
            SORT Sort(Nil) [1, 1] [lib] "`list -- list'`: stable sort of numbers, or of strings";
            CONTAINS Contains(Nil) [2, 1] [lib] "`list v -- Bool`: whether an element equals `v` (EQ)";
            INDEX_OF IndexOf(Nil) [2, 1] [lib] "`list v -- i|-1`: position of the first element equal to `v`";
            RANGE Range(Nil) [2, 1] [lib] "`start end -- list`: the Ints from `start` to `end` (exclusive)";
            EXTEND Extend(Nil) [2, 1] [lib] "`a b -- a++b`: the elements of two lists";
            // §3.8 Exceptions
            "Exceptions";
            TRY Try(Target) [0, 0] [] "install a handler whose catch label is `target`";
            THROW Throw(Nil) [1, 0] [no_fallthrough] "`v --`: raise `v`";
            CATCH Catch(Nil) [0, 0] [] "marker, no effect";
            END_TRY EndTry(Owner) [0, 0] [] "remove the handler of the TRY that owns this END_TRY";
            // §3.9 Modules
            "Modules";
            IMPORT Import(ModPath) [0, 0] [] "load and run a module once; its exports become variables here";
            EXPORT Export(Var) [0, 0] [] "publish a variable of the module";
            // §3.10 Host I/O
            "Host I/O";
            PRINT Print(Nil) [1, 0] [] "`v --`: PRINT text and a newline to stdout";
            PRINT_ERR PrintErr(Nil) [1, 0] [] "`v --`: PRINT text and a newline to stderr (reports, logs)";
            READ_LINE ReadLine(Nil) [0, 1] [] "`-- s|null`: a line of stdin, null at end of input";
            READ_FILE ReadFile(Nil) [1, 1] [] "`path -- s`";
            WRITE_FILE WriteFile(Nil) [2, 0] [] "`content path --`";
            APPEND_FILE AppendFile(Nil) [2, 0] [] "`content path --`";
            FILE_EXISTS FileExists(Nil) [1, 1] [] "`path -- Bool`";
            DELETE_FILE DeleteFile(Nil) [1, 0] [] "`path --`";
            GET_ENV GetEnv(Nil) [1, 1] [] "`name -- s|null`";
            GET_ARGS GetArgs(Nil) [0, 1] [] "`-- list` of the arguments after `--`";
            GET_TIME GetTime(Nil) [0, 1] [] "`-- n`: Unix seconds";
            NOW_MS NowMs(Nil) [0, 1] [] "`-- n`: monotonic milliseconds";
            SLEEP Sleep(Nil) [1, 0] [ends_block] "`ms --`: suspend this process";
            EXIT Exit(Nil) [1, 0] [no_fallthrough] "`code --`: end the whole VM with that status";
            // Issue 14: data formats (src/library/{json,csv,hash,time}.rs)
            "JSON, CSV, hashing, time";
            JSON_PARSE JsonParse(Nil) [1, 1] [lib] "`s -- v`: the value of JSON text (objects keep key order; integers that fit are Ints)";
            JSON_STRINGIFY JsonStringify(Nil) [1, 1] [lib] "`v -- s`: compact JSON text (Functions, Closures, Exceptions, NaN and inf raise)";
            CSV_PARSE CsvParse(Nil) [1, 1] [lib] "`s -- rows`: a List of rows, each a List of Str fields";
            CSV_WRITE CsvWrite(Nil) [1, 1] [lib] "`rows -- s`: CSV text of a List of rows (each row ends with a newline)";
            HASH Hash(Nil) [1, 1] [lib] "`s|bytes -- hex`: SHA-256 of a Str's UTF-8 or of a byte List, 64 hex digits";
            FORMAT_TIME FormatTime(Nil) [2, 1] [lib] "`ts pattern -- s`: Unix seconds as UTC text by a strftime pattern (`%Y-%m-%d %H:%M:%S`)";
            // Issue 14: TinyTotVM's host operations (src/library/host.rs)
            "Host operations from TinyTotVM";
            SET_ENV SetEnv(Nil) [2, 0] [lib] "`name value --`: set an environment variable";
            FILE_SIZE FileSize(Nil) [1, 1] [lib] "`path -- n`: size in bytes";
            LIST_DIR ListDir(Nil) [1, 1] [lib] "`path -- list`: the folder's entry names, sorted";
            READ_BYTES ReadBytes(Nil) [1, 1] [lib] "`path -- bytes`: the file as a List of Ints 0..=255";
            WRITE_BYTES WriteBytes(Nil) [2, 0] [lib] "`bytes path --`: write a List of Ints 0..=255 to a file";
            EXEC Exec(Nil) [2, 1] [lib] "`prog args -- status`: run a program (no shell) on ttvm's stdin/stdout/stderr";
            EXEC_CAPTURE ExecCapture(Nil) [2, 1] [lib] "`prog args -- {stdout, stderr, exit_code}`: run a program, capturing its output";
            READ_CHAR ReadChar(Nil) [0, 1] [lib] "`-- s|null`: one character of stdin, null at end of input";
            READ_INPUT ReadInput(Nil) [0, 1] [lib] "`-- s`: the rest of stdin";
            // §4 Processes
            "Processes";
            SPAWN Spawn(Nil) [-1, 1] [ends_block] "`[args…] v -- pid`: start a process";
            SPAWN_LINK SpawnLink(Nil) [-1, 1] [ends_block] "`[args…] v -- pid`: spawn and link atomically";
            SELF SelfPid(Nil) [0, 1] [] "`-- pid`";
            SEND Send(OptInt) [-1, 0] [ends_block] "`msg [pid] --`: send a message";
            SENDNAMED SendNamed(OptName) [-1, 0] [ends_block] "`msg [name] --`: send to a registered name";
            RECEIVE Receive(Nil) [0, 1] [ends_block] "`-- msg`: the oldest message; wait if none";
            RECEIVE_MATCH ReceiveMatch(Nil) [1, 1] [ends_block] "`pattern -- msg`: the oldest matching message";
            RECEIVE_AFTER ReceiveAfter(Nil) [1, 2] [ends_block] "`ms -- msg true | null false`";
            RECEIVE_MATCH_AFTER ReceiveMatchAfter(Nil) [2, 2] [ends_block] "`pattern ms -- msg true | null false`";
            YIELD Yield(Nil) [0, 0] [ends_block] "end the time slice now";
            REGISTER Register(OptName) [-1, 0] [] "`[name] --`: name the current process";
            UNREGISTER Unregister(OptName) [-1, 0] [] "`[name] --`: remove a name";
            WHEREIS Whereis(OptName) [-1, 1] [] "`[name] -- pid|0`";
            LINK Link(OptInt) [-1, 0] [] "`[pid] --`: bidirectional link";
            UNLINK Unlink(OptInt) [-1, 0] [] "`[pid] --`: remove a link";
            MONITOR Monitor(OptInt) [-1, 1] [] "`[pid] -- ref`: one-way monitor";
            DEMONITOR Demonitor(OptRef) [-1, 0] [] "`[ref] --`: remove a monitor and its queued DOWN";
            TRAP_EXIT TrapExit(Nil) [1, 0] [] "`bool --`: receive exit signals as messages";
            EXIT_PROCESS ExitProcess(Nil) [2, 0] [] "`pid reason --`: send an exit signal";
        }
    };
}

macro_rules! define_ops {
    ($( $($section:literal;)? $mn:ident $var:ident($shape:ty) [$pops:literal, $pushes:literal] [$($flag:ident)*] $doc:literal; )*) => {
        /// One instruction, its operands resolved.
        #[derive(Clone, Debug)]
        pub enum Instr {
            $( $var($shape), )*
        }

        /// An instruction's kind, without operands.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[allow(clippy::upper_case_acronyms)]
        pub enum Opcode {
            $( $var, )*
        }

        /// Static facts about an opcode.
        #[derive(Debug)]
        pub struct OpInfo {
            pub opcode: Opcode,
            pub mnemonic: &'static str,
            pub shape: Shape,
            pub pops: i8,
            pub pushes: i8,
            pub ends_block: bool,
            pub no_fallthrough: bool,
            /// A library operation (`src/library/`).
            pub library: bool,
            pub section: &'static str,
            pub summary: &'static str,
        }

        /// Every opcode, in the order of the table.
        pub static OPS: &[OpInfo] = &{
            #[allow(unused_mut, unused_assignments)]
            let mut section = "";
            [$({
                $( section = $section; )?
                #[allow(unused_mut, unused_assignments)]
                let mut ends_block = false;
                #[allow(unused_mut, unused_assignments)]
                let mut no_fallthrough = false;
                #[allow(unused_mut, unused_assignments)]
                let mut library = false;
                $( define_ops!(@flag $flag ends_block no_fallthrough library); )*
                OpInfo {
                    opcode: Opcode::$var,
                    mnemonic: stringify!($mn),
                    shape: <$shape as Operand>::SHAPE,
                    pops: $pops,
                    pushes: $pushes,
                    ends_block,
                    no_fallthrough,
                    library,
                    section,
                    summary: $doc,
                }
            },)*]
        };

        impl Instr {
            pub fn opcode(&self) -> Opcode {
                match self {
                    $( Instr::$var(_) => Opcode::$var, )*
                }
            }

            /// Parse the operands of `opcode` and build the instruction.
            pub(crate) fn parse(opcode: Opcode, cursor: &mut OperandCursor<'_>) -> Result<Instr, OperandError> {
                Ok(match opcode {
                    $( Opcode::$var => Instr::$var(<$shape as Operand>::parse(cursor)?), )*
                })
            }

            /// The operands as the disassembler shows them ("" when none).
            pub fn operand_text(&self, names: &dyn NameView) -> String {
                match self {
                    $( Instr::$var(x) => x.text(names), )*
                }
            }
        }
    };
    (@flag ends_block $e:ident $n:ident $l:ident) => { $e = true; };
    (@flag no_fallthrough $e:ident $n:ident $l:ident) => { $n = true; };
    (@flag lib $e:ident $n:ident $l:ident) => { $l = true; };
}

for_each_op!(define_ops);

impl Opcode {
    pub fn info(self) -> &'static OpInfo {
        &OPS[self as usize]
    }

    pub fn mnemonic(self) -> &'static str {
        self.info().mnemonic
    }

    /// Look a mnemonic up (exact, upper case).
    pub fn from_mnemonic(text: &str) -> Option<Opcode> {
        OPS.iter().find(|o| o.mnemonic == text).map(|o| o.opcode)
    }
}

/// What to use instead of a group of TinyTotVM opcodes ttvm does not have.
mod instead {
    pub const NETWORK: &str = "ttvm has no network operations yet; meanwhile run a client program with EXEC or EXEC_CAPTURE (e.g. `curl`; refused under --sandbox)";
    pub const ASYNC: &str = "TinyTotVM's futures were simulated (the work happened at AWAIT); read and write directly (READ_FILE, WRITE_FILE), or SPAWN a process that does the I/O and SENDs the result back";
    pub const STREAM: &str = "TinyTotVM's streams were placeholders that moved no data; use READ_FILE / WRITE_FILE / APPEND_FILE, or READ_BYTES / WRITE_BYTES for binary data";
    pub const COMPRESS: &str = "TinyTotVM's COMPRESS/DECOMPRESS were placeholders that compressed nothing; run a real tool with EXEC (e.g. `gzip`) on a file";
    pub const CRYPT: &str = "TinyTotVM's ENCRYPT/DECRYPT were placeholders that encrypted nothing; HASH gives a SHA-256 digest, and a real tool (e.g. `openssl`) can be run with EXEC_CAPTURE";
    pub const DB: &str = "ttvm has no database access; run a database client with EXEC_CAPTURE (e.g. `sqlite3 FILE QUERY`) and parse its output (CSV_PARSE, JSON_PARSE)";
    pub const SUPERVISOR: &str = "use `IMPORT std/supervisor` (real supervisors with restart strategies: see docs/PROCESSES.md)";
}

/// Every TinyTotVM opcode that ttvm does not implement, with what to use
/// instead: the assembler reports ``X` is a TinyTotVM opcode that is not
/// part of ttvm` and the pointer, never "unknown opcode" or a "did you
/// mean". An opcode that ttvm implements must not be listed (a test checks
/// both ways against TinyTotVM's full instruction set).
pub static TINYTOTVM_ONLY: &[(&str, &str)] = &[
    ("HTTP_GET", instead::NETWORK),
    ("HTTP_POST", instead::NETWORK),
    ("TCP_CONNECT", instead::NETWORK),
    ("TCP_LISTEN", instead::NETWORK),
    ("TCP_SEND", instead::NETWORK),
    ("TCP_RECV", instead::NETWORK),
    ("UDP_BIND", instead::NETWORK),
    ("UDP_SEND", instead::NETWORK),
    ("UDP_RECV", instead::NETWORK),
    ("DNS_RESOLVE", instead::NETWORK),
    ("ASYNC_READ", instead::ASYNC),
    ("ASYNC_WRITE", instead::ASYNC),
    ("AWAIT", instead::ASYNC),
    ("STREAM_CREATE", instead::STREAM),
    ("STREAM_READ", instead::STREAM),
    ("STREAM_WRITE", instead::STREAM),
    ("STREAM_CLOSE", instead::STREAM),
    ("COMPRESS", instead::COMPRESS),
    ("DECOMPRESS", instead::COMPRESS),
    ("ENCRYPT", instead::CRYPT),
    ("DECRYPT", instead::CRYPT),
    ("DB_CONNECT", instead::DB),
    ("DB_QUERY", instead::DB),
    ("DB_EXEC", instead::DB),
    ("START_SUPERVISOR", instead::SUPERVISOR),
    ("SUPERVISE_CHILD", instead::SUPERVISOR),
    ("RESTART_CHILD", instead::SUPERVISOR),
];

/// What to use instead of TinyTotVM opcode `mnemonic` (exact, upper case),
/// when ttvm does not implement it.
pub fn tinytotvm_only(mnemonic: &str) -> Option<&'static str> {
    TINYTOTVM_ONLY
        .iter()
        .find(|(m, _)| *m == mnemonic)
        .map(|(_, instead)| *instead)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_indexed_by_opcode() {
        for (i, info) in OPS.iter().enumerate() {
            assert_eq!(info.opcode as usize, i, "{}", info.mnemonic);
            assert_eq!(Opcode::from_mnemonic(info.mnemonic), Some(info.opcode));
        }
        assert!(OPS.len() > 100);
    }

    #[test]
    fn block_enders_match_the_spec() {
        let enders: Vec<_> = OPS
            .iter()
            .filter(|o| o.ends_block)
            .map(|o| o.mnemonic)
            .collect();
        for m in [
            "JMP",
            "JZ",
            "JNZ",
            "CALL",
            "CALL_FUNCTION",
            "RET",
            "YIELD",
            "SPAWN",
            "SPAWN_LINK",
            "SEND",
            "SENDNAMED",
            "SLEEP",
            "RECEIVE",
            "RECEIVE_MATCH",
            "RECEIVE_AFTER",
            "RECEIVE_MATCH_AFTER",
        ] {
            assert!(enders.contains(&m), "{m}");
        }
        assert_eq!(enders.len(), 16);
    }

    /// Every mnemonic TinyTotVM's assembler accepts (its `src/bytecode.rs`
    /// at commit 23bae66), to hold `TINYTOTVM_ONLY` to the truth both ways.
    const TINYTOTVM_MNEMONICS: &str = "ADD ADD_F AND APPEND_FILE ASYNC_READ ASYNC_WRITE AWAIT CALL \
        CALL_FUNCTION CAPTURE CATCH COMPRESS CONCAT CSV_PARSE CSV_WRITE DB_CONNECT DB_EXEC DB_QUERY \
        DECOMPRESS DECRYPT DELETE DELETE_FIELD DELETE_FILE DEMONITOR DIV DIV_F DNS_RESOLVE DUMP_SCOPE \
        DUP ENCRYPT END_TRY EQ EQ_F EXEC EXEC_CAPTURE EXIT EXPORT FALSE FILE_EXISTS FILE_SIZE \
        FORMAT_TIME GE GE_F GET_ARGS GET_ENV GET_FIELD GET_TIME GT GT_F HALT HASH HAS_FIELD HTTP_GET \
        HTTP_POST IMPORT INDEX JMP JSON_PARSE JSON_STRINGIFY JZ KEYS LE LEN LE_F LINK LIST_DIR LOAD \
        LT LT_F MAKE_FUNCTION MAKE_LAMBDA MAKE_LIST MAKE_OBJECT MONITOR MUL MUL_F NE NE_F NOT NULL OR \
        PRINT PUSH_BOOL PUSH_FLOAT PUSH_INT PUSH_STR READ_BYTES READ_CHAR READ_FILE READ_INPUT \
        READ_LINE RECEIVE REGISTER RESTART_CHILD RET SEND SENDNAMED SET_ENV SET_FIELD SLEEP SPAWN \
        START_SUPERVISOR STORE STREAM_CLOSE STREAM_CREATE STREAM_READ STREAM_WRITE SUB SUB_F \
        SUPERVISE_CHILD TCP_CONNECT TCP_LISTEN TCP_RECV TCP_SEND THROW TRAP_EXIT TRUE TRY UDP_BIND \
        UDP_RECV UDP_SEND UNLINK UNREGISTER WHEREIS WRITE_BYTES WRITE_FILE YIELD";

    #[test]
    fn every_tinytotvm_opcode_is_implemented_or_rejected_with_a_pointer() {
        let theirs: Vec<&str> = TINYTOTVM_MNEMONICS.split_whitespace().collect();
        assert_eq!(theirs.len(), 127);
        for m in &theirs {
            let ours = Opcode::from_mnemonic(m).is_some();
            let rejected = tinytotvm_only(m).is_some();
            assert!(
                ours != rejected,
                "{m}: implemented {ours}, rejected {rejected}"
            );
        }
        for (m, instead) in TINYTOTVM_ONLY {
            assert!(theirs.contains(m), "{m} is not a TinyTotVM opcode");
            assert!(!instead.is_empty());
        }
    }
}
