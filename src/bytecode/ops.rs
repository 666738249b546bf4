//! The op table: one list drives the instruction enum, the assembler's
//! mnemonics and operand parsing, the disassembler, the stack effects (and
//! the stack-depth analysis built on them, `depth.rs`), what each tier
//! derives about an instruction (its operator family, how the JIT compiles
//! it, whether a process can wait in it) and the language reference
//! (`docs/LANGUAGE.md`).
//!
//! Each row, every column required (a row that leaves one out does not
//! compile):
//!
//! ```text
//! MNEMONIC Variant(OperandShape) [pops, pushes] control family jit cost "summary";
//! ```
//!
//! - `pops`: a number; `(operand)` or `(k + operand)` when the operand
//!   says how many values are on the stack (a CALL's parameters, MAKE_LIST's
//!   count, an optional literal that is otherwise popped:
//!   [`StackOperand`]); `dyn` when it is known only at run time (the arity
//!   of the Function called or spawned). `OpInfo::pops` is `-1` for the last
//!   two kinds; [`Instr::stack_effect`] resolves the operand.
//! - `control` ([`Flow`]): `next` (falls through), `ends` (ends its
//!   basic block, SPEC §4.6, and falls through), `waits` (ends its block; a
//!   process can wait in it and resumes at the instruction itself),
//!   `leaves` (ends its block, never falls through: JMP, RET), `stops`
//!   (never falls through, does not end a block: HALT, THROW, EXIT).
//! - `family` ([`Family`]): what the tiers know of its kind — `konst(|x|
//!   value)` pushes a constant made from its operand ([`Instr::constant`]),
//!   `arith(op)`/`arith_f(op)` and `cmp(c)`/`cmp_f(c)` are the binary
//!   operators ([`Instr::arith`], [`Instr::cmp`]), `jump` and
//!   `branch(jump_if)` the jumps ([`Instr::target`]), `grow(concat)` adds
//!   its second operand to its first (in place on a variable, see the
//!   fused update), `call`, `ret`, `shuffle` (DUP POP SWAP OVER), `var`
//!   (LOAD STORE) and `other`.
//! - `jit` ([`JitClass`]): `inline` (the JIT has its own lowering, in
//!   `jit/lower.rs`), `helper` (it calls the generic helper, which runs the
//!   complete semantics, `exec::semantics`), `helper_writes` (the same,
//!   and the helper may write the frame's variables), `helper_ends` (the
//!   same, and control
//!   never falls through: the block ends), `library` (a library operation,
//!   one call of the library helper) and `library_inline` (a library
//!   operation the JIT lowers itself, `jit/lower/math.rs`) and
//!   `inline_heap` (inline for lists, a helper of its own otherwise,
//!   `jit/lower/data.rs`).
//! - `cost`: `vm`, `rt` (a process operation: what it costs is the
//!   runtime's, which the JIT weighs before compiling a unit) or `io` (a
//!   blocking operation: it runs on one of the node's I/O threads while
//!   its process waits in it, so its control is `waits`; a process
//!   operation too).

use super::kinds::*;
use super::operand::*;
use ttvm_runtime::Value;

macro_rules! for_each_op {
    ($m:ident) => {
        $m! {
            // §3.1 Stack and constants
            "Stack and constants";
            PUSH_INT PushInt(i64) [0, 1] next konst(|n| Value::Int(*n)) inline vm "`-- n`: push an integer";
            PUSH_FLOAT PushFloat(f64) [0, 1] next konst(|f| Value::Float(*f)) inline vm "`-- f`: push a float";
            PUSH_STR PushStr(Text) [0, 1] next konst(|s| Value::Str(s.0.clone())) helper vm "`-- s`: push a string (quoted with escapes, or the unquoted rest of the line)";
            PUSH_BOOL PushBool(bool) [0, 1] next konst(|b| Value::Bool(*b)) inline vm "`-- b`: push `true` or `false`";
            TRUE True(Nil) [0, 1] next konst(|_| Value::Bool(true)) inline vm "`-- true`";
            FALSE False(Nil) [0, 1] next konst(|_| Value::Bool(false)) inline vm "`-- false`";
            NULL Null(Nil) [0, 1] next konst(|_| Value::Null) inline vm "`-- null`";
            DUP Dup(Nil) [1, 2] next shuffle inline vm "`a -- a a`";
            POP Pop(Nil) [1, 0] next shuffle inline vm "`a --`";
            SWAP Swap(Nil) [2, 2] next shuffle inline vm "`a b -- b a`";
            OVER Over(Nil) [2, 3] next shuffle inline vm "`a b -- a b a`";
            // §3.2 Arithmetic
            "Arithmetic";
            ADD Add(Nil) [2, 1] next arith(Add) inline vm "`a b -- a+b`: Int (wrapping) or Float when either is a Float";
            SUB Sub(Nil) [2, 1] next arith(Sub) inline vm "`a b -- a-b`";
            MUL Mul(Nil) [2, 1] next arith(Mul) inline vm "`a b -- a*b`";
            DIV Div(Nil) [2, 1] next arith(Div) inline vm "`a b -- a/b`: Ints truncate toward zero; by zero raises `division by zero`";
            MOD Mod(Nil) [2, 1] next arith(Mod) inline vm "`a b -- a%b`: remainder with the sign of `a`; fmod for floats";
            ADD_F AddF(Nil) [2, 1] next arith_f(Add) inline vm "`a b -- a+b` as a Float";
            SUB_F SubF(Nil) [2, 1] next arith_f(Sub) inline vm "`a b -- a-b` as a Float";
            MUL_F MulF(Nil) [2, 1] next arith_f(Mul) inline vm "`a b -- a*b` as a Float";
            DIV_F DivF(Nil) [2, 1] next arith_f(Div) inline vm "`a b -- a/b` as a Float";
            NEG Neg(Nil) [1, 1] next other inline vm "`a -- -a` (`i64::MIN` wraps to itself)";
            CONCAT Concat(Nil) [2, 1] next grow(true) helper vm "`a b -- s`: the PRINT texts of `a` and `b` joined";
            // §3.3 Comparison and logic
            "Comparison and logic";
            EQ Eq(Nil) [2, 1] next cmp(Eq) inline vm "`a b -- 1|0`: structural equality";
            NE Ne(Nil) [2, 1] next cmp(Ne) inline vm "`a b -- 1|0`: structural inequality";
            GT Gt(Nil) [2, 1] next cmp(Gt) inline vm "`a b -- 1|0`: numbers or two strings";
            LT Lt(Nil) [2, 1] next cmp(Lt) inline vm "`a b -- 1|0`";
            GE Ge(Nil) [2, 1] next cmp(Ge) inline vm "`a b -- 1|0`";
            LE Le(Nil) [2, 1] next cmp(Le) inline vm "`a b -- 1|0`";
            EQ_F EqF(Nil) [2, 1] next cmp_f(Eq) inline vm "`a b -- 1|0`: numeric, equal within 2.220446049250313e-16";
            NE_F NeF(Nil) [2, 1] next cmp_f(Ne) inline vm "`a b -- 1|0`: numeric, not within the epsilon";
            GT_F GtF(Nil) [2, 1] next cmp_f(Gt) inline vm "`a b -- 1|0`: numeric only";
            LT_F LtF(Nil) [2, 1] next cmp_f(Lt) inline vm "`a b -- 1|0`: numeric only";
            GE_F GeF(Nil) [2, 1] next cmp_f(Ge) inline vm "`a b -- 1|0`: numeric only";
            LE_F LeF(Nil) [2, 1] next cmp_f(Le) inline vm "`a b -- 1|0`: numeric only";
            NOT Not(Nil) [1, 1] next other inline vm "`a -- Bool`: by truthiness";
            AND And(Nil) [2, 1] next other inline vm "`a b -- Bool`";
            OR Or(Nil) [2, 1] next other inline vm "`a b -- Bool`";
            // §3.4 Variables
            "Variables";
            STORE Store(Var) [1, 0] next var inline vm "`v --`: set a variable of the current frame";
            LOAD Load(Var) [0, 1] next var inline vm "`-- v`: read a variable (unknown raises `undefined variable: x`)";
            DELETE Delete(Var) [0, 0] next other helper_writes vm "`--`: forget a variable (unknown is a no-op)";
            DUMP_SCOPE DumpScope(Nil) [0, 0] next other helper vm "`--`: print the frame's variables to stderr";
            // §3.5 Control flow
            "Control flow";
            JMP Jmp(Target) [0, 0] leaves jump inline vm "jump to a label or instruction index";
            JZ Jz(Target) [1, 0] ends branch(false) inline vm "`v --`: jump when `v` is false";
            JNZ Jnz(Target) [1, 0] ends branch(true) inline vm "`v --`: jump when `v` is true";
            HALT Halt(Nil) [0, 0] stops other helper_ends vm "end the current process normally (in a module's top level: end the module's run)";
            // §3.6 Functions and closures
            "Functions and closures";
            CALL Call(Callee) [(operand), 0] ends call inline vm "`a1 … an --`: call `target` binding the parameters (top of stack to the last)";
            RET Ret(Nil) [0, 0] leaves ret inline vm "return to the caller";
            MAKE_FUNCTION MakeFunction(Callee) [0, 1] next other helper vm "`-- f`: a Function value";
            CAPTURE Capture(Var) [0, 0] next other helper vm "`--`: remember a variable for the next MAKE_LAMBDA in this frame";
            MAKE_LAMBDA MakeLambda(Callee) [0, 1] next other helper vm "`-- c`: a Closure of the remembered captures";
            CALL_FUNCTION CallFunction(Nil) [dyn, 0] ends call inline vm "`a1 … an f --`: call a Function or Closure";
            // §3.7 Lists, objects, strings
            "Lists, objects, strings";
            MAKE_LIST MakeList(Count) [(operand), 1] next other helper vm "`v1 … vn -- list`";
            LEN Len(Nil) [1, 1] next other inline_heap vm "`x -- n`: list elements, object fields or string characters";
            INDEX Index(Nil) [2, 1] next other inline_heap vm "`x i -- v`: list element or 1-character string";
            APPEND Append(Nil) [2, 1] next grow(false) helper_releases vm "`list v -- list'`";
            SET_INDEX SetIndex(Nil) [3, 1] next other helper_releases vm "`list i v -- list'`";
            MAKE_OBJECT MakeObject(Nil) [0, 1] next other helper vm "`-- {}`";
            SET_FIELD SetField(OptField) [(2 + operand), 1] next other helper_releases vm "`obj v [key] -- obj'`: set a field (an existing one keeps its position); without an operand the key, a Str, is popped from the top";
            GET_FIELD GetField(OptField) [(1 + operand), 1] next other inline_heap vm "`obj [key] -- v` (null when missing; `message`/`value` of an Exception)";
            HAS_FIELD HasField(OptField) [(1 + operand), 1] next other inline_heap vm "`obj [key] -- 1|0`";
            DELETE_FIELD DeleteField(OptField) [(1 + operand), 1] next other helper_releases vm "`obj [key] -- obj'`";
            KEYS Keys(Nil) [1, 1] next other helper vm "`obj -- list` of field names in insertion order";
            TO_STR ToStr(Nil) [1, 1] next other helper vm "`v -- s`: its PRINT text";
            TO_INT ToInt(Nil) [1, 1] next other helper vm "`v -- n`: from Int, Float (truncated) or a decimal Str";
            TO_FLOAT ToFloat(Nil) [1, 1] next other helper vm "`v -- f`: from Int, Float or a decimal Str";
            // Issue 14: strings (src/library/strings.rs); positions count characters
            "Strings";
            SUBSTR Substr(Nil) [3, 1] next other library vm "`s start len -- s'`: `len` characters from character `start` (clamped at the end)";
            FIND Find(Nil) [2, 1] next other library vm "`s needle -- i|-1`: character position of the first occurrence";
            SPLIT Split(Nil) [2, 1] next other library vm "`s sep -- list`: the parts between separators (empty `sep`: the characters)";
            JOIN Join(Nil) [2, 1] next other library vm "`list sep -- s`: the elements' PRINT texts with `sep` between";
            REPLACE Replace(Nil) [3, 1] next other library vm "`s from to -- s'`: every occurrence of `from` replaced";
            TRIM Trim(Nil) [1, 1] next other library vm "`s -- s'`: leading and trailing whitespace removed";
            UPPER Upper(Nil) [1, 1] next other library vm "`s -- s'`: upper case (Unicode)";
            LOWER Lower(Nil) [1, 1] next other library vm "`s -- s'`: lower case (Unicode)";
            STARTS_WITH StartsWith(Nil) [2, 1] next other library vm "`s prefix -- Bool`";
            ENDS_WITH EndsWith(Nil) [2, 1] next other library vm "`s suffix -- Bool`";
            CHR Chr(Nil) [1, 1] next other library vm "`n -- s`: the character of code point `n`";
            ORD Ord(Nil) [1, 1] next other library vm "`s -- n`: the code point of a 1-character string";
            REPEAT Repeat(Nil) [2, 1] next other library vm "`s n -- s'`: `s` repeated `n` times";
            // Issue 14: numbers (src/library/math.rs)
            "Numbers";
            SQRT Sqrt(Nil) [1, 1] next other library_inline vm "`x -- f`: square root (NaN below 0)";
            POW Pow(Nil) [2, 1] next other library vm "`x y -- r`: `x` to the power `y` (Int when both are Ints and `y >= 0`)";
            EXP Exp(Nil) [1, 1] next other library vm "`x -- f`: e to the power `x`";
            LOG Log(Nil) [1, 1] next other library vm "`x -- f`: natural logarithm";
            SIN Sin(Nil) [1, 1] next other library vm "`x -- f`: sine (radians)";
            COS Cos(Nil) [1, 1] next other library vm "`x -- f`: cosine (radians)";
            ATAN2 Atan2(Nil) [2, 1] next other library vm "`y x -- f`: the angle of the point (x, y), in radians";
            FLOOR Floor(Nil) [1, 1] next other library_inline vm "`x -- n`: largest Int not above `x`";
            CEIL Ceil(Nil) [1, 1] next other library_inline vm "`x -- n`: smallest Int not below `x`";
            ROUND Round(Nil) [1, 1] next other library_inline vm "`x -- n`: nearest Int, halves away from zero";
            ABS Abs(Nil) [1, 1] next other library_inline vm "`x -- |x|` (Int stays Int; `i64::MIN` raises)";
            MIN Min(Nil) [2, 1] next other library_inline vm "`a b -- a|b`: the smaller (numbers, or two strings)";
            MAX Max(Nil) [2, 1] next other library_inline vm "`a b -- a|b`: the larger (numbers, or two strings)";
            FORMAT Format(Nil) [2, 1] next other library vm "`x decimals -- s`: `x` with exactly `decimals` digits after the point";
            // Issue 14: lists (src/library/lists.rs)
            "Lists";
            SLICE Slice(Nil) [3, 1] next other library vm "`list start end -- list'`: elements `start` to `end` (exclusive, clamped)";
            REVERSE Reverse(Nil) [1, 1] next other library vm "`list -- list'`: the elements in reverse order";
            SORT Sort(Nil) [1, 1] next other library vm "`list -- list'`: stable sort of numbers, or of strings";
            CONTAINS Contains(Nil) [2, 1] next other library vm "`list v -- Bool`: whether an element equals `v` (EQ)";
            INDEX_OF IndexOf(Nil) [2, 1] next other library vm "`list v -- i|-1`: position of the first element equal to `v`";
            RANGE Range(Nil) [2, 1] next other library vm "`start end -- list`: the Ints from `start` to `end` (exclusive)";
            EXTEND Extend(Nil) [2, 1] next other library vm "`a b -- a++b`: the elements of two lists";
            // §3.8 Exceptions
            "Exceptions";
            TRY Try(Target) [0, 0] next other helper vm "install a handler whose catch label is `target`";
            THROW Throw(Nil) [1, 0] stops other helper_ends vm "`v --`: raise `v`";
            CATCH Catch(Nil) [0, 0] next other helper vm "marker, no effect";
            END_TRY EndTry(Owner) [0, 0] next other helper vm "remove the handler of the TRY that owns this END_TRY";
            // §3.9 Modules
            "Modules";
            IMPORT Import(ModPath) [0, 0] next other helper_writes vm "load and run a module once; its exports become variables here";
            EXPORT Export(Var) [0, 0] next other helper vm "publish a variable of the module";
            // §3.10 Host I/O
            "Host I/O";
            PRINT Print(Nil) [1, 0] next other helper vm "`v --`: PRINT text and a newline to stdout";
            PRINT_ERR PrintErr(Nil) [1, 0] next other helper vm "`v --`: PRINT text and a newline to stderr (reports, logs)";
            READ_LINE ReadLine(Nil) [0, 1] waits other helper io "`-- s|null`: a line of stdin, null at end of input";
            READ_FILE ReadFile(Nil) [1, 1] waits other helper io "`path -- s`";
            WRITE_FILE WriteFile(Nil) [2, 0] waits other helper io "`content path --`";
            APPEND_FILE AppendFile(Nil) [2, 0] waits other helper io "`content path --`";
            FILE_EXISTS FileExists(Nil) [1, 1] waits other helper io "`path -- Bool`";
            DELETE_FILE DeleteFile(Nil) [1, 0] waits other helper io "`path --`";
            GET_ENV GetEnv(Nil) [1, 1] next other helper vm "`name -- s|null`";
            GET_ARGS GetArgs(Nil) [0, 1] next other helper vm "`-- list` of the arguments after `--`";
            GET_TIME GetTime(Nil) [0, 1] next other helper vm "`-- n`: Unix seconds";
            NOW_MS NowMs(Nil) [0, 1] next other helper vm "`-- n`: monotonic milliseconds";
            SLEEP Sleep(Nil) [1, 0] waits other helper rt "`ms --`: suspend this process";
            EXIT Exit(Nil) [1, 0] stops other helper_ends vm "`code --`: end the whole VM with that status";
            // Issue 14: data formats (src/library/{json,csv,hash,time}.rs)
            "JSON, CSV, hashing, time";
            JSON_PARSE JsonParse(Nil) [1, 1] next other library vm "`s -- v`: the value of JSON text (objects keep key order; integers that fit are Ints)";
            JSON_STRINGIFY JsonStringify(Nil) [1, 1] next other library vm "`v -- s`: compact JSON text (Functions, Closures, Exceptions, NaN and inf raise)";
            CSV_PARSE CsvParse(Nil) [1, 1] next other library vm "`s -- rows`: a List of rows, each a List of Str fields";
            CSV_WRITE CsvWrite(Nil) [1, 1] next other library vm "`rows -- s`: CSV text of a List of rows (each row ends with a newline)";
            HASH Hash(Nil) [1, 1] next other library vm "`s|bytes -- hex`: SHA-256 of a Str's UTF-8 or of a byte List, 64 hex digits";
            FORMAT_TIME FormatTime(Nil) [2, 1] next other library vm "`ts pattern -- s`: Unix seconds as UTC text by a strftime pattern (`%Y-%m-%d %H:%M:%S`)";
            // Issue 14: TinyTotVM's host operations (src/library/host.rs)
            "Host operations from TinyTotVM";
            SET_ENV SetEnv(Nil) [2, 0] next other library vm "`name value --`: set an environment variable";
            FILE_SIZE FileSize(Nil) [1, 1] waits other helper io "`path -- n`: size in bytes";
            LIST_DIR ListDir(Nil) [1, 1] waits other helper io "`path -- list`: the folder's entry names, sorted";
            READ_BYTES ReadBytes(Nil) [1, 1] waits other helper io "`path -- bytes`: the file as a List of Ints 0..=255";
            WRITE_BYTES WriteBytes(Nil) [2, 0] waits other helper io "`bytes path --`: write a List of Ints 0..=255 to a file";
            EXEC Exec(Nil) [2, 1] waits other helper io "`prog args -- status`: run a program (no shell) on ttvm's stdin/stdout/stderr";
            EXEC_CAPTURE ExecCapture(Nil) [2, 1] waits other helper io "`prog args -- {stdout, stderr, exit_code}`: run a program, capturing its output";
            READ_CHAR ReadChar(Nil) [0, 1] waits other helper io "`-- s|null`: one character of stdin, null at end of input";
            READ_INPUT ReadInput(Nil) [0, 1] waits other helper io "`-- s`: the rest of stdin";
            // Issue 16: the network's client side (src/library/{dns,http}.rs, docs/NETWORK.md)
            "Name resolution and HTTP";
            DNS_RESOLVE DnsResolve(Nil) [1, 1] waits other helper io "`name -- addrs`: the host's addresses, a List of Str (`127.0.0.1`, `::1`)";
            HTTP_GET HttpGet(Nil) [1, 1] waits other helper io "`url -- body`: GET an http:// URL; the body of a 2xx response (other statuses raise)";
            HTTP_POST HttpPost(Nil) [2, 1] waits other helper io "`url body -- body`: POST a Str (or byte List); the body of a 2xx response";
            HTTP_REQUEST HttpRequest(Nil) [1, 1] waits other helper io "`{url, method, headers, body, timeout_ms, …} -- {status, reason, headers, body, url}`";
            // Issue 16: sockets (docs/NETWORK.md; src/exec/semantics/net.rs, runtime/src/net/)
            "Network";
            TCP_LISTEN TcpListen(Nil) [1, 1] next other helper rt "`port -- sock`: listen on 127.0.0.1 (port 0: an ephemeral port, see SOCKET_ADDR)";
            TCP_LISTEN_OPTS TcpListenOpts(Nil) [3, 1] next other helper rt "`host port opts -- sock`: listen with options (`backlog`; `active`, `packet`, `binary`, `max_packet` for accepted sockets)";
            TCP_ACCEPT TcpAccept(Nil) [1, 1] waits other helper rt "`lsock -- sock`: the next connection, owned by this process; wait if none";
            TCP_ACCEPT_AFTER TcpAcceptAfter(Nil) [2, 2] waits other helper rt "`lsock ms -- sock true | null false`";
            TCP_CONNECT TcpConnect(Nil) [2, 1] waits other helper rt "`host port -- sock`: connect (passive, raw, text)";
            TCP_CONNECT_OPTS TcpConnectOpts(Nil) [3, 1] waits other helper rt "`host port opts -- sock`: connect with options (`timeout` ms, `active`, `packet`, `binary`, `max_packet`)";
            TCP_SEND TcpSend(Nil) [2, 0] waits other helper rt "`sock data --`: send a Str or bytes; waits while 64 KiB are unsent";
            TCP_RECV TcpRecv(Nil) [2, 1] waits other helper rt "`sock max -- data|null`: a packet (raw: up to `max` bytes, 0 any), null at the end; wait if none";
            TCP_RECV_AFTER TcpRecvAfter(Nil) [3, 2] waits other helper rt "`sock max ms -- data true | null false`";
            TCP_SHUTDOWN TcpShutdown(Nil) [2, 0] next other helper rt "`sock how --`: end the `read`, `write` or `both` sides";
            UDP_BIND UdpBind(Nil) [1, 1] next other helper rt "`port -- sock`: a UDP socket on 127.0.0.1 (port 0: ephemeral)";
            UDP_OPEN UdpOpen(Nil) [3, 1] next other helper rt "`host port opts -- sock`: a UDP socket with options (`active`, `binary`)";
            UDP_SEND UdpSend(Nil) [4, 0] next other helper rt "`sock host port data --`: send one datagram";
            UDP_RECV UdpRecv(Nil) [1, 1] waits other helper rt "`sock -- [host, port, data]`: the next datagram; wait if none";
            UDP_RECV_AFTER UdpRecvAfter(Nil) [2, 2] waits other helper rt "`sock ms -- [host, port, data] true | null false`";
            SOCKET_CLOSE SocketClose(Nil) [1, 0] next other helper rt "`sock --`: close (unsent bytes are still sent)";
            SOCKET_SETOPTS SocketSetopts(Nil) [2, 0] next other helper rt "`sock opts --`: change `active`, `packet`, `binary`, `max_packet`";
            SOCKET_OWNER SocketOwner(Nil) [2, 0] next other helper rt "`sock pid --`: give the socket (and its messages) to another process";
            SOCKET_ADDR SocketLocal(Nil) [1, 1] next other helper rt "`sock -- [host, port]`: its local address";
            SOCKET_PEER SocketPeer(Nil) [1, 1] next other helper rt "`sock -- [host, port]`: the peer's address";
            // §4 Processes
            "Processes";
            SPAWN Spawn(Nil) [dyn, 1] ends other helper rt "`[args…] v -- pid`: start a process (v: a Function, Closure or Str, or `[node, module, function, args]`)";
            SPAWN_LINK SpawnLink(Nil) [dyn, 1] ends other helper rt "`[args…] v -- pid`: spawn and link atomically";
            SELF SelfPid(Nil) [0, 1] next other helper vm "`-- pid`";
            SEND Send(OptInt) [(1 + operand), 0] ends other helper rt "`msg [pid] --`: send a message (the target: a PID, also of another node, or `[name, node]`)";
            SENDNAMED SendNamed(OptName) [(1 + operand), 0] ends other helper rt "`msg [name] --`: send to a registered name";
            RECEIVE Receive(Nil) [0, 1] waits other helper rt "`-- msg`: the oldest message; wait if none";
            RECEIVE_MATCH ReceiveMatch(Nil) [1, 1] waits other helper rt "`pattern -- msg`: the oldest matching message";
            RECEIVE_AFTER ReceiveAfter(Nil) [1, 2] waits other helper rt "`ms -- msg true | null false`";
            RECEIVE_MATCH_AFTER ReceiveMatchAfter(Nil) [2, 2] waits other helper rt "`pattern ms -- msg true | null false`";
            YIELD Yield(Nil) [0, 0] ends other helper rt "end the time slice now";
            REGISTER Register(OptName) [(operand), 0] next other helper vm "`[name] --`: name the current process";
            UNREGISTER Unregister(OptName) [(operand), 0] next other helper vm "`[name] --`: remove a name";
            WHEREIS Whereis(OptName) [(operand), 1] next other helper vm "`[name] -- pid|0`";
            LINK Link(OptInt) [(operand), 0] next other helper rt "`[pid] --`: bidirectional link";
            UNLINK Unlink(OptInt) [(operand), 0] next other helper vm "`[pid] --`: remove a link";
            MONITOR Monitor(OptInt) [(operand), 1] next other helper rt "`[pid] -- ref`: one-way monitor";
            DEMONITOR Demonitor(OptRef) [(operand), 0] next other helper vm "`[ref] --`: remove a monitor and its queued DOWN";
            TRAP_EXIT TrapExit(Nil) [1, 0] next other helper vm "`bool --`: receive exit signals as messages";
            EXIT_PROCESS ExitProcess(Nil) [2, 0] next other helper rt "`pid reason --`: send an exit signal";
            // Issue 17: nodes of an Erlang cluster (docs/DISTRIBUTION.md)
            "Distribution";
            NODE NodeOf(Nil) [1, 1] next other helper vm "`pid -- node`: the node a PID is on (a Str; `nonode@nohost` when not distributed)";
            NODES Nodes(Nil) [0, 1] next other helper vm "`-- [node, …]`: the nodes connected now, sorted";
        }
    };
}

macro_rules! define_ops {
    ($( $($section:literal;)? $mn:ident $var:ident($shape:ty) [$pops:tt, $pushes:literal]
        $control:ident $fam:ident $(($($farg:tt)*))? $jit:ident $cost:ident $doc:literal; )*) => {
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

        /// Every opcode, in the order of the table.
        pub static OPS: &[OpInfo] = &{
            #[allow(unused_mut, unused_assignments)]
            let mut section = "";
            [$({
                $( section = $section; )?
                let control = define_ops!(@control $control);
                OpInfo {
                    opcode: Opcode::$var,
                    mnemonic: stringify!($mn),
                    shape: <$shape as Operand>::SHAPE,
                    pops: define_ops!(@pops_info $pops),
                    pushes: $pushes,
                    ends_block: control.ends_block(),
                    no_fallthrough: control.no_fallthrough(),
                    control,
                    family: define_ops!(@family $fam $(($($farg)*))?),
                    jit: define_ops!(@jit $jit),
                    library: matches!(
                        define_ops!(@jit $jit),
                        JitClass::Library | JitClass::LibraryInline
                    ),
                    process: define_ops!(@cost $cost),
                    blocking: define_ops!(@blocking $cost),
                    section,
                    summary: $doc,
                }
            },)*]
        };

        impl Opcode {
            /// The mnemonic (a `const fn`: error paths use it freely).
            pub const fn mnemonic(self) -> &'static str {
                match self {
                    $( Opcode::$var => stringify!($mn), )*
                }
            }
        }

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

            /// The values it pops and pushes, when known before running
            /// (`None`: the arity of the Function it calls or spawns).
            pub fn stack_effect(&self) -> Option<(u32, u32)> {
                match self {
                    $( #[allow(unused_variables)]
                       Instr::$var(x) => define_ops!(@pops x $pops).map(|p| (p, $pushes)), )*
                }
            }

            /// The label operand (program address) of an instruction that
            /// has one: jumps, branches, TRY's catch label.
            pub fn label(&self) -> Option<u32> {
                match self {
                    $( Instr::$var(x) => x.as_target().map(|t| t.0), )*
                }
            }

            /// The same, to rewrite it (the linker).
            pub fn label_mut(&mut self) -> Option<&mut u32> {
                match self {
                    $( Instr::$var(x) => x.as_target_mut().map(|t| &mut t.0), )*
                }
            }

            /// The callee operand (CALL, MAKE_FUNCTION, MAKE_LAMBDA).
            pub fn callee(&self) -> Option<&Callee> {
                match self {
                    $( Instr::$var(x) => x.as_callee(), )*
                }
            }

            /// The same, to rewrite it.
            pub fn callee_mut(&mut self) -> Option<&mut Callee> {
                match self {
                    $( Instr::$var(x) => x.as_callee_mut(), )*
                }
            }

            /// The variable operand (LOAD, STORE, DELETE, CAPTURE,
            /// EXPORT), to resolve its slot.
            pub fn var_mut(&mut self) -> Option<&mut Var> {
                match self {
                    $( Instr::$var(x) => x.as_var_mut(), )*
                }
            }

            /// The value a constant push (`konst` family) pushes.
            pub fn constant(&self) -> Option<Value> {
                match self {
                    $( #[allow(unused_variables)]
                       Instr::$var(x) => define_ops!(@const x $shape, $fam $(($($farg)*))?), )*
                }
            }
        }
    };
    (@control next) => { Flow::Next };
    (@control ends) => { Flow::Ends };
    (@control waits) => { Flow::Waits };
    (@control leaves) => { Flow::Leaves };
    (@control stops) => { Flow::Stops };
    (@jit inline) => { JitClass::Inline };
    (@jit helper) => { JitClass::Helper };
    (@jit helper_writes) => { JitClass::HelperWrites };
    (@jit helper_ends) => { JitClass::HelperEnds };
    (@jit library) => { JitClass::Library };
    (@jit library_inline) => { JitClass::LibraryInline };
    (@jit inline_heap) => { JitClass::InlineHeap };
    (@jit helper_releases) => { JitClass::HelperReleases };
    (@cost vm) => { false };
    (@cost rt) => { true };
    (@cost io) => { true };
    (@blocking io) => { true };
    (@blocking $other:ident) => { false };
    (@family konst($($f:tt)*)) => { Family::Const };
    (@family arith($op:ident)) => { Family::Arith(Arith::$op) };
    (@family arith_f($op:ident)) => { Family::ArithF(Arith::$op) };
    (@family cmp($c:ident)) => { Family::Cmp(Cmp::$c) };
    (@family cmp_f($c:ident)) => { Family::CmpF(Cmp::$c) };
    (@family jump) => { Family::Jump };
    (@family branch($b:literal)) => { Family::Branch { jump_if: $b } };
    (@family grow($b:literal)) => { Family::Grow { concat: $b } };
    (@family call) => { Family::Call };
    (@family ret) => { Family::Ret };
    (@family shuffle) => { Family::Shuffle };
    (@family var) => { Family::Var };
    (@family other) => { Family::Other };
    (@const $x:ident $shape:ty, konst($($f:tt)*)) => {{
        let make: fn(&$shape) -> Value = $($f)*;
        Some(make($x))
    }};
    (@const $x:ident $shape:ty, $($rest:tt)*) => { None };
    (@pops_info $n:literal) => { $n };
    (@pops_info $other:tt) => { -1 };
    (@pops $x:ident $n:literal) => { Some($n) };
    (@pops $x:ident (operand)) => { Some(StackOperand::on_stack($x)) };
    (@pops $x:ident ($n:literal + operand)) => { Some($n + StackOperand::on_stack($x)) };
    (@pops $x:ident dyn) => { None };
}

for_each_op!(define_ops);

impl Opcode {
    pub fn info(self) -> &'static OpInfo {
        &OPS[self as usize]
    }

    /// A process can wait in it (and resumes at the instruction).
    pub fn waits(self) -> bool {
        self.info().control == Flow::Waits
    }

    /// A process operation: what it costs is the runtime's.
    pub fn process(self) -> bool {
        self.info().process
    }

    pub fn ends_block(self) -> bool {
        self.info().ends_block
    }

    pub fn no_fallthrough(self) -> bool {
        self.info().no_fallthrough
    }

    pub fn family(self) -> Family {
        self.info().family
    }

    pub fn jit(self) -> JitClass {
        self.info().jit
    }

    /// Look a mnemonic up (exact, upper case).
    pub fn from_mnemonic(text: &str) -> Option<Opcode> {
        OPS.iter().find(|o| o.mnemonic == text).map(|o| o.opcode)
    }
}

impl Instr {
    /// An arithmetic operator: which, and whether it is the `_F` form.
    pub fn arith(&self) -> Option<(Arith, bool)> {
        match self.opcode().family() {
            Family::Arith(a) => Some((a, false)),
            Family::ArithF(a) => Some((a, true)),
            _ => None,
        }
    }

    /// A comparison: which, and whether it is the `_F` form.
    pub fn cmp(&self) -> Option<(Cmp, bool)> {
        match self.opcode().family() {
            Family::Cmp(c) => Some((c, false)),
            Family::CmpF(c) => Some((c, true)),
            _ => None,
        }
    }

    /// The target of a jump or conditional branch (`jump`/`branch`).
    pub fn target(&self) -> Option<u32> {
        match self.opcode().family() {
            Family::Jump | Family::Branch { .. } => self.label(),
            _ => None,
        }
    }

    /// A conditional branch: taken when the popped value's truth is the
    /// first; its target.
    pub fn branch(&self) -> Option<(bool, u32)> {
        match self.opcode().family() {
            Family::Branch { jump_if } => Some((jump_if, self.label()?)),
            _ => None,
        }
    }

    /// `grow` family (APPEND, CONCAT): whether it is CONCAT.
    pub fn grow(&self) -> Option<bool> {
        match self.opcode().family() {
            Family::Grow { concat } => Some(concat),
            _ => None,
        }
    }

    /// A CALL or CALL_FUNCTION.
    pub fn is_call(&self) -> bool {
        self.opcode().family() == Family::Call
    }

    pub fn is_ret(&self) -> bool {
        self.opcode().family() == Family::Ret
    }
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

    /// An operand text of each shape that assembles (IMPORT's needs a
    /// file: none).
    fn sample_operand(shape: Shape) -> Option<&'static str> {
        Some(match shape {
            Shape::None | Shape::Owner | Shape::OptInt | Shape::OptRef | Shape::OptName => "",
            Shape::OptField => "k",
            Shape::Int | Shape::Count => "1",
            Shape::Float => "1.5",
            Shape::Text => "s",
            Shape::Bool => "true",
            Shape::Var | Shape::Name => "x",
            Shape::Target | Shape::Callee => "L",
            Shape::ModPath => return None,
        })
    }

    /// For every opcode of the table: a basic block starts right after it
    /// exactly when its `control` column says it ends one (SPEC §4.6), a
    /// process can wait only in a block ender, and an instruction that
    /// never falls through either ends its block or is a helper that ends
    /// the JIT's block.
    #[test]
    fn block_starts_follow_the_table() {
        let mut checked = 0;
        for op in OPS {
            assert!(!op.opcode.waits() || op.ends_block, "{}", op.mnemonic);
            if op.jit == JitClass::HelperEnds {
                assert!(op.no_fallthrough, "{}", op.mnemonic);
            }
            let Some(operand) = sample_operand(op.shape) else {
                continue;
            };
            let src = format!("LABEL L\n{} {operand}\nPUSH_INT 0\nHALT\n", op.mnemonic);
            let p = crate::load_source("t.ttvm", &src).unwrap_or_else(|e| panic!("{}", e.render()));
            assert_eq!(p.block_start[1], op.ends_block, "{}", op.mnemonic);
            checked += 1;
        }
        assert!(checked + 1 >= OPS.len());
    }

    /// The accessors agree with the family column.
    #[test]
    fn accessors_follow_the_family() {
        for op in OPS {
            let family = op.family;
            let arith = matches!(family, Family::Arith(_) | Family::ArithF(_));
            let cmp = matches!(family, Family::Cmp(_) | Family::CmpF(_));
            if let Some(operand) = sample_operand(op.shape) {
                let src = format!("LABEL L\n{} {operand}\nHALT\n", op.mnemonic);
                let p =
                    crate::load_source("t.ttvm", &src).unwrap_or_else(|e| panic!("{}", e.render()));
                let i = &p.code[0];
                assert_eq!(i.arith().is_some(), arith, "{}", op.mnemonic);
                assert_eq!(i.cmp().is_some(), cmp, "{}", op.mnemonic);
                assert_eq!(
                    i.constant().is_some(),
                    family == Family::Const,
                    "{}",
                    op.mnemonic
                );
                let jumps = matches!(family, Family::Jump | Family::Branch { .. });
                assert_eq!(i.target().is_some(), jumps, "{}", op.mnemonic);
                if let Some((pops, pushes)) = i.stack_effect() {
                    assert!(op.pops < 0 || op.pops as u32 == pops, "{}", op.mnemonic);
                    assert_eq!(pushes as i8, op.pushes, "{}", op.mnemonic);
                }
            }
        }
        assert_eq!(Arith::Mod.mnemonic(true), "MOD");
        assert_eq!(Arith::Div.mnemonic(true), "DIV_F");
        assert_eq!(Cmp::Le.mnemonic(false), "LE");
    }
}
